// Copyright (C) 2026 The hamux authors. MPL-2.0.
//
// The commands are libdhcp_ha 2.2's (lease_commands.h).

#include <lease_sender.h>
#include <hamux_json.h>
#include <hamux_log.h>
#include <hamux_stats.h>
#include <lease_commands.h>

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

    void hold(const Pkt4Ptr& query) { query4 = query; lot->reference(query); }
    void hold(const Pkt6Ptr& query) { query6 = query; lot->reference(query); }

    /// @brief Updates not yet answered; the last one to be answered unparks.
    std::atomic<int> pending{0};
    /// @brief Set by the first failure, which drops the query.
    std::atomic<bool> failed{false};

    /// @brief Drops the query (once, whoever calls); never throws.
    void drop() noexcept {
        bool expected = false;
        if (failed.compare_exchange_strong(expected, true)) {
            stats::bump(stats::PACKETS_DROPPED);
            try {
                if (query4) {
                    lot->drop(query4);
                } else {
                    lot->drop(query6);
                }
                LOG_DEBUG(hamux_logger, DBGLVL_HAMUX_PACKET, HAMUX_PACKET_DROPPED)
                    .arg(query4 ? query4->getLabel() : query6->getLabel());
            } catch (const std::exception& ex) {
                logFailure("dropping a parked query", ex.what());
            }
        }
    }

    /// @brief Counts one update answered; true when it was the last and none failed:
    /// the query may be released.
    bool answered() {
        return (--pending == 0 && !failed.load());
    }

    /// @brief Unparks the query (Kea sends the response); if that fails it is dropped,
    /// never left parked. Never throws.
    void unpark() noexcept {
        try {
            if (query4) {
                lot->unpark(query4);
            } else {
                lot->unpark(query6);
            }
            stats::bump(stats::PACKETS_UNPARKED);
        } catch (const std::exception& ex) {
            logFailure("unparking a query", ex.what());
            drop();
        }
    }

    static void logFailure(const char* what, const char* why) noexcept {
        try {
            LOG_ERROR(hamux_logger, HAMUX_CALLOUT_FAILED).arg(what).arg(why);
        } catch (...) {
        }
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
    /// @brief The query waits for it (wait-backup-ack, or the failover partner).
    bool waits = false;
    /// @brief Set for an update to the failover partner: told when it fails.
    HaService* service = nullptr;
    std::shared_ptr<ParkedQuery> parked;  ///< null unless it @c waits and was parked
    /// @brief The query, for the logs' label. Pkt::getLabel formats the client's
    /// identifiers through a stream: made only when a log line needs it, not for
    /// every lease.
    isc::dhcp::PktPtr query;
    /// @brief The lease, whose address is in the label of a DHCPv4 update (not set for
    /// a lease6-bulk-apply, which carries all the packet's leases).
    isc::dhcp::LeasePtr lease;
    /// @brief The outcome, set before @c LeaseSender::complete.
    bool ok = false;
    std::string reason;  ///< a failure's counter suffix (empty: "other")
    std::string detail;
    /// @brief Links an update into the lists @c complete keeps without allocating.
    Update* next = nullptr;

    /// @brief The query's label, and the lease's address if one; for log lines.
    std::string label() const {
        std::string text = query->getLabel();
        if (lease) {
            text += " " + lease->addr_.toText();
        }
        return (text);
    }

    /// @brief Records a failure; never throws (what cannot be kept stays empty).
    void fail(const char* why, const std::string& what) noexcept {
        ok = false;
        try {
            reason = why;
            detail = what;
        } catch (...) {
        }
    }
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

LeaseSender::LeaseSender(const HookConfig& config, bool poll,
                         const std::vector<HaServicePtr>& services)
    : client_(0), subnets_(config.subnet_relationships), multiple_(config.multiple()) {
    // One entry per relationship and peer, under the name that relationship gives it
    // (for the logs); a backup of several relationships is still one peer of the client
    // and one ordering key per address, both by URL. Reserved first: routes point into it.
    size_t count = 0;
    for (auto const& relationship : config.relationships) {
        count += relationship.clientPeers().size();
    }
    targets_.reserve(count);
    for (size_t r = 0; r < config.relationships.size(); ++r) {
        const RelationshipConfig& relationship = config.relationships[r];
        Route route;
        route.wait_backup_ack = relationship.wait_backup_ack;
        for (auto const peer : relationship.updateTargets()) {
            targets_.push_back(*peer);
            route.targets.push_back(&targets_.back());
        }
        const PeerConfig* partner = relationship.failoverPeer();
        HaService* service = r < services.size() ? services[r].get() : nullptr;
        if (partner && service && relationship.send_lease_updates) {
            targets_.push_back(*partner);
            route.partner = &targets_.back();
            route.service = service;
        }
        routes_.push_back(route);
    }
    std::string json = config.clientJson(poll);
    if (hamux_client_new(json.c_str(), &client_) != HAMUX_OK) {
        isc_throw(HamuxConfigError, "hamux client: " << hamux_last_error());
    }
}

size_t
LeaseSender::relationshipOf(const Lease& lease) const {
    if (!multiple_) {
        return (0);
    }
    auto found = subnets_.find(lease.subnet_id_);
    if (found == subnets_.end()) {
        isc_throw(NoRelationship, "lease " << lease.addr_.toText() << " is in subnet "
                  << lease.subnet_id_ << ", which no relationship's 'ha-server-name'"
                  " names (subnets are tied to relationships when Kea is configured)");
    }
    return (found->second);
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

namespace {

/// @brief A control command in flight (LeaseSender::sendControl).
struct Control {
    ControlAnswered done;
};

extern "C" void
controlAnswered(void* user_data, uint64_t, hamux_status status, const uint8_t* body,
                size_t len) {
    std::unique_ptr<Control> control(static_cast<Control*>(user_data));
    try {
        control->done(status, std::string(reinterpret_cast<const char*>(body), len));
    } catch (const std::exception& ex) {
        LOG_ERROR(hamux_logger, HAMUX_CALLOUT_FAILED).arg("control command answer")
            .arg(ex.what());
    } catch (...) {
        LOG_ERROR(hamux_logger, HAMUX_CALLOUT_FAILED).arg("control command answer")
            .arg("unknown exception");
    }
}

} // namespace

bool
LeaseSender::sendControl(const PeerConfig& peer, const std::string& body,
                         ControlAnswered done) noexcept {
    try {
        std::unique_ptr<Control> control(new Control{std::move(done)});
        hamux_status status =
            hamux_client_send(client_, peer.url.text.c_str(),
                              reinterpret_cast<const uint8_t*>(body.data()), body.size(),
                              controlAnswered, control.get(), 0);
        if (status != HAMUX_OK) {
            return (false);
        }
        control.release();  // controlAnswered owns it now
        return (true);
    } catch (...) {
        return (false);
    }
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
LeaseSender::start(const QueryPtr& query, std::vector<std::unique_ptr<Update> >& updates,
                   const ParkingLotHandlePtr& lot) {
    size_t waiting = 0;
    for (auto const& update : updates) {
        waiting += update->waits ? 1 : 0;
    }
    std::shared_ptr<ParkedQuery> parked;
    if (lot && waiting > 0) {
        parked = std::make_shared<ParkedQuery>();
        parked->lot = lot;
        // Counted before the first send: an answer may come back before this returns.
        parked->pending = static_cast<int>(waiting);
        // Kea may refuse (a DHCPv4-over-DHCPv6 query is not parked): nothing was sent
        // then, and the updates are freed with the vector.
        parked->hold(query);
        stats::bump(stats::PACKETS_PARKED);
    }
    // From here nothing throws: every update is handed to hamux or completed as failed,
    // so a parked query's count always reaches 0.
    for (auto& owned : updates) {
        Update* update = owned.release();
        if (update->waits) {
            update->parked = parked;
        }
        enqueue(update);
    }
    return (parked ? waiting : 0);
}

std::vector<std::pair<const PeerConfig*, bool> >
LeaseSender::recipients(const Route& route, bool& queue) const {
    std::vector<std::pair<const PeerConfig*, bool> > to;
    queue = false;
    if (route.partner) {
        if (route.service->sendsToPartner()) {
            to.push_back(std::make_pair(route.partner, true));
        } else if (route.service->queuesForPartner()) {
            queue = true;  // communication-recovery: sent once the partner is back
        } else {
            route.service->countUnsent();
        }
    }
    for (auto const peer : route.targets) {
        to.push_back(std::make_pair(peer, route.wait_backup_ack));
    }
    return (to);
}

size_t
LeaseSender::send(const Pkt4Ptr& query, const Lease4CollectionPtr& leases,
                   const Lease4CollectionPtr& deleted, const ParkingLotHandlePtr& lot) {
    std::vector<std::unique_ptr<Update> > updates;
    // Per relationship, decided once per query (its partner's unsent count once too).
    std::vector<std::vector<std::pair<const PeerConfig*, bool> > > to(routes_.size());
    std::vector<bool> decided(routes_.size(), false);
    std::vector<bool> queue(routes_.size(), false);
    auto add = [&](const std::string& command, const Lease4Ptr& lease) {
        size_t r = relationshipOf(*lease);
        const Route& route = routes_[r];
        if (!decided[r]) {
            bool queued = false;
            to[r] = recipients(route, queued);
            queue[r] = queued;
            decided[r] = true;
        }
        if (queue[r]) {
            route.service->queue(command == "lease4-update", lease);
        }
        if (to[r].empty()) {
            return;
        }
        std::string body = lease4Command(command, lease);
        for (auto const& recipient : to[r]) {
            const PeerConfig* peer = recipient.first;
            std::unique_ptr<Update> update(new Update());
            update->sender = this;
            update->peer = peer;
            update->waits = recipient.second;
            update->service = peer == route.partner ? route.service : nullptr;
            update->command = command;
            update->body = body;
            update->keys.push_back(peer->url.text + " " + lease->addr_.toText());
            update->query = query;
            update->lease = lease;
            updates.push_back(std::move(update));
        }
    };
    // Deletions first, as libdhcp_ha sends them.
    for (auto const& lease : *deleted) {
        add("lease4-del", lease);
    }
    for (auto const& lease : *leases) {
        add("lease4-update", lease);
    }
    return (start(query, updates, lot));
}

size_t
LeaseSender::send(const Pkt6Ptr& query, const Lease6CollectionPtr& leases,
                   const Lease6CollectionPtr& deleted, const ParkingLotHandlePtr& lot) {
    std::vector<std::unique_ptr<Update> > updates;
    // One lease6-bulk-apply per backup of @c route, with these of the query's leases.
    auto add = [&](const Route& route, const Lease6Collection& gone,
                   const Lease6Collection& kept) {
        if (gone.empty() && kept.empty()) {
            return;
        }
        bool queued = false;
        auto to = recipients(route, queued);
        if (queued) {
            for (auto const& lease : gone) {
                route.service->queue(false, lease);
            }
            for (auto const& lease : kept) {
                route.service->queue(true, lease);
            }
        }
        if (to.empty()) {
            return;
        }
        std::string body = lease6BulkApply(gone, kept);
        for (auto const& recipient : to) {
            const PeerConfig* peer = recipient.first;
            std::unique_ptr<Update> update(new Update());
            update->sender = this;
            update->peer = peer;
            update->waits = recipient.second;
            update->service = peer == route.partner ? route.service : nullptr;
            update->command = "lease6-bulk-apply";
            for (auto const& lease : gone) {
                update->keys.push_back(peer->url.text + " " + lease->addr_.toText());
            }
            for (auto const& lease : kept) {
                update->keys.push_back(peer->url.text + " " + lease->addr_.toText());
            }
            update->body = body;
            update->query = query;
            updates.push_back(std::move(update));
        }
    };
    if (!multiple_) {
        // One relationship: the query's collections as they are, nothing regrouped.
        add(routes_[0], *deleted, *leases);
        return (start(query, updates, lot));
    }
    // Each relationship's leases, so that a backup gets only its relationship's.
    std::vector<Lease6Collection> deleted_of(routes_.size()), leases_of(routes_.size());
    for (auto const& lease : *deleted) {
        deleted_of[relationshipOf(*lease)].push_back(lease);
    }
    for (auto const& lease : *leases) {
        leases_of[relationshipOf(*lease)].push_back(lease);
    }
    for (size_t r = 0; r < routes_.size(); ++r) {
        add(routes_[r], deleted_of[r], leases_of[r]);
    }
    return (start(query, updates, lot));
}

void
LeaseSender::release(const std::shared_ptr<ParkedQuery>& parked) noexcept {
    std::lock_guard<std::mutex> lock(park_mutex_);
    if (dropping_) {
        parked->drop();
    } else if (holding_) {
        try {
            held_.push_back(parked);
        } catch (const std::exception& ex) {
            ParkedQuery::logFailure("holding a query", ex.what());
            parked->drop();
        }
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
LeaseSender::enqueue(Update* update) noexcept {
    try {
        std::lock_guard<std::mutex> lock(order_mutex_);
        try {
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
        } catch (...) {
            // Taken off again (it is at the back of every queue it joined), so that it
            // blocks nobody; then completed as failed below.
            for (auto const& key : update->keys) {
                auto it = order_.find(key);
                if (it != order_.end() && !it->second.empty() &&
                    it->second.back() == update) {
                    it->second.pop_back();
                }
                if (it != order_.end() && it->second.empty()) {
                    order_.erase(it);
                }
            }
            throw;
        }
        if (update->blockers > 0) {
            return;
        }
    } catch (const std::exception& ex) {
        update->fail("other", ex.what());
        complete(update);
        return;
    } catch (...) {
        update->fail("other", "unknown exception");
        complete(update);
        return;
    }
    transmit(update);
}

bool
LeaseSender::handOver(Update* update) noexcept {
    stats::bump(stats::UPDATES_SENT);
    hamux_status status =
        hamux_client_send(client_, update->peer->url.text.c_str(),
                          reinterpret_cast<const uint8_t*>(update->body.data()),
                          update->body.size(), updateAnswered, update, 0);
    if (status == HAMUX_OK) {
        return (true);
    }
    // Never a wait: a busy or refused send fails the update like a lost one.
    update->ok = false;
    try {
        update->reason = reasonOf(status);
        update->detail = std::string(hamux_status_name(status)) + ": " + hamux_last_error();
    } catch (...) {
    }
    return (false);
}

void
LeaseSender::transmit(Update* update) noexcept {
    if (!handOver(update)) {
        complete(update);
    }
}

void
LeaseSender::onReply(Update* update, hamux_status status, const uint8_t* body,
                     size_t len) noexcept {
    // The outcome first, then complete(), which never throws: the update completes
    // exactly once, whatever fails here.
    try {
        std::string text(reinterpret_cast<const char*>(body), len);
        if (status != HAMUX_OK) {
            update->fail(reasonOf(status).c_str(),
                         std::string(hamux_status_name(status)) + ": " + text);
        } else {
            int64_t result = -1;
            char* result_text = 0;
            if (hamux_reply_result(body, len, &result, &result_text) != HAMUX_OK) {
                update->fail("protocol", "not a Kea answer: " + text);
            } else {
                std::string answer_text(result_text ? result_text : "");
                hamux_string_free(result_text);
                // libdhcp_ha accepts success and "empty" (e.g. deleting a lease the
                // partner lacks).
                if (result != isc::config::CONTROL_RESULT_SUCCESS &&
                    result != isc::config::CONTROL_RESULT_EMPTY) {
                    std::ostringstream detail;
                    detail << "result " << result << ": " << answer_text;
                    update->fail("rejected", detail.str());
                } else {
                    update->ok = true;
                    if (update->command == "lease6-bulk-apply" &&
                        text.find("failed-leases") != std::string::npos) {
                        LOG_WARN(hamux_logger, HAMUX_LEASE_UPDATE_PARTIAL).arg(update->label())
                            .arg(update->command).arg(update->peer->name).arg(text);
                    }
                }
            }
        }
    } catch (const std::exception& ex) {
        // Acknowledged or not, not known for sure: a failure (the query is dropped).
        update->fail("other", ex.what());
    } catch (...) {
        update->fail("other", "unknown exception");
    }
    complete(update);
}

void
LeaseSender::complete(Update* first) noexcept {
    // Iterative: a refused send of a freed successor completes here too, without
    // recursion however long the chain of one address. The lists are linked through
    // Update::next: nothing here allocates, and every step that may fail (counting,
    // logging, Kea's parking lot) catches its own, so the update is always freed, its
    // successors always go, and its query is always unparked or dropped.
    first->next = nullptr;
    Update* todo = first;
    while (todo) {
        std::unique_ptr<Update> update(todo);
        todo = update->next;
        report(*update);
        if (update->parked) {
            if (!update->ok) {
                update->parked->drop();
            }
            if (update->parked->answered()) {
                release(update->parked);
            }
        }
        Update* ready = release(update.get());
        update.reset();
        while (ready) {
            Update* next = ready;
            ready = next->next;
            next->next = nullptr;
            if (!handOver(next)) {
                next->next = todo;
                todo = next;
            }
        }
    }
}

void
LeaseSender::report(const Update& update) noexcept {
    if (update.ok) {
        stats::bump(stats::UPDATES_ACKED);
        return;
    }
    if (update.service) {
        // libdhcp_ha marks the partner unavailable and runs its state machine.
        try {
            update.service->partnerUpdateFailed();
        } catch (...) {
        }
    }
    static const std::string other = "other";
    const std::string& reason = update.reason.empty() ? other : update.reason;
    stats::bumpFailure(reason);
    try {
        LOG_WARN(hamux_logger, HAMUX_LEASE_UPDATE_FAILED).arg(update.label())
            .arg(update.command).arg(update.peer->name).arg(reason).arg(update.detail);
    } catch (...) {
    }
}

Update*
LeaseSender::release(Update* update) noexcept {
    Update* ready = nullptr;
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
            next->next = ready;
            ready = next;
        }
    }
    return (ready);
}

} // namespace hamux
} // namespace isc
