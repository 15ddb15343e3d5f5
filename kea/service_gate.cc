// Copyright (C) 2026 The hamux authors. MPL-2.0.

#include <service_gate.h>

#include <cc/command_interpreter.h>
#include <config/command_mgr.h>

#include <algorithm>

using namespace isc::config;
using namespace isc::data;
using namespace isc::dhcp;

namespace isc {
namespace hamux {

ServiceGate::ServiceGate(const NetworkStatePtr& network_state, size_t members)
    : network_state_(network_state), wants_on_(members, true),
      remote_wants_on_(members, true) {
}

void
ServiceGate::reset() {
    std::fill(wants_on_.begin(), wants_on_.end(), true);
    std::fill(remote_wants_on_.begin(), remote_wants_on_.end(), true);
    if (network_state_) {
        network_state_->reset(NetworkState::Origin::HA_COMMAND);
    } else if (disabled_by_command_) {
        apply(true);
    }
}

bool
ServiceGate::allWant() const {
    return (std::find(wants_on_.begin(), wants_on_.end(), false) == wants_on_.end() &&
            std::find(remote_wants_on_.begin(), remote_wants_on_.end(), false) ==
            remote_wants_on_.end());
}

void
ServiceGate::wantRemote(size_t member, bool enabled) {
    remote_wants_on_.at(member) = enabled;
    want(member, wants_on_.at(member));
}

void
ServiceGate::want(size_t member, bool enabled) {
    wants_on_.at(member) = enabled;
    bool on = allWant();
    bool is_on = network_state_ ? network_state_->isServiceEnabled() : !disabled_by_command_;
    if (on != is_on) {
        apply(on);
    }
}

void
ServiceGate::apply(bool enabled) {
    switchService(network_state_, enabled);
    if (!network_state_) {
        disabled_by_command_ = !enabled;
    }
}

void
ServiceGate::switchService(const NetworkStatePtr& network_state, bool enabled) {
    if (network_state) {
        if (enabled) {
            network_state->enableService(NetworkState::Origin::HA_COMMAND);
        } else {
            network_state->disableService(NetworkState::Origin::HA_COMMAND);
        }
        return;
    }
    // libreload gives no network state: Kea's own commands, with the HA origin.
    ElementPtr arguments = Element::createMap();
    arguments->set("origin", Element::create("ha-partner"));
    CommandMgr::instance().processCommand(
        createCommand(enabled ? "dhcp-enable" : "dhcp-disable", arguments));
}

} // namespace hamux
} // namespace isc
