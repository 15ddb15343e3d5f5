// Copyright (C) 2026 The hamux authors. MPL-2.0.
//
// HaService's commands and reports, with libdhcp_ha 2.2's arguments, answers and
// transitions (ha_service.cc's processHeartbeat, processMaintenance*, processScopes,
// processStatusGet, processHAReset, processSyncCompleteNotify, processContinue at
// Kea-2.2.0).

#include <ha_service.h>
#include <hamux_log.h>
#include <http_date.h>
#include <hamux_json.h>
#include <json_writer.h>

#include <cc/command_interpreter.h>

#include <chrono>
#include <sstream>

using namespace isc::config;
using namespace isc::data;
using namespace isc::dhcp;

namespace isc {
namespace hamux {

namespace {

int64_t
steadyNs() {
    return (std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now().time_since_epoch()).count());
}

} // namespace

ConstElementPtr
HaService::heartbeatAnswer() const {
    ElementPtr arguments = Element::createMap();
    ElementPtr scopes = Element::createList();
    {
        std::lock_guard<std::mutex> lock(report_mutex_);
        arguments->set("state", Element::create(report_state_));
        for (auto const& scope : report_scopes_) {
            scopes->add(Element::create(scope));
        }
    }
    arguments->set("date-time", Element::create(httpDate()));
    arguments->set("scopes", scopes);
    arguments->set("unsent-update-count", Element::create(unsent_.load()));
    return (createAnswer(CONTROL_RESULT_SUCCESS, "HA peer status returned.", arguments));
}

ConstElementPtr
HaService::resetCommand() {
    if (state_ == HaState::WAITING) {
        return (createAnswer(CONTROL_RESULT_SUCCESS,
                             "HA state machine already in WAITING state."));
    }
    transition(HaState::WAITING);
    runModel(RESET);
    return (createAnswer(CONTROL_RESULT_SUCCESS, "HA state machine reset."));
}

ConstElementPtr
HaService::partnerServiceCommand(bool enable, int64_t max_period_s) {
    partner_disable_timer_.cancel();
    // Logged when it changes (a partner renews its disable before each page of a sync).
    bool changed = gate_->remoteWants(member_) != enable;
    gate_->wantRemote(member_, enable);
    if (enable) {
        if (changed) {
            LOG_INFO(hamux_logger, HAMUX_PARTNER_DHCP_ENABLE).arg(config_.this_server_name);
        }
        return (createAnswer(CONTROL_RESULT_SUCCESS, "DHCP service successfully enabled"));
    }
    std::ostringstream text;
    text << (v6_ ? "DHCPv6" : "DHCPv4") << " service disabled";
    if (changed) {
        LOG_INFO(hamux_logger, HAMUX_PARTNER_DHCP_DISABLE).arg(config_.this_server_name)
            .arg(max_period_s > 0 ? "for at most " + std::to_string(max_period_s) + " s"
                 : std::string("until it enables it"));
    }
    if (max_period_s > 0) {
        text << " for " << max_period_s << " seconds";
        std::weak_ptr<HaService> weak = shared_from_this();
        partner_disable_timer_.schedule(static_cast<uint32_t>(max_period_s * 1000),
                                        [weak]() {
            if (auto self = weak.lock()) {
                self->gate_->wantRemote(self->member_, true);
            }
        });
    }
    return (createAnswer(CONTROL_RESULT_SUCCESS, text.str()));
}

ConstElementPtr
HaService::syncCompleteNotifyCommand() {
    if (gate_) {
        // As libdhcp_ha 2.5.5+ with its origin per relationship: in partner-down this
        // relationship holds the service itself until the next heartbeat resolves the
        // pair's states (a lease made meanwhile would be missed by the partner); the
        // partner's own hold is released in any state.
        partner_disable_timer_.cancel();
        if (state_ == HaState::PARTNER_DOWN) {
            sync_complete_notified_ = true;
            setService(false);
        }
        if (!gate_->remoteWants(member_)) {
            LOG_INFO(hamux_logger, HAMUX_PARTNER_DHCP_ENABLE).arg(config_.this_server_name);
        }
        gate_->wantRemote(member_, true);
    } else if (state_ == HaState::PARTNER_DOWN) {
        // The next heartbeat decides (libdhcp_ha): if the partner is gone by then, the
        // service its sync disabled is enabled again.
        sync_complete_notified_ = true;
    } else if (network_state_) {
        network_state_->enableService(NetworkState::Origin::HA_COMMAND);
    } else {
        setService(true);
    }
    return (createAnswer(CONTROL_RESULT_SUCCESS,
                         "Server successfully notified about the synchronization"
                         " completion."));
}

ConstElementPtr
HaService::scopesCommand(const ConstElementPtr& args) {
    if (!args) {
        return (createAnswer(CONTROL_RESULT_ERROR, "arguments not found in the 'ha-scopes'"
                             " command"));
    }
    if (args->getType() != Element::map) {
        return (createAnswer(CONTROL_RESULT_ERROR, "arguments in the 'ha-scopes' command"
                             " are not a map"));
    }
    ConstElementPtr scopes = args->get("scopes");
    if (!scopes) {
        return (createAnswer(CONTROL_RESULT_ERROR, "'scopes' is mandatory for the"
                             " 'ha-scopes' command"));
    }
    if (scopes->getType() != Element::list) {
        return (createAnswer(CONTROL_RESULT_ERROR, "'scopes' must be a list in the"
                             " 'ha-scopes' command"));
    }
    std::vector<std::string> names;
    for (size_t i = 0; i < scopes->size(); ++i) {
        ConstElementPtr name = scopes->get(i);
        if (name->getType() != Element::string) {
            return (createAnswer(CONTROL_RESULT_ERROR, "scope name must be a string in"
                                 " the 'scopes' argument"));
        }
        if (!config_.hasServer(name->stringValue())) {
            return (createAnswer(CONTROL_RESULT_ERROR, "invalid server name specified '" +
                                 name->stringValue() + "' while enabling/disabling HA"
                                 " scopes"));
        }
        names.push_back(name->stringValue());
    }
    // Until the next state entry, as in libdhcp_ha. A backup's or standby's name is
    // accepted and serves nothing (no client is in its scope).
    bool primary = false, secondary = false;
    for (auto const& name : names) {
        primary = primary || name == primary_name_;
        secondary = secondary || (!secondary_name_.empty() && name == secondary_name_);
    }
    serve(primary, secondary);
    adjustNetworkState();
    return (createAnswer(CONTROL_RESULT_SUCCESS, "New HA scopes configured."));
}

ConstElementPtr
HaService::maintenanceNotifyCommand(const ConstElementPtr& args) {
    ConstElementPtr cancel = args && args->getType() == Element::map ? args->get("cancel")
                                                                     : ConstElementPtr();
    if (!cancel) {
        return (createAnswer(CONTROL_RESULT_ERROR, "'cancel' is mandatory for the"
                             " 'ha-maintenance-notify' command"));
    }
    if (cancel->getType() != Element::boolean) {
        return (createAnswer(CONTROL_RESULT_ERROR, "'cancel' must be a boolean in the"
                             " 'ha-maintenance-notify' command"));
    }
    if (cancel->boolValue()) {
        if (state_ != HaState::IN_MAINTENANCE) {
            return (createAnswer(CONTROL_RESULT_ERROR, "Unable to cancel the maintenance"
                                 " for the server not in the in-maintenance state."));
        }
        postNextEvent(MAINTENANCE_CANCEL);
        transition(prev_state_);
        runModel(NOP);
        return (createAnswer(CONTROL_RESULT_SUCCESS, "Server maintenance canceled."));
    }
    if (state_ == HaState::BACKUP || state_ == HaState::PARTNER_IN_MAINTENANCE ||
        state_ == HaState::TERMINATED) {
        return (createAnswer(MAINTENANCE_NOT_ALLOWED,
                             std::string("Unable to transition the server from the ") +
                             stateName(state_) + " to in-maintenance state."));
    }
    transition(HaState::IN_MAINTENANCE);
    runModel(MAINTENANCE_NOTIFY);
    return (createAnswer(CONTROL_RESULT_SUCCESS, "Server is in-maintenance state."));
}

ConstElementPtr
HaService::maintenanceStartCommand() {
    if (state_ == HaState::BACKUP || state_ == HaState::IN_MAINTENANCE ||
        state_ == HaState::PARTNER_IN_MAINTENANCE || state_ == HaState::TERMINATED) {
        return (createAnswer(CONTROL_RESULT_ERROR,
                             std::string("Unable to transition the server from the ") +
                             stateName(state_) + " to partner-in-maintenance state."));
    }
    std::string text;
    int rcode = askPartner(maintenanceNotify(false), text);
    if (rcode == CONTROL_RESULT_ERROR) {
        // The partner is unreachable or refused: as if it were down for maintenance.
        postNextEvent(MAINTENANCE_START);
        transition(HaState::PARTNER_DOWN);
        runModel(NOP);
        return (createAnswer(CONTROL_RESULT_SUCCESS, "Server is now in the partner-down"
                             " state as its partner appears to be offline for"
                             " maintenance."));
    }
    if (rcode == CONTROL_RESULT_SUCCESS) {
        postNextEvent(MAINTENANCE_START);
        transition(HaState::PARTNER_IN_MAINTENANCE);
        runModel(NOP);
        return (createAnswer(CONTROL_RESULT_SUCCESS, "Server is now in the"
                             " partner-in-maintenance state and its partner is in-maintenance"
                             " state. The partner can be now safely shut down."));
    }
    return (createAnswer(CONTROL_RESULT_ERROR, "Unable to transition to the"
                         " partner-in-maintenance state. The partner server responded with"
                         " the following message to the ha-maintenance-notify command: " +
                         text + "."));
}

ConstElementPtr
HaService::maintenanceCancelCommand() {
    if (state_ != HaState::PARTNER_IN_MAINTENANCE) {
        return (createAnswer(CONTROL_RESULT_ERROR, "Unable to cancel maintenance request"
                             " because the server is not in the partner-in-maintenance"
                             " state."));
    }
    std::string text;
    int rcode = askPartner(maintenanceNotify(true), text);
    if (rcode != CONTROL_RESULT_SUCCESS) {
        partner_state_ = HaState::UNAVAILABLE;
        return (createAnswer(CONTROL_RESULT_ERROR, "Unable to cancel maintenance. The"
                             " partner server responded with the following message to the"
                             " ha-maintenance-notify command: " + text + "."));
    }
    postNextEvent(MAINTENANCE_CANCEL);
    transition(prev_state_);
    runModel(NOP);
    return (createAnswer(CONTROL_RESULT_SUCCESS, "Server maintenance successfully"
                         " canceled."));
}

std::string
HaService::maintenanceNotify(bool cancel) const {
    ElementPtr command = Element::createMap();
    command->set("command", Element::create("ha-maintenance-notify"));
    ElementPtr arguments = Element::createMap();
    arguments->set("cancel", Element::create(cancel));
    command->set("arguments", arguments);
    ElementPtr service = Element::createList();
    service->add(Element::create(v6_ ? "dhcp6" : "dhcp4"));
    command->set("service", service);
    return (toJson(command));
}

ConstElementPtr
HaService::continueCommand() {
    // processContinue / unpause: the model is not run here; the next event (heartbeat
    // answer, lease update failure, command) moves it on.
    if (paused_) {
        LOG_INFO(hamux_logger, HAMUX_STATE_MACHINE_CONTINUED).arg(config_.this_server_name);
        paused_ = false;
        return (createAnswer(CONTROL_RESULT_SUCCESS, "HA state machine continues."));
    }
    return (createAnswer(CONTROL_RESULT_SUCCESS, "HA state machine is not paused."));
}

ConstElementPtr
HaService::statusGet() const {
    ElementPtr servers = Element::createMap();
    ElementPtr local = Element::createMap();
    local->set("role", Element::create(config_.thisServer().role));
    local->set("state", Element::create(stateName(state_)));
    ElementPtr scopes = Element::createList();
    {
        std::lock_guard<std::mutex> lock(report_mutex_);
        for (auto const& scope : report_scopes_) {
            scopes->add(Element::create(scope));
        }
    }
    local->set("scopes", scopes);
    servers->set("local", local);
    if (!partner_) {
        return (servers);
    }
    ElementPtr remote = Element::createMap();
    bool in_touch = partner_state_ != HaState::UNKNOWN;
    remote->set("in-touch", Element::create(in_touch));
    int64_t age_ms = (steadyNs() - poke_ns_.load()) / 1000000;
    remote->set("age", Element::create(in_touch ? age_ms / 1000 : 0));
    remote->set("last-state", Element::create(stateName(partner_state_)));
    ElementPtr last_scopes = Element::createList();
    for (auto const& scope : partner_scopes_) {
        last_scopes->add(Element::create(scope));
    }
    remote->set("last-scopes", last_scopes);
    bool interrupted = communicationInterrupted();
    remote->set("communication-interrupted", Element::create(interrupted));
    size_t connecting = 0, unacked = 0;
    uint64_t analyzed = 0;
    {
        std::lock_guard<std::mutex> lock(analysis_mutex_);
        connecting = clients_.size();
        unacked = unacked_;
        analyzed = analyzed_;
    }
    remote->set("connecting-clients", Element::create(static_cast<int64_t>(connecting)));
    remote->set("unacked-clients", Element::create(static_cast<int64_t>(unacked)));
    int64_t left = 0;
    if (interrupted && config_.failover.max_unacked_clients >= unacked) {
        left = static_cast<int64_t>(config_.failover.max_unacked_clients - unacked + 1);
    }
    remote->set("unacked-clients-left", Element::create(left));
    remote->set("analyzed-packets", Element::create(static_cast<int64_t>(analyzed)));
    remote->set("role", Element::create(partner_->role));
    servers->set("remote", remote);
    return (servers);
}

ConstElementPtr
HaService::status() const {
    ElementPtr entry = Element::createMap();
    entry->set("this-server-name", Element::create(config_.this_server_name));
    entry->set("mode", Element::create(config_.mode));
    entry->set("role", Element::create(config_.thisServer().role));
    entry->set("state", Element::create(stateName(state_)));
    entry->set("paused", Element::create(paused_));
    entry->set("partner-state", Element::create(stateName(partner_state_)));
    ElementPtr scopes = Element::createList();
    {
        std::lock_guard<std::mutex> lock(report_mutex_);
        for (auto const& scope : report_scopes_) {
            scopes->add(Element::create(scope));
        }
    }
    entry->set("scopes", scopes);
    entry->set("communication-interrupted", Element::create(communicationInterrupted()));
    entry->set("clock-skew", Element::create(clock_skew_s_));
    entry->set("unsent-update-count", Element::create(unsent_.load()));
    {
        std::lock_guard<std::mutex> lock(analysis_mutex_);
        entry->set("unacked-clients", Element::create(static_cast<int64_t>(unacked_)));
        entry->set("analyzed-packets", Element::create(static_cast<int64_t>(analyzed_)));
    }
    entry->set("heartbeats-sent", Element::create(static_cast<int64_t>(heartbeats_sent_)));
    entry->set("heartbeats-failed", Element::create(static_cast<int64_t>(heartbeats_failed_)));
    entry->set("syncs", Element::create(static_cast<int64_t>(syncs_)));
    entry->set("syncs-failed", Element::create(static_cast<int64_t>(syncs_failed_)));
    return (entry);
}

} // namespace hamux
} // namespace isc
