// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_LEARNED_SUBNETS_H
#define HAMUX_LEARNED_SUBNETS_H

#include <boost/noncopyable.hpp>
#include <boost/shared_ptr.hpp>
#include <cstddef>
#include <shared_mutex>
#include <unordered_map>

namespace isc {
namespace dhcp {

// Only declared: Debian's kea-dev 2.2 ships dhcpsrv/subnet.h without the
// dhcpsrv/cfg_globals.h it includes, so the hook cannot read a subnet. It only holds
// and compares the pointers Kea's callouts pass (the typedefs are subnet.h's own).
class Subnet4;
class Subnet6;
typedef boost::shared_ptr<Subnet4> Subnet4Ptr;
typedef boost::shared_ptr<Subnet6> Subnet6Ptr;

} // namespace dhcp

namespace hamux {

/// @brief Which relationship each of Kea's subnet objects belongs to. libdhcp_ha 2.5.5+
/// reads a query's relationship from the selected subnet's user-context at
/// subnet4_select; the hook cannot read a subnet (see above), so it decides there only
/// for subnets learned so far: a query of another one is decided later by the subnet
/// id of one of its leases, and the subnet object selected for it (kept in the query's
/// callout context) is learned as that relationship's (hamux_impl_scope.cc; a shared
/// network's subnets are all in one relationship, hamux_config.cc).
///
/// Each learned subnet is held (a reference, so its address is not reused by another
/// object while known). A reconfiguration reloads the hook, so the map starts empty
/// with every new configuration; a configuration that keeps making subnet objects
/// without one (a config backend) is bounded by @c LIMIT, beyond which it starts over.
///
/// Thread safe: Kea's packet threads call it at once.
class LearnedSubnets : public boost::noncopyable {
public:
    /// @brief What @c find returns for a subnet not learned yet.
    static const int UNKNOWN = -1;

    /// @brief The most subnets kept before starting over.
    static const size_t LIMIT = 65536;

    /// @brief The relationship index learned for @c subnet, or @c UNKNOWN.
    int find(const void* subnet) const;

    /// @brief Learns that @c subnet belongs to relationship @c relationship.
    void learn(const boost::shared_ptr<const void>& subnet, size_t relationship);

    /// @brief How many subnets are known.
    size_t size() const;

private:
    struct Known {
        boost::shared_ptr<const void> subnet;
        size_t relationship;
    };

    /// @brief Shared for the lookups of every query, exclusive to learn.
    mutable std::shared_mutex mutex_;
    std::unordered_map<const void*, Known> known_;
};

} // namespace hamux
} // namespace isc

#endif // HAMUX_LEARNED_SUBNETS_H
