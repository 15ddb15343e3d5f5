// Copyright (C) 2026 The hamux authors. MPL-2.0.
//
// The commands are those of libdhcp_ha 2.2's CommandCreator (createLease4Update,
// createLease4Delete, createLease6BulkApply): the lease's own toElement(), "expire"
// instead of "cltt", "force-create" on updates, and "service"; plus "origin":
// "ha-partner", which later Kea versions send so the partner does not replicate back.

#include <lease_sender.h>
#include <hamux_json.h>
#include <hamux_log.h>
#include <hamux_stats.h>

#include <cc/command_interpreter.h>

#include <atomic>
#include <sstream>

using namespace isc::data;
using namespace isc::dhcp;
using namespace isc::hooks;

namespace isc {
namespace hamux {

/// @brief A query waiting for its updates' acknowledgements.
struct ParkedQuery {
    ParkingLotHandlePtr lot;
    Pkt4Ptr query4;
    Pkt6Ptr query6;
    std::string label;

    void hold(const Pkt4Ptr& query) { query4 = query; lot->reference(query); }
    void hold(const Pkt6Ptr& query) { query6 = query; lot->reference(query); }

    /// @brief Updates not yet answered; the last one to be answered unparks.
    std::atomic<int> pending{0};
    /// @brief Set by the first failure, which drops the query.
    std::atomic<bool> failed{false};

    void drop() {
        bool expected = false;
        if (failed.compare_exchange_strong(expected, true)) {
            if (query4) {
                lot->drop(query4);
            } else {
                lot->drop(query6);
            }
            stats::bump(stats::PACKETS_DROPPED);
            LOG_DEBUG(hamux_logger, DBGLVL_HAMUX_PACKET, HAMUX_PACKET_DROPPED).arg(label);
        }
    }

    /// @brief Counts one update answered; true when it was the last and none failed:
    /// the query may be released.
    bool answered() {
        return (--pending == 0 && !failed.load());
    }

    void unpark() {
        if (query4) {
            lot->unpark(query4);
        } else {
            lot->unpark(query6);
        }
        stats::bump(stats::PACKETS_UNPARKED);
    }
};

/// @brief One lease command to one peer.
struct Update {
    LeaseSender* sender;
    const PeerConfig* peer;
    std::string command;  ///< e.g. "lease4-update", for logs
    std::string body;
    /// @brief The addresses it touches, each prefixed by the peer's URL: the ordering
    /// keys.
    std::vector<std::string> keys;
    /// @brief Earlier updates of the same addresses still in flight.
    size_t blockers = 0;
    std::shared_ptr<ParkedQuery> parked;  ///< null without wait-backup-ack
    std::string label;                    ///< query label and address, for logs
};

namespace {

/// @brief hamux's response callback: must not throw into Rust.
extern "C" void
updateAnswered(void* user_data, uint64_t, hamux_status status, const uint8_t* body,
               size_t len) {
    Update* update = static_cast<Update*>(user_data);
    try {
        update->sender->onReply(update, status, body, len);
    } catch (const std::exception& ex) {
        LOG_ERROR(hamux_logger, HAMUX_CALLOUT_FAILED).arg("lease update answer")
            .arg(ex.what());
    } catch (...) {
        LOG_ERROR(hamux_logger, HAMUX_CALLOUT_FAILED).arg("lease update answer")
            .arg("unknown exception");
    }
}

/// @brief libdhcp_ha's insertLeaseExpireTime: the partner takes "expire", not "cltt".
ElementPtr
leaseArguments(const ElementPtr& lease) {
    ConstElementPtr cltt = lease->get("cltt");
    ConstElementPtr valid = lease->get("valid-lft");
    if (!cltt || !valid || cltt->getType() != Element::integer ||
        valid->getType() != Element::integer) {
        isc_throw(Unexpected, "invalid lease format: " << lease->str());
    }
    lease->set("expire", Element::create(cltt->intValue() + valid->intValue()));
    lease->remove("cltt");
    return (lease);
}

std::string
commandText(const std::string& name, const ElementPtr& arguments,
            const std::string& service) {
    ElementPtr command = Element::createMap();
    command->set("command", Element::create(name));
    command->set("arguments", arguments);
    ElementPtr services = Element::createList();
    services->add(Element::create(service));
    command->set("service", services);
    return (command->str());
}

/// @brief The failure reason counted for a hamux status.
std::string
reasonOf(hamux_status status) {
    switch (status) {
    case HAMUX_E_TIMEOUT:
        return ("timeout");
    case HAMUX_E_CONNECT:
        return ("connect");
    case HAMUX_E_TLS:
        return ("tls");
    case HAMUX_E_BUSY:
        return ("busy");
    case HAMUX_E_PROTOCOL:
        return ("protocol");
    case HAMUX_E_HTTP:
        return ("http");
    case HAMUX_E_CANCELLED:
    case HAMUX_E_SHUTDOWN:
        return ("cancelled");
    default:
        return ("other");
    }
}

} // namespace

LeaseSender::LeaseSender(const HookConfig& config, bool poll)
    : client_(0), wait_backup_ack_(config.wait_backup_ack) {
    for (auto const peer : config.updateTargets()) {
        targets_.push_back(*peer);
    }
    std::string json = config.clientJson(poll);
    if (hamux_client_new(json.c_str(), &client_) != HAMUX_OK) {
        isc_throw(HamuxConfigError, "hamux client: " << hamux_last_error());
    }
}

LeaseSender::~LeaseSender() {
    // Queries whose updates complete from now on are dropped, not answered: Kea is
    // unloading the hook (inside its critical section, on a reconfiguration), and an
    // unparked response would wait on the stopped packet thread pool holding the old
    // callout handle, so Kea could not load the libraries again.
    dropFromNowOn();
    // Completes every outstanding update (CANCELLED after drain-timeout-ms) on this
    // thread or the IO threads, and joins them: nothing runs hook code afterwards.
    hamux_client_free(client_);
}

int
LeaseSender::fd() const {
    return (hamux_client_fd(client_));
}

void
LeaseSender::dispatch() {
    while (hamux_client_dispatch(client_, 256) == 256) {
    }
}

ConstElementPtr
LeaseSender::stats() const {
    return (takeHamuxJson(hamux_client_stats(client_)));
}

template<typename QueryPtr>
size_t
LeaseSender::start(const QueryPtr& query, const std::vector<Update*>& updates,
                   const ParkingLotHandlePtr& lot) {
    std::shared_ptr<ParkedQuery> parked;
    if (lot && wait_backup_ack_ && !updates.empty()) {
        parked = std::make_shared<ParkedQuery>();
        parked->lot = lot;
        parked->label = query->getLabel();
        // Counted before the first send: an answer may come back before this returns.
        parked->pending = static_cast<int>(updates.size());
        parked->hold(query);
        stats::bump(stats::PACKETS_PARKED);
    }
    for (auto update : updates) {
        update->parked = parked;
        enqueue(update);
    }
    return (parked ? updates.size() : 0);
}

size_t
LeaseSender::send(const Pkt4Ptr& query, const Lease4CollectionPtr& leases,
                   const Lease4CollectionPtr& deleted, const ParkingLotHandlePtr& lot) {
    std::vector<Update*> updates;
    for (auto const& peer : targets_) {
        auto add = [&](const std::string& command, const Lease4Ptr& lease) {
            ElementPtr args = leaseArguments(lease->toElement());
            if (command == "lease4-update") {
                args->set("force-create", Element::create(true));
            }
            args->set("origin", Element::create("ha-partner"));
            Update* update = new Update();
            update->sender = this;
            update->peer = &peer;
            update->command = command;
            update->body = commandText(command, args, "dhcp4");
            update->keys.push_back(peer.url.text + " " + lease->addr_.toText());
            update->label = query->getLabel() + " " + lease->addr_.toText();
            updates.push_back(update);
        };
        // Deletions first, as libdhcp_ha sends them.
        for (auto const& lease : *deleted) {
            add("lease4-del", lease);
        }
        for (auto const& lease : *leases) {
            add("lease4-update", lease);
        }
    }
    return (start(query, updates, lot));
}

size_t
LeaseSender::send(const Pkt6Ptr& query, const Lease6CollectionPtr& leases,
                   const Lease6CollectionPtr& deleted, const ParkingLotHandlePtr& lot) {
    std::vector<Update*> updates;
    for (auto const& peer : targets_) {
        ElementPtr deleted_list = Element::createList();
        ElementPtr lease_list = Element::createList();
        Update* update = new Update();
        update->sender = this;
        update->peer = &peer;
        update->command = "lease6-bulk-apply";
        for (auto const& lease : *deleted) {
            deleted_list->add(leaseArguments(lease->toElement()));
            update->keys.push_back(peer.url.text + " " + lease->addr_.toText());
        }
        for (auto const& lease : *leases) {
            lease_list->add(leaseArguments(lease->toElement()));
            update->keys.push_back(peer.url.text + " " + lease->addr_.toText());
        }
        ElementPtr args = Element::createMap();
        args->set("deleted-leases", deleted_list);
        args->set("leases", lease_list);
        args->set("origin", Element::create("ha-partner"));
        update->body = commandText("lease6-bulk-apply", args, "dhcp6");
        update->label = query->getLabel();
        updates.push_back(update);
    }
    return (start(query, updates, lot));
}

void
LeaseSender::release(const std::shared_ptr<ParkedQuery>& parked) {
    std::lock_guard<std::mutex> lock(park_mutex_);
    if (dropping_) {
        parked->drop();
    } else if (holding_) {
        held_.push_back(parked);
    } else {
        // Under the lock, so that pause() returns only once no unpark is under way.
        parked->unpark();
    }
}

void
LeaseSender::pause() {
    std::lock_guard<std::mutex> lock(park_mutex_);
    holding_ = true;
}

void
LeaseSender::resume() {
    std::lock_guard<std::mutex> lock(park_mutex_);
    holding_ = false;
    for (auto const& parked : held_) {
        if (dropping_) {
            parked->drop();
        } else {
            parked->unpark();
        }
    }
    held_.clear();
}

void
LeaseSender::dropFromNowOn() {
    std::lock_guard<std::mutex> lock(park_mutex_);
    dropping_ = true;
    for (auto const& parked : held_) {
        parked->drop();
    }
    held_.clear();
}

void
LeaseSender::enqueue(Update* update) {
    {
        std::lock_guard<std::mutex> lock(order_mutex_);
        for (auto const& key : update->keys) {
            std::deque<Update*>& queue = order_[key];
            // A lease6-bulk-apply may name one address twice (deleted and renewed).
            if (!queue.empty() && queue.back() == update) {
                continue;
            }
            if (!queue.empty()) {
                ++update->blockers;
            }
            queue.push_back(update);
        }
        if (update->blockers > 0) {
            return;
        }
    }
    transmit(update);
}

bool
LeaseSender::handOver(Update* update, std::string& reason, std::string& detail) {
    stats::bump(stats::UPDATES_SENT);
    hamux_status status =
        hamux_client_send(client_, update->peer->url.text.c_str(),
                          reinterpret_cast<const uint8_t*>(update->body.data()),
                          update->body.size(), updateAnswered, update, 0);
    if (status == HAMUX_OK) {
        return (true);
    }
    // Never a wait: a busy or refused send fails the update like a lost one.
    reason = reasonOf(status);
    detail = std::string(hamux_status_name(status)) + ": " + hamux_last_error();
    return (false);
}

void
LeaseSender::transmit(Update* update) {
    std::string reason, detail;
    if (!handOver(update, reason, detail)) {
        complete(update, false, reason, detail);
    }
}

void
LeaseSender::onReply(Update* update, hamux_status status, const uint8_t* body,
                     size_t len) {
    std::string text(reinterpret_cast<const char*>(body), len);
    if (status != HAMUX_OK) {
        complete(update, false, reasonOf(status),
                 std::string(hamux_status_name(status)) + ": " + text);
        return;
    }
    int64_t result = -1;
    char* result_text = 0;
    if (hamux_reply_result(body, len, &result, &result_text) != HAMUX_OK) {
        complete(update, false, "protocol", "not a Kea answer: " + text);
        return;
    }
    std::string answer_text(result_text ? result_text : "");
    hamux_string_free(result_text);
    // libdhcp_ha accepts success and "empty" (e.g. deleting a lease the partner lacks).
    if (result != isc::config::CONTROL_RESULT_SUCCESS &&
        result != isc::config::CONTROL_RESULT_EMPTY) {
        std::ostringstream detail;
        detail << "result " << result << ": " << answer_text;
        complete(update, false, "rejected", detail.str());
        return;
    }
    if (update->command == "lease6-bulk-apply" &&
        text.find("failed-leases") != std::string::npos) {
        LOG_WARN(hamux_logger, HAMUX_LEASE_UPDATE_PARTIAL).arg(update->label)
            .arg(update->command).arg(update->peer->name).arg(text);
    }
    complete(update, true, "", "");
}

void
LeaseSender::complete(Update* first, bool first_ok, const std::string& first_reason,
                      const std::string& first_detail) {
    // Iterative: a refused send of a freed successor completes here too, without
    // recursion however long the chain of one address.
    struct Outcome {
        Update* update;
        bool ok;
        std::string reason;
        std::string detail;
    };
    std::vector<Outcome> todo{{first, first_ok, first_reason, first_detail}};
    while (!todo.empty()) {
        Outcome outcome = todo.back();
        todo.pop_back();
        Update* update = outcome.update;
        if (outcome.ok) {
            stats::bump(stats::UPDATES_ACKED);
        } else {
            stats::bumpFailure(outcome.reason);
            LOG_WARN(hamux_logger, HAMUX_LEASE_UPDATE_FAILED).arg(update->label)
                .arg(update->command).arg(update->peer->name).arg(outcome.reason)
                .arg(outcome.detail);
        }
        if (update->parked) {
            if (!outcome.ok) {
                update->parked->drop();
            }
            if (update->parked->answered()) {
                release(update->parked);
            }
        }
        std::vector<Update*> ready;
        release(update, ready);
        delete update;
        for (auto next : ready) {
            Outcome refused{next, false, "", ""};
            if (!handOver(next, refused.reason, refused.detail)) {
                todo.push_back(refused);
            }
        }
    }
}

void
LeaseSender::release(Update* update, std::vector<Update*>& ready) {
    std::lock_guard<std::mutex> lock(order_mutex_);
    for (auto const& key : update->keys) {
        auto it = order_.find(key);
        if (it == order_.end() || it->second.empty() || it->second.front() != update) {
            continue;  // a key listed twice in one update was released already
        }
        it->second.pop_front();
        if (it->second.empty()) {
            order_.erase(it);
            continue;
        }
        Update* next = it->second.front();
        if (--next->blockers == 0) {
            ready.push_back(next);
        }
    }
}

} // namespace hamux
} // namespace isc
