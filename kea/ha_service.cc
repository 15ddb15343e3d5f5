// Copyright (C) 2026 The hamux authors. MPL-2.0.
//
// libdhcp_ha 2.2's state machine (src/hooks/dhcp/high_availability/ha_service.cc,
// communication_state.cc, query_filter.cc at Kea-2.2.0) for hot-standby: each handler
// below is the one of the same name there, in the same order of checks.

#include <ha_service.h>
#include <hamux_log.h>
#include <hamux_stats.h>
#include <http_date.h>
#include <hamux_json.h>
#include <json_writer.h>
#include <lease_commands.h>
#include <load_balance_hash.h>

#include <cc/command_interpreter.h>
#include <dhcp/dhcp4.h>
#include <dhcp/dhcp6.h>
#include <dhcp/option_int.h>

#include <algorithm>
#include <cctype>
#include <ctime>

using namespace isc::config;
using namespace isc::data;
using namespace isc::dhcp;

namespace isc {
namespace hamux {

namespace {

/// @brief libdhcp_ha's clock skew limits (communication_state.cc).
const int64_t WARN_CLOCK_SKEW_S = 30;
const int64_t TERM_CLOCK_SKEW_S = 60;
const auto MIN_TIME_SINCE_CLOCK_SKEW_WARN = std::chrono::seconds(60);

struct StateNameEntry {
    HaState state;
    const char* name;
};

const StateNameEntry STATE_NAMES[] = {
    {HaState::BACKUP, "backup"},
    {HaState::COMMUNICATION_RECOVERY, "communication-recovery"},
    {HaState::HOT_STANDBY, "hot-standby"},
    {HaState::LOAD_BALANCING, "load-balancing"},
    {HaState::IN_MAINTENANCE, "in-maintenance"},
    {HaState::PARTNER_DOWN, "partner-down"},
    {HaState::PARTNER_IN_MAINTENANCE, "partner-in-maintenance"},
    {HaState::PASSIVE_BACKUP, "passive-backup"},
    {HaState::READY, "ready"},
    {HaState::SYNCING, "syncing"},
    {HaState::TERMINATED, "terminated"},
    {HaState::WAITING, "waiting"},
    {HaState::UNAVAILABLE, "unavailable"},
};

int64_t
steadyNs() {
    return (std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now().time_since_epoch()).count());
}

std::string
upper(const char* name) {
    std::string text(name);
    for (auto& c : text) {
        c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
    }
    return (text);
}

/// @brief libdhcp_ha's QueryFilter::isHaType.
bool
isHaType(const Pkt4Ptr& query) {
    switch (query->getType()) {
    case DHCPDISCOVER:
    case DHCPREQUEST:
    case DHCPDECLINE:
    case DHCPRELEASE:
    case DHCPINFORM:
        return (true);
    default:
        return (false);
    }
}

bool
isHaType(const Pkt6Ptr& query) {
    switch (query->getType()) {
    case DHCPV6_SOLICIT:
    case DHCPV6_REQUEST:
    case DHCPV6_CONFIRM:
    case DHCPV6_RENEW:
    case DHCPV6_REBIND:
    case DHCPV6_RELEASE:
    case DHCPV6_DECLINE:
        return (true);
    default:
        return (false);
    }
}

} // namespace

const char*
stateName(HaState state) {
    for (auto const& entry : STATE_NAMES) {
        if (entry.state == state) {
            return (entry.name);
        }
    }
    return ("");
}

HaState
stateFromName(const std::string& name) {
    for (auto const& entry : STATE_NAMES) {
        if (name == entry.name) {
            return (entry.state);
        }
    }
    isc_throw(BadValue, "unknown state " << name);
}

HaService::HaService(const RelationshipConfig& config, bool v6,
                     const NetworkStatePtr& network_state, MainThreadQueue& main,
                     const ServiceGatePtr& gate, size_t member)
    : config_(config), v6_(v6), network_state_(network_state), main_(main), gate_(gate),
      member_(member),
      partner_(config.failoverPeer()), poke_ns_(steadyNs()) {
    for (auto const& peer : config.peers) {
        if (peer.role == "primary") {
            primary_name_ = peer.name;
        } else if (peer.role == "secondary") {
            secondary_name_ = peer.name;
        }
    }
}

HaService::~HaService() {
    stop();
}

void
HaService::start(ControlSender send, ControlWaiter wait) {
    send_ = std::move(send);
    wait_ = std::move(wait);
    running_ = true;
    poke_ns_ = steadyNs();  // as CommunicationState's poke_time_ at construction
    // As HAService's constructor: what HA disabled is cleared, then the model starts
    // (with a gate, once for all its relationships, before they start).
    if (network_state_ && !gate_) {
        network_state_->reset(NetworkState::Origin::HA_COMMAND);
    }
    state_ = HaState::WAITING;
    prev_state_ = HaState::WAITING;
    on_entry_ = true;
    pauseOnEntry();  // StateModel::startModel's setState
    runModel(START);
}

void
HaService::stop() {
    running_ = false;
    heartbeat_timer_.cancel();
    partner_disable_timer_.cancel();
    heartbeat_running_ = false;
    sync_.reset();
    sync_running_ = false;
    if (gate_) {
        // Undone the way it was done, as below: only after libreload.
        if (!network_state_) {
            try {
                gate_->wantRemote(member_, true);
                gate_->want(member_, true);
            } catch (...) {
            }
        }
    } else if (disabled_by_command_) {
        // Undone the way it was done (libreload: no network state).
        try {
            setService(true);
        } catch (...) {
            disabled_by_command_ = false;
        }
    }
}

std::string
HaService::command(const std::string& name) const {
    ElementPtr command = Element::createMap();
    command->set("command", Element::create(name));
    ElementPtr service = Element::createList();
    service->add(Element::create(v6_ ? "dhcp6" : "dhcp4"));
    command->set("service", service);
    if (name == "ha-heartbeat") {
        // libdhcp_ha 2.5.5+ sends its name, so a partner with several relationships
        // answers for this one; 2.2 ignores arguments of ha-heartbeat.
        ElementPtr arguments = Element::createMap();
        arguments->set("server-name", Element::create(config_.this_server_name));
        command->set("arguments", arguments);
    }
    return (toJson(command));
}

// ---- the model

void
HaService::postNextEvent(Event event) {
    last_event_ = next_event_;
    next_event_ = event;
}

void
HaService::runModel(Event event) {
    if (!running_) {
        return;
    }
    postNextEvent(event);
    // Kea's StateModel::runModel: the current state's handler at least once, then again
    // after every transition (which keeps the event), until one posts NOP.
    int guard = 0;
    do {
        switch (state_) {
        case HaState::WAITING:
            waitingHandler();
            break;
        case HaState::SYNCING:
            syncingHandler();
            break;
        case HaState::READY:
            readyHandler();
            break;
        case HaState::HOT_STANDBY:
        case HaState::LOAD_BALANCING:
            normalHandler();
            break;
        case HaState::COMMUNICATION_RECOVERY:
            communicationRecoveryHandler();
            break;
        case HaState::PARTNER_DOWN:
            partnerDownHandler();
            break;
        case HaState::PARTNER_IN_MAINTENANCE:
            partnerInMaintenanceHandler();
            break;
        case HaState::IN_MAINTENANCE:
            inMaintenanceHandler();
            break;
        case HaState::TERMINATED:
            terminatedHandler();
            break;
        case HaState::BACKUP:
            backupHandler();
            break;
        default:
            postNop();
            break;
        }
    } while (running_ && next_event_ != NOP && ++guard < 100);
}

void
HaService::transition(HaState state) {
    LOG_INFO(hamux_logger, HAMUX_STATE_TRANSITION).arg(config_.this_server_name)
        .arg(upper(stateName(state_))).arg(upper(stateName(state)))
        .arg(partner_state_ == HaState::UNKNOWN ? "UNKNOWN"
             : upper(stateName(partner_state_)));
    prev_state_ = state_;
    state_ = state;
    on_entry_ = prev_state_ != state_;
    pauseOnEntry();
    postNextEvent(next_event_);  // Kea's transition(state, getNextEvent())
    // The partner's updates go out only in these (libdhcp_ha's shouldSendLeaseUpdates).
    sends_to_partner_ = config_.send_lease_updates && partner_ &&
                        (state == HaState::HOT_STANDBY || state == HaState::LOAD_BALANCING ||
                         state == HaState::PARTNER_IN_MAINTENANCE);
    queues_for_partner_ = config_.send_lease_updates && partner_ &&
                          state == HaState::COMMUNICATION_RECOVERY;
    if (prev_state_ == HaState::COMMUNICATION_RECOVERY && state != prev_state_) {
        clearBacklog();  // libdhcp_ha clears it on the way out (and in)
    }
    std::lock_guard<std::mutex> lock(report_mutex_);
    report_state_ = stateName(state);
}

void
HaService::partnerDownOrNop() {
    if (shouldPartnerDown()) {
        transition(HaState::PARTNER_DOWN);
    } else {
        postNop();
    }
}

void
HaService::pauseOnEntry() {
    if (!on_entry_ || paused_) {
        return;
    }
    auto found = config_.failover.pausing.find(stateName(state_));
    StatePausing pausing = found == config_.failover.pausing.end() ? StatePausing::NEVER
                                                                   : found->second;
    if (pausing == StatePausing::ALWAYS ||
        (pausing == StatePausing::ONCE && paused_once_.insert(state_).second)) {
        paused_ = true;
    }
}

void
HaService::logPaused() const {
    if (paused_) {
        LOG_INFO(hamux_logger, HAMUX_STATE_MACHINE_PAUSED).arg(config_.this_server_name)
            .arg(upper(stateName(state_)));
    }
}

bool
HaService::holding() {
    if (last_event_ == MAINTENANCE_CANCEL || paused_) {
        // Back in the state maintenance interrupted, or paused: entry actions only.
        postNop();
        return (true);
    }
    return (false);
}

bool
HaService::doOnEntry() {
    bool entry = on_entry_;
    on_entry_ = false;
    return (entry);
}

bool
HaService::commonChecks(bool invalid_goes_waiting) {
    if (holding()) {
        return (true);
    }
    if (shouldTerminate()) {
        transition(HaState::TERMINATED);
        return (true);
    }
    if (partnerStateInvalid()) {
        if (invalid_goes_waiting) {
            transition(HaState::WAITING);
        } else {
            postNop();
        }
        return (true);
    }
    return (false);
}

void
HaService::waitingHandler() {
    if (doOnEntry()) {
        serveNoScopes();
        adjustNetworkState();
        logPaused();
    }
    scheduleHeartbeat();  // not on a backup (no partner)
    if (holding()) {
        return;
    }
    if (!partner_) {
        transition(HaState::BACKUP);
        return;
    }
    if (commonChecks(false)) {
        return;
    }
    HaState next = config_.failover.sync_leases ? HaState::SYNCING : HaState::READY;
    switch (partner_state_) {
    case HaState::COMMUNICATION_RECOVERY:
    case HaState::HOT_STANDBY:
    case HaState::LOAD_BALANCING:
    case HaState::IN_MAINTENANCE:
    case HaState::PARTNER_DOWN:
    case HaState::PARTNER_IN_MAINTENANCE:
    case HaState::READY:
        transition(next);
        return;
    case HaState::TERMINATED:
        LOG_INFO(hamux_logger, HAMUX_TERMINATED_RESTART_PARTNER)
            .arg(config_.this_server_name);
        postNop();
        return;
    case HaState::WAITING:
        if (config_.thisServer().role == "primary") {
            transition(next);
        } else {
            postNop();
        }
        return;
    case HaState::UNAVAILABLE:
        partnerDownOrNop();
        return;
    default:
        postNop();
        return;
    }
}

void
HaService::syncingHandler() {
    if (doOnEntry()) {
        serveNoScopes();
        adjustNetworkState();
        logPaused();
    }
    if (commonChecks(true)) {
        return;
    }
    switch (partner_state_) {
    case HaState::TERMINATED:
        transition(HaState::TERMINATED);
        return;
    case HaState::UNAVAILABLE:
        partnerDownOrNop();
        break;
    default:
        // libdhcp_ha synchronizes here, blocking; this one sends the first request and
        // returns to Kea's loop: onSyncDone runs the model again.
        if (!sync_running_) {
            startSync();
        }
        postNop();
        return;
    }
    scheduleHeartbeat();
}

void
HaService::readyHandler() {
    if (doOnEntry()) {
        serveNoScopes();
        adjustNetworkState();
        logPaused();
    }
    scheduleHeartbeat();
    if (commonChecks(true)) {
        return;
    }
    switch (partner_state_) {
    case HaState::HOT_STANDBY:
    case HaState::LOAD_BALANCING:
    case HaState::COMMUNICATION_RECOVERY:
        transition(normalState());
        return;
    case HaState::IN_MAINTENANCE:
        transition(HaState::PARTNER_IN_MAINTENANCE);
        return;
    case HaState::PARTNER_IN_MAINTENANCE:
        transition(HaState::IN_MAINTENANCE);
        return;
    case HaState::READY:
        if (config_.thisServer().role == "primary") {
            transition(normalState());
        } else {
            postNop();
        }
        return;
    case HaState::TERMINATED:
        transition(HaState::TERMINATED);
        return;
    case HaState::UNAVAILABLE:
        partnerDownOrNop();
        return;
    default:
        postNop();
        return;
    }
}

void
HaService::normalHandler() {
    if (doOnEntry()) {
        serveDefaultScopes();
        adjustNetworkState();
        logPaused();
    }
    scheduleHeartbeat();
    if (commonChecks(true)) {
        return;
    }
    switch (partner_state_) {
    case HaState::IN_MAINTENANCE:
        transition(HaState::PARTNER_IN_MAINTENANCE);
        return;
    case HaState::PARTNER_DOWN:
        transition(HaState::WAITING);
        return;
    case HaState::PARTNER_IN_MAINTENANCE:
        transition(HaState::IN_MAINTENANCE);
        return;
    case HaState::TERMINATED:
        transition(HaState::TERMINATED);
        return;
    case HaState::UNAVAILABLE:
        if (shouldPartnerDown()) {
            transition(HaState::PARTNER_DOWN);
        } else if (config_.failover.delayed_updates_limit > 0) {
            // load-balancing (0 in hot-standby): updates wait for the partner's return.
            transition(HaState::COMMUNICATION_RECOVERY);
        } else {
            postNop();
        }
        return;
    default:
        postNop();
        return;
    }
}

void
HaService::communicationRecoveryHandler() {
    if (doOnEntry()) {
        serveDefaultScopes();
        adjustNetworkState();
        logPaused();
        clearBacklog();
    }
    scheduleHeartbeat();
    if (commonChecks(true)) {
        return;
    }
    switch (partner_state_) {
    case HaState::IN_MAINTENANCE:
        transition(HaState::PARTNER_IN_MAINTENANCE);
        return;
    case HaState::PARTNER_DOWN:
        transition(HaState::WAITING);
        return;
    case HaState::PARTNER_IN_MAINTENANCE:
        transition(HaState::IN_MAINTENANCE);
        return;
    case HaState::TERMINATED:
        transition(HaState::TERMINATED);
        return;
    case HaState::UNAVAILABLE:
        partnerDownOrNop();
        return;
    case HaState::WAITING:
    case HaState::SYNCING:
    case HaState::READY: {
        // The partner restarted and will sync: the backlog is moot unless it
        // overflowed, in which case both start over.
        bool overflown;
        {
            std::lock_guard<std::mutex> lock(backlog_mutex_);
            overflown = backlog_overflown_;
        }
        if (!communicationInterrupted() && overflown) {
            transition(HaState::WAITING);
        } else {
            postNop();
        }
        return;
    }
    default:
        break;
    }
    if (communicationInterrupted()) {
        postNop();
        return;
    }
    if (partner_state_ != HaState::LOAD_BALANCING &&
        partner_state_ != HaState::COMMUNICATION_RECOVERY) {
        transition(HaState::WAITING);
        return;
    }
    bool overflown;
    {
        std::lock_guard<std::mutex> lock(backlog_mutex_);
        overflown = backlog_overflown_;
    }
    if (overflown || !sendBacklog()) {
        // Too much was lost for the partner: it resynchronizes, and so do we. If it
        // does not take the reset, stay (libdhcp_ha would retry at once, forever).
        if (sendReset()) {
            transition(HaState::WAITING);
        } else {
            postNop();
        }
        return;
    }
    transition(HaState::LOAD_BALANCING);
}

void
HaService::partnerDownHandler() {
    if (doOnEntry()) {
        if (last_event_ == MAINTENANCE_START || config_.thisServer().auto_failover) {
            serveFailoverScopes();
        } else {
            serveDefaultScopes();
        }
        adjustNetworkState();
        logPaused();
    } else if (last_event_ == SYNCED_PARTNER_UNAVAILABLE) {
        // The partner disabled our service for its sync, then vanished: serve again.
        adjustNetworkState();
    }
    scheduleHeartbeat();
    if (commonChecks(true)) {
        return;
    }
    switch (partner_state_) {
    case HaState::COMMUNICATION_RECOVERY:
    case HaState::PARTNER_DOWN:
    case HaState::PARTNER_IN_MAINTENANCE:
        transition(HaState::WAITING);
        return;
    case HaState::READY: {
        // CommunicationState::hasPartnerNewUnsentUpdates.
        bool unsent = partner_unsent_[1] > 0 && partner_unsent_[0] != partner_unsent_[1];
        transition(unsent ? HaState::WAITING : normalState());
        return;
    }
    case HaState::TERMINATED:
        transition(HaState::TERMINATED);
        return;
    default:
        postNop();
        return;
    }
}

void
HaService::partnerInMaintenanceHandler() {
    if (doOnEntry()) {
        serveFailoverScopes();
        adjustNetworkState();
        logPaused();
    }
    scheduleHeartbeat();
    if (paused_) {
        postNop();
        return;
    }
    if (shouldTerminate()) {
        transition(HaState::TERMINATED);
        return;
    }
    if (partner_state_ == HaState::UNAVAILABLE) {
        transition(HaState::PARTNER_DOWN);
        return;
    }
    postNop();
}

void
HaService::inMaintenanceHandler() {
    if (doOnEntry()) {
        serveNoScopes();
        adjustNetworkState();
        logPaused();
    }
    scheduleHeartbeat();
    postNop();
}

void
HaService::terminatedHandler() {
    if (doOnEntry()) {
        serveDefaultScopes();
        adjustNetworkState();
        stopHeartbeat();
        logPaused();
        LOG_ERROR(hamux_logger, HAMUX_TERMINATED).arg(config_.this_server_name);
    }
    postNop();
}

void
HaService::backupHandler() {
    if (doOnEntry()) {
        serveNoScopes();
        adjustNetworkState();
        logPaused();
    }
    postNop();
}

// ---- service and scopes

void
HaService::adjustNetworkState() {
    bool enable = state_ == HaState::HOT_STANDBY || state_ == HaState::LOAD_BALANCING ||
                  state_ == HaState::COMMUNICATION_RECOVERY || state_ == HaState::PARTNER_DOWN ||
                  state_ == HaState::PARTNER_IN_MAINTENANCE ||
                  state_ == HaState::TERMINATED;
    if (enable != serviceEnabled()) {
        setService(enable);
    } else if (gate_) {
        gate_->want(member_, enable);  // the other relationships' wishes may have changed
    }
}

bool
HaService::serviceEnabled() const {
    if (gate_) {
        return (gate_->wants(member_));
    }
    if (network_state_) {
        return (network_state_->isServiceEnabled());
    }
    return (!disabled_by_command_);
}

void
HaService::setService(bool enabled) {
    if (enabled) {
        LOG_INFO(hamux_logger, HAMUX_LOCAL_DHCP_ENABLE).arg(config_.this_server_name)
            .arg(stateName(state_));
    } else {
        LOG_INFO(hamux_logger, HAMUX_LOCAL_DHCP_DISABLE_STATE).arg(config_.this_server_name)
            .arg(stateName(state_));
    }
    if (gate_) {
        gate_->want(member_, enabled);
        return;
    }
    ServiceGate::switchService(network_state_, enabled);
    if (!network_state_) {
        disabled_by_command_ = !enabled;
    }
}

void
HaService::serve(bool primary, bool secondary) {
    serving_ = primary;
    serving_secondary_ = secondary && !secondary_name_.empty();
    std::lock_guard<std::mutex> lock(report_mutex_);
    report_scopes_.clear();
    if (primary) {
        report_scopes_.push_back(primary_name_);
    }
    if (serving_secondary_) {
        report_scopes_.push_back(secondary_name_);
    }
    // As libdhcp_ha's std::set of names: in name order.
    std::sort(report_scopes_.begin(), report_scopes_.end());
}

void
HaService::serveNoScopes() {
    serve(false, false);
}

void
HaService::serveDefaultScopes() {
    // A primary or secondary serves its own scope; a standby or backup none.
    const std::string& role = config_.thisServer().role;
    serve(role == "primary", role == "secondary");
}

void
HaService::serveFailoverScopes() {
    serve(true, true);
}

bool
HaService::inScope(const Pkt4Ptr& query) {
    if (!isHaType(query)) {
        query->addClass("HA_" + primary_name_);
        return (true);
    }
    int scope = scopeOf(query);
    if (scope < 0) {
        return (false);  // no identifier to balance by
    }
    query->addClass("HA_" + (scope == 0 ? primary_name_ : secondary_name_));
    bool in = (scope == 0 ? serving_ : serving_secondary_).load();
    if (!in && communicationInterrupted()) {
        // CommunicationState4::analyzeMessage: secs (byte-swapped by some clients).
        uint16_t secs = query->getSecs();
        if (secs > 255 && (secs & 0xFF) == 0) {
            secs = static_cast<uint16_t>((secs >> 8) | (secs << 8));
        }
        bool unacked = static_cast<uint64_t>(secs) * 1000 > config_.failover.max_ack_delay_ms;
        std::vector<uint8_t> key;
        HWAddrPtr hw = query->getHWAddr();
        if (hw) {
            key = hw->hwaddr_;
        }
        key.push_back(0xff);  // separates the hardware address from the client id
        OptionPtr client_id = query->getOption(DHO_DHCP_CLIENT_IDENTIFIER);
        if (client_id) {
            const OptionBuffer& data = client_id->getData();
            key.insert(key.end(), data.begin(), data.end());
        }
        analyze(std::move(key), unacked);
    }
    return (in);
}

bool
HaService::inScope(const Pkt6Ptr& query) {
    if (!isHaType(query)) {
        query->addClass("HA_" + primary_name_);
        return (true);
    }
    int scope = scopeOf(query);
    if (scope < 0) {
        return (false);
    }
    query->addClass("HA_" + (scope == 0 ? primary_name_ : secondary_name_));
    bool in = (scope == 0 ? serving_ : serving_secondary_).load();
    if (!in && communicationInterrupted()) {
        // CommunicationState6::analyzeMessage: elapsed time in 1/100 s, by DUID.
        bool unacked = false;
        OptionPtr elapsed = query->getOption(D6O_ELAPSED_TIME);
        if (elapsed && elapsed->getData().size() >= 2) {
            const OptionBuffer& data = elapsed->getData();
            uint64_t centis = (static_cast<uint64_t>(data[0]) << 8) | data[1];
            unacked = centis * 10 > config_.failover.max_ack_delay_ms;
        }
        OptionPtr duid = query->getOption(D6O_CLIENTID);
        if (!duid) {
            std::lock_guard<std::mutex> lock(analysis_mutex_);
            ++analyzed_;
            return (in);
        }
        const OptionBuffer& data = duid->getData();
        analyze(std::vector<uint8_t>(data.begin(), data.end()), unacked);
    }
    return (in);
}

int
HaService::scopeOf(const Pkt4Ptr& query) const {
    if (!config_.loadBalancing()) {
        return (0);
    }
    // QueryFilter::loadBalance: the client identifier, else the hardware address.
    OptionPtr client_id = query->getOption(DHO_DHCP_CLIENT_IDENTIFIER);
    if (client_id && !client_id->getData().empty()) {
        const OptionBuffer& data = client_id->getData();
        return (loadBalanceHash(data.data(), data.size()) % 2);
    }
    HWAddrPtr hw = query->getHWAddr();
    if (hw && !hw->hwaddr_.empty()) {
        return (loadBalanceHash(hw->hwaddr_.data(), hw->hwaddr_.size()) % 2);
    }
    LOG_DEBUG(hamux_logger, DBGLVL_HAMUX_PACKET, HAMUX_LOAD_BALANCING_NO_IDENTIFIER)
        .arg(query->getLabel());
    return (-1);
}

int
HaService::scopeOf(const Pkt6Ptr& query) const {
    if (!config_.loadBalancing()) {
        return (0);
    }
    OptionPtr duid = query->getOption(D6O_CLIENTID);
    if (duid && !duid->getData().empty()) {
        const OptionBuffer& data = duid->getData();
        return (loadBalanceHash(data.data(), data.size()) % 2);
    }
    LOG_DEBUG(hamux_logger, DBGLVL_HAMUX_PACKET, HAMUX_LOAD_BALANCING_NO_IDENTIFIER)
        .arg(query->getLabel());
    return (-1);
}

void
HaService::analyze(std::vector<uint8_t> key, bool unacked) {
    std::lock_guard<std::mutex> lock(analysis_mutex_);
    ++analyzed_;
    auto found = clients_.find(key);
    if (found == clients_.end()) {
        clients_.emplace(std::move(key), unacked);
        unacked_ += unacked ? 1 : 0;
    } else if (!found->second && unacked) {
        found->second = true;
        ++unacked_;
    }
}

// ---- failure detection

bool
HaService::communicationInterrupted() const {
    int64_t since = steadyNs() - poke_ns_.load();
    return (since / 1000000 > static_cast<int64_t>(config_.failover.max_response_delay_ms));
}

bool
HaService::failureDetected() const {
    std::lock_guard<std::mutex> lock(analysis_mutex_);
    return (config_.failover.max_unacked_clients == 0 ||
            unacked_ > config_.failover.max_unacked_clients);
}

bool
HaService::shouldPartnerDown() {
    if (!communicationInterrupted()) {
        return (false);
    }
    // A standby that serves DHCP waits for clients to go unanswered; a primary, or a
    // server whose service is off, needs nothing more.
    if (serviceEnabled() &&
        (config_.loadBalancing() || config_.thisServer().role == "standby")) {
        return (failureDetected());
    }
    return (true);
}

bool
HaService::shouldTerminate() {
    int64_t skew = clock_skew_s_ < 0 ? -clock_skew_s_ : clock_skew_s_;
    if (skew > TERM_CLOCK_SKEW_S) {
        LOG_ERROR(hamux_logger, HAMUX_HIGH_CLOCK_SKEW_TERMINATION)
            .arg(config_.this_server_name).arg(clock_skew_s_);
        return (true);
    }
    if (skew > WARN_CLOCK_SKEW_S) {
        auto now = std::chrono::steady_clock::now();
        if (!skew_warned_ || now - last_skew_warning_ > MIN_TIME_SINCE_CLOCK_SKEW_WARN) {
            skew_warned_ = true;
            last_skew_warning_ = now;
            LOG_WARN(hamux_logger, HAMUX_HIGH_CLOCK_SKEW).arg(config_.this_server_name)
                .arg(clock_skew_s_);
        }
    }
    return (false);
}

bool
HaService::partnerStateInvalid() const {
    // A partner in the other mode's state is configured otherwise.
    bool invalid = config_.loadBalancing()
                   ? partner_state_ == HaState::HOT_STANDBY
                   : (partner_state_ == HaState::COMMUNICATION_RECOVERY ||
                      partner_state_ == HaState::LOAD_BALANCING);
    if (invalid) {
        LOG_WARN(hamux_logger, HAMUX_INVALID_PARTNER_STATE).arg(config_.this_server_name)
            .arg(stateName(partner_state_)).arg(config_.mode);
        return (true);
    }
    return (false);
}

// ---- heartbeats

void
HaService::scheduleHeartbeat() {
    if (heartbeat_running_ || config_.failover.heartbeat_delay_ms == 0 || !partner_) {
        return;
    }
    heartbeat_running_ = true;
    if (!heartbeat_in_flight_) {
        std::weak_ptr<HaService> weak = shared_from_this();
        heartbeat_timer_.schedule(config_.failover.heartbeat_delay_ms, [weak]() {
            if (auto self = weak.lock()) {
                self->sendHeartbeat();
            }
        });
    }
}

void
HaService::stopHeartbeat() {
    heartbeat_running_ = false;
    heartbeat_timer_.cancel();
}

void
HaService::sendHeartbeat() {
    if (!running_ || !heartbeat_running_) {
        return;
    }
    bool notified = sync_complete_notified_;
    sync_complete_notified_ = false;
    heartbeat_in_flight_ = true;
    ++heartbeats_sent_;
    std::weak_ptr<HaService> weak = shared_from_this();
    sendRaw(command("ha-heartbeat"), [weak, notified](hamux_status status,
                                                      const std::string& body) {
        if (auto self = weak.lock()) {
            self->onHeartbeat(status, body, notified);
        }
    });
}

void
HaService::sendRaw(const std::string& body, ControlAnswered on_main) {
    // The answer comes on a hamux thread (or Kea's, in poll mode): it is handled on the
    // main thread, where the queue outlives this service and the task checks it is
    // still there.
    MainThreadQueue* main = &main_;
    bool sent = send_(*partner_, body, [main, on_main](hamux_status status,
                                                       const std::string& text) {
        main->push([on_main, status, text]() { on_main(status, text); });
    });
    if (!sent) {
        main_.push([on_main]() {
            on_main(HAMUX_E_CONNECT, "the hook's client refused the request");
        });
    }
}

void
HaService::readHeartbeat(const std::string& body) {
    ConstElementPtr answer = keaAnswer(body);
    int result = CONTROL_RESULT_ERROR;
    ConstElementPtr args = parseAnswer(result, answer);
    if (result != CONTROL_RESULT_SUCCESS && result != CONTROL_RESULT_EMPTY) {
        isc_throw(BadValue, (args ? args->str() : std::string("no text")) << ", error code "
                  << result);
    }
    args = answer->get("arguments");
    if (!args || args->getType() != Element::map) {
        isc_throw(BadValue, "arguments in the heartbeat answer are not a map");
    }
    ConstElementPtr state = args->get("state");
    if (!state || state->getType() != Element::string) {
        isc_throw(BadValue, "server state not returned in response to a ha-heartbeat"
                  " command or it is not a string");
    }
    HaState partner_state = stateFromName(state->stringValue());
    ConstElementPtr date = args->get("date-time");
    if (!date || date->getType() != Element::string) {
        isc_throw(BadValue, "date-time not returned in response to a ha-heartbeat"
                  " command or it is not a string");
    }
    int64_t skew = parseHttpDate(date->stringValue()) - static_cast<int64_t>(time(0));
    ConstElementPtr unsent = args->get("unsent-update-count");
    if (unsent && unsent->getType() != Element::integer) {
        isc_throw(BadValue, "unsent-update-count returned in the ha-heartbeat response"
                  " is not a number");
    }
    // Optional; a bad list is ignored, as libdhcp_ha ignores it.
    std::vector<std::string> scopes;
    ConstElementPtr listed = args->get("scopes");
    if (listed && listed->getType() == Element::list) {
        for (size_t i = 0; i < listed->size(); ++i) {
            if (listed->get(i)->getType() == Element::string) {
                scopes.push_back(listed->get(i)->stringValue());
            }
        }
    }
    partner_scopes_.swap(scopes);
    partner_state_ = partner_state;
    clock_skew_s_ = skew;
    if (unsent) {
        partner_unsent_[0] = partner_unsent_[1];
        partner_unsent_[1] = unsent->intValue();
    }
}

void
HaService::onHeartbeat(hamux_status status, const std::string& body, bool notified) {
    heartbeat_in_flight_ = false;
    if (!running_) {
        return;
    }
    bool ok = false;
    std::string why;
    if (status != HAMUX_OK) {
        why = std::string(hamux_status_name(status)) + ": " + body;
    } else {
        try {
            readHeartbeat(body);
            ok = true;
        } catch (const std::exception& ex) {
            why = ex.what();
        }
    }
    if (ok) {
        poke();
    } else {
        ++heartbeats_failed_;
        partner_state_ = HaState::UNAVAILABLE;
        LOG_WARN(hamux_logger, HAMUX_HEARTBEAT_FAILED).arg(config_.this_server_name)
            .arg(partner_->name).arg(why);
        if (communicationInterrupted()) {
            LOG_WARN(hamux_logger, HAMUX_COMMUNICATION_INTERRUPTED)
                .arg(config_.this_server_name).arg(partner_->name)
                .arg(config_.failover.max_response_delay_ms);
        }
    }
    if (heartbeat_running_) {
        std::weak_ptr<HaService> weak = shared_from_this();
        heartbeat_timer_.schedule(config_.failover.heartbeat_delay_ms, [weak]() {
            if (auto self = weak.lock()) {
                self->sendHeartbeat();
            }
        });
    }
    if (notified && !ok) {
        postNextEvent(SYNCED_PARTNER_UNAVAILABLE);
    }
    runModel(HEARTBEAT_COMPLETE);
}

void
HaService::poke() {
    poke_ns_ = steadyNs();
    std::lock_guard<std::mutex> lock(analysis_mutex_);
    clients_.clear();
    unacked_ = 0;
    analyzed_ = 0;
}

// ---- lease updates

void
HaService::countUnsent() {
    // As CommunicationState::increaseUnsentUpdateCount: wraps to 1, never 0.
    int64_t now = unsent_.load();
    while (!unsent_.compare_exchange_weak(now, now == INT64_MAX ? 1 : now + 1)) {
    }
}

void
HaService::partnerUpdateFailed() {
    std::weak_ptr<HaService> weak = shared_from_this();
    main_.push([weak]() {
        if (auto self = weak.lock()) {
            if (self->running_) {
                self->partner_state_ = HaState::UNAVAILABLE;
                self->runModel(LEASE_UPDATES_COMPLETE);
            }
        }
    });
}

// ---- communication-recovery

void
HaService::queue(bool add, const LeasePtr& lease) {
    std::lock_guard<std::mutex> lock(backlog_mutex_);
    // LeaseUpdateBacklog::push: past the limit nothing more is kept.
    if (backlog_.size() >= config_.failover.delayed_updates_limit) {
        backlog_overflown_ = true;
        return;
    }
    backlog_.push_back(std::make_pair(add, lease));
}

void
HaService::clearBacklog() {
    std::lock_guard<std::mutex> lock(backlog_mutex_);
    backlog_.clear();
    backlog_overflown_ = false;
}

bool
HaService::sendBacklog() {
    std::deque<std::pair<bool, LeasePtr> > pending;
    {
        std::lock_guard<std::mutex> lock(backlog_mutex_);
        pending.swap(backlog_);
    }
    if (pending.empty()) {
        return (true);
    }
    LOG_INFO(hamux_logger, HAMUX_BACKLOG_SENDING).arg(config_.this_server_name)
        .arg(pending.size()).arg(partner_->name);
    auto accepted = [this](const std::string& body) {
        std::string text;
        int rcode = askPartner(body, text);
        if (rcode != CONTROL_RESULT_SUCCESS && rcode != CONTROL_RESULT_EMPTY) {
            LOG_WARN(hamux_logger, HAMUX_BACKLOG_FAILED).arg(config_.this_server_name)
                .arg(partner_->name).arg(text);
            return (false);
        }
        return (true);
    };
    if (v6_) {
        // One lease6-bulk-apply with the whole backlog, as libdhcp_ha.
        Lease6Collection deleted, leases;
        for (auto const& entry : pending) {
            Lease6Ptr lease = boost::dynamic_pointer_cast<Lease6>(entry.second);
            (entry.first ? leases : deleted).push_back(lease);
        }
        return (accepted(lease6BulkApply(deleted, leases)));
    }
    // In commit order, one at a time; the first failure ends it.
    for (auto const& entry : pending) {
        Lease4Ptr lease = boost::dynamic_pointer_cast<Lease4>(entry.second);
        if (!accepted(lease4Command(entry.first ? "lease4-update" : "lease4-del", lease))) {
            return (false);
        }
    }
    return (true);
}

bool
HaService::sendReset() {
    std::string text;
    int rcode = askPartner(command("ha-reset"), text);
    bool ok = rcode == CONTROL_RESULT_SUCCESS || rcode == CONTROL_RESULT_EMPTY;
    if (!ok) {
        LOG_WARN(hamux_logger, HAMUX_RESET_FAILED).arg(config_.this_server_name)
            .arg(partner_->name).arg(text);
    }
    return (ok);
}

int
HaService::askPartner(const std::string& body, std::string& text) {
    std::string answer;
    hamux_status status = wait_(*partner_, body, answer);
    if (status != HAMUX_OK) {
        text = std::string(hamux_status_name(status)) + ": " + answer;
        return (CONTROL_RESULT_ERROR);
    }
    try {
        return (answerResult(keaAnswer(answer), text));
    } catch (const std::exception& ex) {
        text = ex.what();
        return (CONTROL_RESULT_ERROR);
    }
}

// ---- lease sync

void
HaService::sendToPartner(const std::string& body, LeaseSync::Answered done) {
    std::weak_ptr<HaService> weak = shared_from_this();
    sendRaw(body, [weak, done](hamux_status status, const std::string& text) {
        auto self = weak.lock();
        if (!self || !self->running_) {
            return;
        }
        LeaseSync::deliver(status, text, done);
    });
}

void
HaService::startSync() {
    stopHeartbeat();
    sync_running_ = true;
    ++syncs_;
    std::weak_ptr<HaService> weak = shared_from_this();
    uint32_t max_period = std::max<uint32_t>(1, config_.failover.sync_timeout_ms / 1000);
    sync_.reset(new LeaseSync(
        v6_, partner_->name, config_.failover.sync_page_limit, max_period,
        [weak](const std::string& body, LeaseSync::Answered done) {
            if (auto self = weak.lock()) {
                self->sendToPartner(body, done);
            }
        },
        [weak](const std::string& error) {
            if (auto self = weak.lock()) {
                // Not from inside the sync's own call chain: it is destroyed here.
                self->main_.push([weak, error]() {
                    if (auto again = weak.lock()) {
                        again->onSyncDone(error);
                    }
                });
            }
        }));
    sync_->start();
}

void
HaService::onSyncDone(const std::string& error) {
    sync_.reset();
    sync_running_ = false;
    if (!running_ || state_ != HaState::SYNCING) {
        return;
    }
    scheduleHeartbeat();
    if (error.empty()) {
        transition(HaState::READY);
        runModel(SYNCING_SUCCEEDED);
    } else {
        ++syncs_failed_;
        partner_state_ = HaState::UNAVAILABLE;
        runModel(SYNCING_FAILED);
    }
}

} // namespace hamux
} // namespace isc
