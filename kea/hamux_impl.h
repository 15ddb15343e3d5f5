// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_IMPL_H
#define HAMUX_IMPL_H

#include <command_listener.h>
#include <ha_service.h>
#include <hamux_config.h>
#include <lease_sender.h>
#include <main_thread_queue.h>

#include <cc/data.h>
#include <dhcpsrv/network_state.h>
#include <hooks/hooks.h>

#include <boost/noncopyable.hpp>
#include <boost/shared_ptr.hpp>
#include <atomic>
#include <string>
#include <vector>

namespace isc {
namespace hamux {

/// @brief Everything one load of libdhcp_hamux holds: the configuration, the sending
/// side (LeaseSender), the receiving side (CommandListener) and the bridge to Kea's main
/// thread. Created in load(), destroyed in unload(), so a reconfiguration starts from
/// scratch as it does with libdhcp_ha.
class HamuxImpl : public boost::noncopyable {
public:
    /// @brief Reads and checks the parameters (load(): a bad one refuses Kea's
    /// configuration).
    /// @throw HamuxConfigError naming what is wrong.
    HamuxImpl(const data::ConstElementPtr& high_availability);

    /// @brief Stops the listener (answering what it was handed), then the client
    /// (completing every update: parked queries still waiting are dropped).
    ~HamuxImpl();

    /// @brief dhcpX_srv_configured: creates the hamux client, binds the listener (the
    /// previous load's is gone: Kea unloads before it loads), hooks both into Kea's main
    /// loop and checks Kea's settings that can lose ACKs or leases with parking.
    /// @param json_config the server's configuration (the Dhcp4 or Dhcp6 map): Debian's
    /// kea-dev 2.2 cannot compile CfgMgr's headers, so settings are read from it.
    /// @param v6 whether this is kea-dhcp6.
    /// @param network_state the callout's "network_state": a backup does not serve DHCP
    /// (see @c adjustNetworkState).
    /// @throw HamuxConfigError (Kea then refuses the configuration).
    void configured(const data::ConstElementPtr& json_config, bool v6,
                    const dhcp::NetworkStatePtr& network_state);

    /// @brief leases4_committed / leases6_committed.
    void leases4Committed(hooks::CalloutHandle& handle);
    void leases6Committed(hooks::CalloutHandle& handle);

    /// @brief buffer4_receive / buffer6_receive: in hot-standby, drops the queries of a
    /// scope this server does not serve now (libdhcp_ha's query filter).
    void buffer4Receive(hooks::CalloutHandle& handle);
    void buffer6Receive(hooks::CalloutHandle& handle);

    /// @brief Whether the query's scope is decided by its subnet (several hot-standby
    /// relationships): the callouts below are registered only then.
    bool scopedBySubnet() const { return (scoped_by_subnet_); }

    /// @brief subnet4_select / subnet6_select: the selected subnet's relationship
    /// decides; a query of no subnet is dropped (hamux_impl_scope.cc).
    void subnet4Select(hooks::CalloutHandle& handle);
    void subnet6Select(hooks::CalloutHandle& handle);

    /// @brief lease4_select, _renew, _release, _decline and their DHCPv6 kin (and
    /// lease6_rebind): a query no subnet decided is decided by the lease's subnet; out
    /// of scope the lease step is skipped.
    void leaseCallout4(hooks::CalloutHandle& handle);
    void leaseCallout6(hooks::CalloutHandle& handle);

    /// @brief Refuses (HamuxConfigError) when the subnet headers the hook was built
    /// with do not describe this Kea's library (kea/compat/dhcpsrv/cfg_globals.h).
    static void checkSubnetHeaders();

    /// @brief pkt4_send / pkt6_send: the answer to a query out of scope is dropped, and
    /// one that gives a lease for a query no callout tied to a relationship.
    void answer4Ready(hooks::CalloutHandle& handle);
    void answer6Ready(hooks::CalloutHandle& handle);

    /// @brief ha-heartbeat, ha-reset, ha-sync-complete-notify, ha-continue, ha-scopes,
    /// ha-maintenance-notify / -start / -cancel on Kea's command channel (and a partner's, through the listener's serial lane), with
    /// libdhcp_ha's answers (main thread).
    data::ConstElementPtr haCommand(const std::string& name,
                                    const data::ConstElementPtr& arguments);

    /// @brief command_processed: adds libdhcp_ha's "high-availability" part to
    /// status-get's answer, one entry per relationship (main thread).
    void commandProcessed(hooks::CalloutHandle& handle);

    /// @brief The hamux-status command's answer.
    data::ConstElementPtr status() const;

private:
    /// @brief What the hook starts with: from the server's configuration
    /// (dhcpX_srv_configured), or from Kea's actual state (see @c reconcile).
    struct Settings {
        bool v6 = false;
        bool multi_threaded = false;
        int64_t packet_queue_size = 64;     ///< Kea 2.2's default
        int64_t parked_packet_limit = 256;  ///< Kea 2.2's default
    };

    /// @brief Creates the sender and the listener and hooks them into Kea (external
    /// sockets in single-threaded Kea, critical-section callbacks in multi-threaded):
    /// all or nothing, what was made is undone if anything fails.
    /// @throw HamuxConfigError or what hamux's or Kea's calls throw.
    void start(const Settings& settings);

    /// @brief Undoes @c start (the listener drains, then the sender completes every
    /// update, dropping the parked queries); nothing if not started.
    void stop();

    /// @brief Whether @c start succeeded (and no @c stop since).
    bool started() const { return (sender_ && !listeners_.empty()); }

    /// @brief Main thread, once Kea's main loop runs (after load, and after every
    /// critical section): opens the listener's gate if Kea's actual multi-threading
    /// mode is the one the hook started in, otherwise starts the hook (again) in Kea's
    /// mode: libreload does not call dhcpX_srv_configured, and a failed config-set
    /// leaves Kea 2.2 without the hook's callbacks, possibly single-threaded.
    void reconcile();

    /// @brief Adds (or replaces) the "HAMUX" critical-section callbacks for these; the
    /// entry one also queues @c reconcile for after the section.
    void registerCriticalSection(const LeaseSenderPtr& sender,
                                 const std::vector<CommandListenerPtr>& listeners);

    /// @brief Runs Kea's dhcp-disable or dhcp-enable with origin "ha-partner" (the
    /// HA origin), where Kea gave no network state (libreload).
    /// @throw Unexpected if Kea refuses it.
    static void dhcpServiceCommand(const std::string& command);

    /// @brief ha-sync (any mode): a lease sync from the named partner, answered once it
    /// is over, as libdhcp_ha answers it; the HA state does not change.
    data::ConstElementPtr syncCommand(const data::ConstElementPtr& arguments);

    /// @brief Sends a control command and waits for its answer (main thread): in poll
    /// mode by serving the client's completions meanwhile.
    static hamux_status waitForControl(LeaseSender& sender, bool poll, const PeerConfig& peer,
                                       const std::string& request, std::string& body);

    /// @brief The hot-standby relationship's state machine (one at most), or null.
    HaServicePtr failoverService() const;

    /// @brief The state machine of the relationship an HA command's "server-name"
    /// names (several relationships), else the first one's.
    /// @throw isc::BadValue naming what is wrong with "server-name".
    HaServicePtr serviceNamed(const std::string& command,
                              const data::ConstElementPtr& arguments) const;

    /// @brief ha-maintenance-start / -cancel with several relationships: all of them.
    data::ConstElementPtr everyService(const std::string& name);

    /// @brief buffer4_receive / buffer6_receive.
    template<typename QueryPtr>
    void bufferReceived(hooks::CalloutHandle& handle, const char* query_name, bool v6);

    /// @brief Decides (and records in the handle) whether @c relationship serves it.
    template<typename QueryPtr>
    bool decideScope(hooks::CalloutHandle& handle, const QueryPtr& query,
                     size_t relationship);

    template<typename QueryPtr, typename SubnetPtr>
    void subnetSelected(hooks::CalloutHandle& handle, const char* query_name,
                        const char* subnet_name);

    /// @brief Decides by the relationship of subnet @c subnet_id; a subnet of none is
    /// dropped, and @c where_from() (called only then) says where the id came from.
    template<typename QueryPtr, typename WhereFrom>
    bool decideBySubnetId(hooks::CalloutHandle& handle, const QueryPtr& query,
                          uint32_t subnet_id, const WhereFrom& where_from);

    /// @brief Decides by @c lease's subnet.
    template<typename QueryPtr>
    bool decideByLease(hooks::CalloutHandle& handle, const QueryPtr& query,
                       const dhcp::Lease& lease);

    template<typename QueryPtr, typename LeasePtr>
    void leaseChosen(hooks::CalloutHandle& handle, const char* query_name,
                     const char* lease_name);

    template<typename ResponsePtr>
    void answerReady(hooks::CalloutHandle& handle, const char* response_name);

    /// @brief leasesX_committed with several hot-standby relationships: false if the
    /// query is out of scope, deciding an undecided one by its leases.
    template<typename QueryPtr, typename Collection>
    bool committedInScope(hooks::CalloutHandle& handle, const QueryPtr& query,
                          const Collection* leases, const Collection* deleted);

    /// @brief leasesX_committed of a query with a lease of no relationship: dropped.
    void noRelationship(hooks::CalloutHandle& handle, const std::string& label,
                        const std::string& why);

    /// @brief Kea's running configuration (config-get, main thread), the Dhcp4 or
    /// Dhcp6 map: what libreload, which gives no configuration, maps subnets from.
    /// @throw HamuxConfigError if Kea does not give it.
    static data::ConstElementPtr runningConfig(bool v6);

    /// @brief leasesX_committed of a query with leases to replicate while not started:
    /// with wait-backup-ack it is dropped (it cannot be replicated).
    void notStarted(hooks::CalloutHandle& handle);

    /// @brief leasesX_committed: sends the query's updates, parking it when it must
    /// wait for their acknowledgements.
    template<typename QueryPtr, typename Collection>
    void committed(hooks::CalloutHandle& handle, const char* query_name,
                   const char* leases_name, const char* deleted_name);

    /// @brief Warns where packet-queue-size or parked-packet-limit can lose ACKs or
    /// leases with wait-backup-ack (shared/docs/kea-hooks.md in the repository).
    void checkParkingSettings(const Settings& settings) const;

    /// @brief As libdhcp_ha 2.2 (HAService's constructor, then adjustNetworkState in
    /// the backup or passive-backup state): clears what HA disabled, then disables the
    /// DHCP service of a backup, both with NetworkState::Origin::HA_COMMAND, so a user's
    /// dhcp-enable does not make a backup serve. The destructor clears it again.
    void adjustNetworkState();

    HookConfigPtr config_;
    /// @brief Whether any peer is to receive updates (the configuration's).
    bool has_targets_;
    /// @brief Whether any query may wait for acknowledgements: a relationship with
    /// backups and wait-backup-ack, or a hot-standby partner to send to.
    bool waits_;
    /// @brief Whether a relationship is hot-standby (its HaService switches the DHCP
    /// service, not adjustNetworkState).
    bool failover_ = false;
    /// @brief Several hot-standby relationships (hub and spoke): a query is in scope by
    /// its subnet's relationship, decided in the subnet and lease callouts.
    bool scoped_by_subnet_ = false;
    dhcp::NetworkStatePtr network_state_;
    /// @brief A backup started without the network state disabled DHCP by command.
    bool disabled_by_command_ = false;
    Settings settings_;
    /// @brief Why the hook is not started (status, logs).
    std::string not_started_ = "Kea has not configured it (dhcpX_srv_configured)";
    std::atomic<bool> not_started_logged_{false};
    bool multi_threaded_ = false;
    MainThreadQueue main_;
    LeaseSenderPtr sender_;
    /// @brief One per URL of this server (HookConfig::listenerGroups).
    std::vector<CommandListenerPtr> listeners_;
    /// @brief Per relationship: its state machine (hot-standby) or null.
    std::vector<HaServicePtr> services_;
    /// @brief Queries whose scope was decided at subnetX_select, at a lease callout,
    /// and those of them not served here (hamux-status' "scope-by-subnet").
    std::atomic<uint64_t> decided_at_subnet_{0};
    std::atomic<uint64_t> decided_at_lease_{0};
    std::atomic<uint64_t> not_for_us_{0};
    /// @brief Answers with a lease dropped because nothing tied their query to a
    /// relationship.
    std::atomic<uint64_t> undecided_dropped_{0};
    bool sockets_registered_ = false;
    bool cs_registered_ = false;
};

typedef boost::shared_ptr<HamuxImpl> HamuxImplPtr;

} // namespace hamux
} // namespace isc

#endif // HAMUX_IMPL_H
