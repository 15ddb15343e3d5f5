// Copyright (C) 2026 The hamux authors. MPL-2.0.

#include <learned_subnets.h>

#include <mutex>

namespace isc {
namespace hamux {

const int LearnedSubnets::UNKNOWN;
const size_t LearnedSubnets::LIMIT;

int
LearnedSubnets::find(const void* subnet) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    auto found = known_.find(subnet);
    return (found == known_.end() ? UNKNOWN : static_cast<int>(found->second.relationship));
}

void
LearnedSubnets::learn(const boost::shared_ptr<const void>& subnet, size_t relationship) {
    if (!subnet) {
        return;
    }
    std::unique_lock<std::shared_mutex> lock(mutex_);
    if (known_.size() >= LIMIT && known_.count(subnet.get()) == 0) {
        known_.clear();
    }
    known_[subnet.get()] = Known{subnet, relationship};
}

size_t
LearnedSubnets::size() const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return (known_.size());
}

} // namespace hamux
} // namespace isc
