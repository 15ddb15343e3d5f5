// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_HA_SERVICE_H
#define HAMUX_HA_SERVICE_H

#include <hamux.h>
#include <hamux_config.h>
#include <lease_sync.h>
#include <main_thread_queue.h>
#include <main_thread_timer.h>
#include <service_gate.h>

#include <cc/data.h>
#include <dhcp/pkt4.h>
#include <dhcp/pkt6.h>
#include <dhcpsrv/lease.h>
#include <dhcpsrv/network_state.h>

#include <boost/noncopyable.hpp>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace isc {
namespace hamux {

/// @brief libdhcp_ha 2.2's HA states (ha_service_states.h), and "unavailable", which
/// only a partner is in (no answer to the last heartbeat or a failed lease update).
enum class HaState {
    BACKUP, COMMUNICATION_RECOVERY, HOT_STANDBY, LOAD_BALANCING, IN_MAINTENANCE,
    PARTNER_DOWN, PARTNER_IN_MAINTENANCE, PASSIVE_BACKUP, READY, SYNCING, TERMINATED,
    WAITING, UNAVAILABLE,
    /// @brief A partner not heard from yet (libdhcp_ha's -1).
    UNKNOWN,
};

/// @brief Kea's name of a state ("hot-standby", ...; "" for UNKNOWN).
const char* stateName(HaState state);

/// @brief The state Kea names @c name.
/// @throw BadValue "unknown state <name>", as libdhcp_ha.
HaState stateFromName(const std::string& name);

/// @brief How the state machine reaches its partner: @c send puts a command on the
/// hook's hamux client, on the connections the lease updates use (over hamux:// replies
/// come in any order, so a heartbeat does not wait behind an update in flight); the
/// callback runs on any thread.
typedef std::function<void(hamux_status status, const std::string& body)> ControlAnswered;
typedef std::function<bool(const PeerConfig& peer, const std::string& body,
                           ControlAnswered done)> ControlSender;
/// @brief The same, waiting (main thread, at most the client's request timeout) for the
/// answer, which goes in @c body: where libdhcp_ha waits for the partner too
/// (ha-maintenance-start, ha-maintenance-cancel, communication-recovery's backlog and
/// ha-reset, ha-sync).
typedef std::function<hamux_status(const PeerConfig& peer, const std::string& request,
                                   std::string& body)> ControlWaiter;

/// @brief libdhcp_ha 2.2's HA state machine for one hot-standby or load-balancing
/// relationship (HAService, CommunicationState, QueryFilter, LeaseUpdateBacklog), on
/// Kea's main thread like libdhcp_ha's:
/// heartbeats every heartbeat-delay, partner-down after max-response-delay (and, on a
/// standby or a load-balancing server serving DHCP, more than max-unacked-clients
/// clients waiting longer than max-ack-delay), lease sync when it starts or comes back,
/// the DHCP service and the scopes switched per state (load-balancing splits the
/// clients by libdhcp_ha's hash), communication-recovery (load-balancing: a partner
/// unreachable for a moment gets the queued updates when it is back), clock skew checked
/// from the heartbeats.
///
/// The states, transitions and answers are libdhcp_ha's (see ha_service.cc, which names
/// its handlers). Differences: the lease sync does not block Kea's main thread; a
/// refused ha-reset in communication-recovery is tried again at the next heartbeat, not
/// at once in a loop. Pausing ("state-machine") is libdhcp_ha's (Kea's StateModel):
/// entering a state configured "always", or "once" and not paused in yet, pauses the
/// model; while paused each handler does its entry actions (and heartbeats) and nothing
/// more, until ha-continue, after which the next event (a heartbeat's answer) moves it
/// on.
///
/// Threads: the state machine runs on the main thread (timers, answers posted to it);
/// @c inScope, @c sendsToPartner, @c countUnsent, @c partnerUpdateFailed and
/// @c heartbeatAnswer are called from Kea's packet threads and hamux's threads.
class HaService : public boost::noncopyable,
                  public std::enable_shared_from_this<HaService> {
public:
    /// @param network_state Kea's (dhcpX_srv_configured); null after libreload, when
    /// the DHCP service is switched with dhcp-disable / dhcp-enable commands instead.
    /// @param gate With several hot-standby relationships, the service they share
    /// (switched through it, as member @c member); null with one.
    HaService(const RelationshipConfig& config, bool v6,
              const dhcp::NetworkStatePtr& network_state, MainThreadQueue& main,
              const ServiceGatePtr& gate = ServiceGatePtr(), size_t member = 0);

    ~HaService();

    /// @brief Starts the state machine in waiting (main thread): from now on heartbeats
    /// go out through @c send.
    void start(ControlSender send, ControlWaiter wait);

    /// @brief Stops timers and the sync; nothing runs after (main thread).
    void stop();

    /// @brief buffer4_receive / buffer6_receive: whether this server answers @c query
    /// now (libdhcp_ha's QueryFilter::inScope); sets the query's "HA_<scope>" class.
    /// While communication is interrupted, queries of another server's scope are
    /// analyzed for unacked clients (CommunicationState::analyzeMessage).
    bool inScope(const dhcp::Pkt4Ptr& query);
    bool inScope(const dhcp::Pkt6Ptr& query);

    /// @brief Whether a committed lease goes to the partner now (libdhcp_ha's
    /// shouldSendLeaseUpdates: hot-standby, load-balancing, partner-in-maintenance).
    bool sendsToPartner() const { return (sends_to_partner_.load()); }

    /// @brief Whether committed leases are queued for the partner instead
    /// (communication-recovery, libdhcp_ha's shouldQueueLeaseUpdates).
    bool queuesForPartner() const { return (queues_for_partner_.load()); }

    /// @brief Queues a lease for the partner (any thread): an update (@c add) or a
    /// deletion; past delayed-updates-limit the backlog overflows and the partner is
    /// made to resynchronize instead (ha-reset).
    void queue(bool add, const dhcp::LeasePtr& lease);

    /// @brief A query's leases were not sent to the partner (it is down or not ready):
    /// counted for the heartbeat's unsent-update-count, which tells the partner a sync
    /// is due.
    void countUnsent();

    /// @brief A lease update to the partner failed: it is unavailable (any thread).
    void partnerUpdateFailed();

    /// @brief The answer to ha-heartbeat (libdhcp_ha's processHeartbeat), any thread.
    data::ConstElementPtr heartbeatAnswer() const;

    /// @brief With a gate (several relationships), the partner's dhcp-disable (for
    /// @c max_period_s seconds if positive) or dhcp-enable with the origin
    /// "ha-partner", as Kea's handler answers them: this relationship's partner's wish
    /// in the gate (service_gate.h), undone after max-period as Kea does. Main thread.
    data::ConstElementPtr partnerServiceCommand(bool enable, int64_t max_period_s);

    /// @brief Commands (main thread), with libdhcp_ha's answers.
    data::ConstElementPtr resetCommand();
    data::ConstElementPtr syncCompleteNotifyCommand();
    /// @brief ha-continue: unpauses the state machine; as libdhcp_ha it does not run it,
    /// the next event does.
    data::ConstElementPtr continueCommand();
    data::ConstElementPtr scopesCommand(const data::ConstElementPtr& arguments);
    /// @brief From the partner: it goes into maintenance (cancel false) or back.
    data::ConstElementPtr maintenanceNotifyCommand(const data::ConstElementPtr& arguments);
    /// @brief From the operator: the partner is told (and waited for), then this server
    /// takes over (partner-in-maintenance) or, if the partner does not answer,
    /// partner-down.
    data::ConstElementPtr maintenanceStartCommand();
    data::ConstElementPtr maintenanceCancelCommand();

    /// @brief libdhcp_ha's HA_CONTROL_RESULT_MAINTENANCE_NOT_ALLOWED.
    static const int MAINTENANCE_NOT_ALLOWED = 1001;

    /// @brief For hamux-status: state, partner's, scopes, counters.
    data::ConstElementPtr status() const;

    /// @brief status-get's "ha-servers" (libdhcp_ha's processStatusGet): "local" (role,
    /// state, scopes) and, but on a backup, "remote" (CommunicationState::getReport and
    /// the partner's role). Main thread.
    data::ConstElementPtr statusGet() const;

    const RelationshipConfig& config() const { return (config_); }

private:
    enum Event { NOP, START, HEARTBEAT_COMPLETE, LEASE_UPDATES_COMPLETE, SYNCING_SUCCEEDED,
                 SYNCING_FAILED, SYNCED_PARTNER_UNAVAILABLE, RESET, MAINTENANCE_NOTIFY,
                 MAINTENANCE_START, MAINTENANCE_CANCEL };

    /// @brief libdhcp_ha's runModel: the current state's handler once, then again after
    /// every transition, until one posts NOP.
    void runModel(Event event);
    /// @brief Kea's StateModel::postNextEvent: the event before becomes the last one,
    /// which handlers look at (maintenance, a partner gone after its sync).
    void postNextEvent(Event event);
    void transition(HaState state);
    void postNop() { postNextEvent(NOP); }
    /// @brief Kea's StateModel::setState: on entry to a state that should pause (State::
    /// shouldPause: "always", or "once" the first time), the model is paused.
    void pauseOnEntry();
    /// @brief libdhcp_ha's conditionalLogPausedState, in each handler's entry actions.
    void logPaused() const;
    /// @brief The check the handlers start their decisions with: after a maintenance
    /// cancel (back in the state it interrupted) or while paused, nothing more (NOP).
    bool holding();

    /// @brief The ha-maintenance-notify command for the partner.
    std::string maintenanceNotify(bool cancel) const;
    bool doOnEntry();

    void waitingHandler();
    void communicationRecoveryHandler();
    void syncingHandler();
    void readyHandler();
    void normalHandler();
    void partnerDownHandler();
    void partnerInMaintenanceHandler();
    void inMaintenanceHandler();
    void terminatedHandler();
    void backupHandler();

    /// @brief The checks every handler but backup / in-maintenance / terminated /
    /// partner-in-maintenance starts with: @c holding, terminate on clock skew, back
    /// to waiting (or stay) with a partner in a state of another mode. Return true when
    /// they decided.
    bool commonChecks(bool invalid_goes_waiting);

    /// @brief DHCP service on in the states that serve, off in the others.
    void adjustNetworkState();
    void setService(bool enabled);
    bool serviceEnabled() const;

    void serveNoScopes();
    void serveDefaultScopes();
    void serveFailoverScopes();
    /// @brief Serves the scopes of the primary and / or the secondary.
    void serve(bool primary, bool secondary);

    /// @brief hot-standby or load-balancing, this relationship's normal state.
    HaState normalState() const {
        return (config_.loadBalancing() ? HaState::LOAD_BALANCING : HaState::HOT_STANDBY);
    }

    /// @brief The scope of @c query (0: the primary's, 1: the secondary's), -1 for a
    /// load-balanced query without an identifier to hash (dropped, as libdhcp_ha).
    int scopeOf(const dhcp::Pkt4Ptr& query) const;
    int scopeOf(const dhcp::Pkt6Ptr& query) const;

    /// @brief communication-recovery: sends the backlog to the partner, waiting (v4 one
    /// update at a time, stopping at the first failure; v6 one lease6-bulk-apply).
    bool sendBacklog();
    /// @brief ha-reset to the partner, waited for: true if it took it.
    bool sendReset();
    /// @brief Sends @c body to the partner and waits for Kea's answer: its result code
    /// and text (CONTROL_RESULT_ERROR and the reason when there is none).
    int askPartner(const std::string& body, std::string& text);
    void clearBacklog();

    /// @brief libdhcp_ha's shouldPartnerDown / isCommunicationInterrupted /
    /// failureDetected / shouldTerminate.
    bool shouldPartnerDown();
    /// @brief The partner is unavailable: partner-down if @c shouldPartnerDown, else stay.
    void partnerDownOrNop();
    bool communicationInterrupted() const;
    bool failureDetected() const;
    bool shouldTerminate();
    bool partnerStateInvalid() const;

    void scheduleHeartbeat();
    void stopHeartbeat();
    void sendHeartbeat();
    void onHeartbeat(hamux_status status, const std::string& body, bool notified);
    /// @brief Parses a heartbeat answer into the partner's state, time and unsent
    /// count. @throw on anything libdhcp_ha refuses.
    void readHeartbeat(const std::string& body);
    /// @brief A successful heartbeat (CommunicationState::poke).
    void poke();

    void startSync();
    void onSyncDone(const std::string& error);

    /// @brief Sends @c body to the partner; @c done runs on the main thread, only while
    /// this service is alive and running, with Kea's answer (list[0]) or null.
    void sendToPartner(const std::string& body, LeaseSync::Answered done);

    /// @brief Sends @c body to the partner; @c on_main runs on the main thread with
    /// hamux's outcome (a refused send is a failure there too, never here).
    void sendRaw(const std::string& body, ControlAnswered on_main);

    /// @brief Records an unacked client (traffic analysis), under @c analysis_mutex_.
    void analyze(std::vector<uint8_t> key, bool unacked);

    std::string command(const std::string& name) const;

    const RelationshipConfig& config_;
    bool v6_;
    dhcp::NetworkStatePtr network_state_;
    MainThreadQueue& main_;
    ServiceGatePtr gate_;
    size_t member_;
    ControlSender send_;
    ControlWaiter wait_;
    /// @brief The failover partner; null on a backup (which only receives).
    const PeerConfig* partner_;
    std::string primary_name_;
    /// @brief load-balancing only.
    std::string secondary_name_;
    bool running_ = false;

    HaState state_ = HaState::WAITING;
    HaState prev_state_ = HaState::WAITING;
    bool on_entry_ = false;
    /// @brief StateModel's paused_, and the states paused in once (State::was_paused_).
    bool paused_ = false;
    std::set<HaState> paused_once_;
    Event next_event_ = NOP;
    Event last_event_ = NOP;
    /// @brief dhcp-disable sent by command (no network state) and not undone.
    bool disabled_by_command_ = false;

    HaState partner_state_ = HaState::UNKNOWN;
    /// @brief Seconds the partner's clock is ahead of ours (heartbeat date-time).
    int64_t clock_skew_s_ = 0;
    std::chrono::steady_clock::time_point last_skew_warning_;
    bool skew_warned_ = false;
    /// @brief The partner's last two unsent-update-count values (older, newer).
    int64_t partner_unsent_[2] = {0, 0};
    /// @brief The scopes the partner's last heartbeat answer listed.
    std::vector<std::string> partner_scopes_;
    bool sync_complete_notified_ = false;

    MainThreadTimer heartbeat_timer_;
    /// @brief A partner's dhcp-disable's max-period (with a gate).
    MainThreadTimer partner_disable_timer_;
    bool heartbeat_running_ = false;
    bool heartbeat_in_flight_ = false;

    std::unique_ptr<LeaseSync> sync_;
    bool sync_running_ = false;

    /// @brief Last successful heartbeat (steady clock, ns), read by packet threads.
    std::atomic<int64_t> poke_ns_;
    /// @brief Whether this server answers the primary's scope (the one scope of
    /// hot-standby), read by packet threads.
    std::atomic<bool> serving_{false};
    /// @brief load-balancing: the secondary's scope.
    std::atomic<bool> serving_secondary_{false};
    std::atomic<bool> sends_to_partner_{false};
    std::atomic<bool> queues_for_partner_{false};

    /// @brief communication-recovery's updates for the partner, in commit order.
    std::mutex backlog_mutex_;
    std::deque<std::pair<bool, dhcp::LeasePtr> > backlog_;
    bool backlog_overflown_ = false;
    std::atomic<int64_t> unsent_{0};

    /// @brief Clients seen while communication is interrupted: key -> unacked.
    mutable std::mutex analysis_mutex_;
    std::map<std::vector<uint8_t>, bool> clients_;
    size_t unacked_ = 0;
    uint64_t analyzed_ = 0;

    /// @brief A copy of what heartbeats report, for other threads.
    mutable std::mutex report_mutex_;
    std::string report_state_ = "waiting";
    std::vector<std::string> report_scopes_;

    uint64_t heartbeats_sent_ = 0;
    uint64_t heartbeats_failed_ = 0;
    uint64_t syncs_ = 0;
    uint64_t syncs_failed_ = 0;
};

typedef std::shared_ptr<HaService> HaServicePtr;

} // namespace hamux
} // namespace isc

#endif // HAMUX_HA_SERVICE_H
