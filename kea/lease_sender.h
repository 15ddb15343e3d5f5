// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_LEASE_SENDER_H
#define HAMUX_LEASE_SENDER_H

#include <ha_service.h>
#include <hamux.h>
#include <hamux_config.h>

#include <cc/data.h>
#include <dhcp/pkt4.h>
#include <dhcp/pkt6.h>
#include <dhcpsrv/lease.h>
#include <hooks/parking_lots.h>

#include <boost/noncopyable.hpp>
#include <boost/shared_ptr.hpp>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace isc {
namespace hamux {

struct Update;
struct ParkedQuery;

/// @brief A lease whose subnet no relationship's "ha-server-name" names (a subnet added
/// after the configuration, e.g. by subnet_cmds): it cannot be replicated, so its
/// query is not answered.
class NoRelationship : public isc::Exception {
public:
    NoRelationship(const char* file, size_t line, const char* what)
        : isc::Exception(file, line, what) {}
};

/// @brief The sending side: every committed lease goes to each backup of its
/// relationship (with several, the one its subnet names) as one hamux request, out of
/// order and pooled on hamux's IO threads, except that updates of one address wait for
/// the previous update of that address to the same peer (see
/// @c enqueue): a renew and a release in flight at once cannot land in the wrong order.
///
/// With wait-backup-ack the query is parked (Kea's parking lot) and unparked when its
/// last update is acknowledged, or dropped on the first failure, as libdhcp_ha does.
///
/// In hot-standby the failover partner gets the updates too while its relationship's
/// HaService says so (hot-standby, partner-in-maintenance), and the query always waits
/// for the partner's acknowledgement (not for the backups': wait-backup-ack is false in
/// that mode); otherwise the query counts as unsent for the partner's next heartbeat.
class LeaseSender : public boost::noncopyable {
public:
    /// @brief Creates the hamux client.
    /// @param poll completions run on Kea's thread (single-threaded Kea): the caller
    /// registers @c fd with Kea's IfaceMgr and calls @c dispatch when it is readable.
    /// @param services per relationship, its state machine (hot-standby) or null; they
    /// outlive this sender.
    /// @throw HamuxConfigError with hamux's message if the client is refused.
    LeaseSender(const HookConfig& config, bool poll,
                const std::vector<HaServicePtr>& services);

    /// @brief Sends a control command (heartbeat, lease sync) to @c peer over the
    /// client's connections: over hamux:// beside the lease updates, never behind them.
    /// @c done runs once, on a hamux IO thread (Kea's thread in poll mode, or the one
    /// freeing the client); false (and @c done never runs) if hamux refused it.
    bool sendControl(const PeerConfig& peer, const std::string& body,
                     ControlAnswered done) noexcept;

    /// @brief Frees the client: every outstanding update completes first (parked
    /// queries of unanswered updates are dropped), so nothing refers to the hook after.
    ~LeaseSender();

    /// @brief Sends the updates of one DHCPv4 query: a lease4-del per deleted lease and
    /// a lease4-update per new or renewed lease, to every backup of the lease's
    /// relationship.
    /// @param parking_lot non-null to park: the query is referenced in it first.
    /// @return how many acknowledgements the query waits for (0: not parked).
    /// @throw NoRelationship (nothing sent) if a lease's subnet is tied to no
    /// relationship.
    size_t send(const dhcp::Pkt4Ptr& query, const dhcp::Lease4CollectionPtr& leases,
                 const dhcp::Lease4CollectionPtr& deleted,
                 const hooks::ParkingLotHandlePtr& parking_lot);

    /// @brief As @c send for DHCPv4, for DHCPv6: one lease6-bulk-apply per query and
    /// backup, with the leases of that backup's relationship.
    size_t send(const dhcp::Pkt6Ptr& query, const dhcp::Lease6CollectionPtr& leases,
                 const dhcp::Lease6CollectionPtr& deleted,
                 const hooks::ParkingLotHandlePtr& parking_lot);

    /// @brief The client's descriptor in poll mode (-1 otherwise).
    int fd() const;

    /// @brief Runs waiting completions (poll mode).
    void dispatch();

    /// @brief hamux's client statistics, parsed.
    data::ConstElementPtr stats() const;

    /// @brief Kea enters a critical section (its packet thread pool is stopped): a
    /// response unparked now would wait in the stopped pool's queue holding its callout
    /// handle, and on a reconfiguration Kea then cannot load the libraries again
    /// ("some libraries are still opened"). Queries whose updates complete meanwhile
    /// are held until @c resume.
    void pause();

    /// @brief Kea left the critical section: the held queries are unparked.
    void resume();

    /// @brief From now on (unload) queries whose updates complete are dropped, as
    /// libdhcp_ha's parked packets are at unload; held ones too.
    void dropFromNowOn();


    /// @brief hamux's callback for one update (an IO thread, or Kea's thread in poll
    /// mode, or the thread freeing the client for what is left then).
    void onReply(Update* update, hamux_status status, const uint8_t* body,
                 size_t len) noexcept;

private:
    /// @brief Parks @c query (with wait-backup-ack and a parking lot) for @c updates,
    /// then queues them, taking them over. If parking throws (Kea refuses it) nothing
    /// was sent and the exception goes to the caller, @c updates still owning them.
    /// @return how many acknowledgements the query waits for (0: not parked).
    template<typename QueryPtr>
    size_t start(const QueryPtr& query, std::vector<std::unique_ptr<Update> >& updates,
                 const hooks::ParkingLotHandlePtr& lot);

    /// @brief The last update of a parked query was acknowledged: unpark it, or hold
    /// or drop it (see @c pause, @c dropFromNowOn); a query that cannot be unparked or
    /// held is dropped.
    void release(const std::shared_ptr<ParkedQuery>& parked) noexcept;

    /// @brief Queues @c update behind earlier updates of its addresses to its peer and
    /// sends it if none is in flight; if it cannot be queued it completes as failed.
    void enqueue(Update* update) noexcept;

    /// @brief Hands an update to hamux; a refusal completes it at once as a failure.
    void transmit(Update* update) noexcept;

    /// @brief hamux_client_send for @c update; on a refusal records the failure in it
    /// and returns false.
    bool handOver(Update* update) noexcept;

    /// @brief With the outcome recorded in @c update: counts and logs it, unparks or
    /// drops the query, frees the update and sends the updates that waited for it.
    void complete(Update* update) noexcept;

    /// @brief Counts and logs an update's outcome.
    void report(const Update& update) noexcept;

    /// @brief Takes @c update off its addresses' queues.
    /// @return the updates that are now free to go, linked through Update::next.
    Update* release(Update* update) noexcept;

    /// @brief The relationship index of a lease (0 with one relationship).
    /// @throw NoRelationship if its subnet is tied to none.
    size_t relationshipOf(const dhcp::Lease& lease) const;

    /// @brief Where one relationship's updates go.
    struct Route {
        std::vector<const PeerConfig*> targets;  ///< the backups, into @c targets_
        bool wait_backup_ack = false;
        /// @brief hot-standby with send-lease-updates: the partner (into @c targets_)
        /// and the state machine deciding whether it gets them.
        const PeerConfig* partner = nullptr;
        HaService* service = nullptr;
    };

    /// @brief The peers of @c route that get a query's updates now, and whether the
    /// query waits for each; counts the query unsent for a partner that does not, or
    /// sets @c queue when its leases go to the partner's backlog instead
    /// (communication-recovery).
    std::vector<std::pair<const PeerConfig*, bool> > recipients(const Route& route,
                                                                bool& queue) const;

    hamux_client* client_;
    /// @brief Every relationship's backups, one entry per relationship and backup; never
    /// resized after the constructor (routes and updates point into it).
    std::vector<PeerConfig> targets_;
    std::vector<Route> routes_;
    /// @brief Subnet id -> relationship, with several relationships (else empty).
    std::unordered_map<uint32_t, size_t> subnets_;
    bool multiple_;

    /// @brief Per peer and address: the updates in commit order; the front is in
    /// flight, the others wait.
    std::mutex park_mutex_;
    bool holding_ = false;
    bool dropping_ = false;
    std::vector<std::shared_ptr<ParkedQuery> > held_;

    std::mutex order_mutex_;
    std::unordered_map<std::string, std::deque<Update*> > order_;
};

typedef boost::shared_ptr<LeaseSender> LeaseSenderPtr;

} // namespace hamux
} // namespace isc

#endif // HAMUX_LEASE_SENDER_H
