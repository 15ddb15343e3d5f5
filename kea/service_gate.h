// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_SERVICE_GATE_H
#define HAMUX_SERVICE_GATE_H

#include <dhcpsrv/network_state.h>

#include <boost/noncopyable.hpp>
#include <cstddef>
#include <memory>
#include <vector>

namespace isc {
namespace hamux {

/// @brief Kea's DHCP service as several hot-standby relationships of one server share
/// it (hub and spoke): Kea 2.2 serves DHCP, or not, as a whole and has one origin for
/// HA (@c NetworkState::Origin::HA_COMMAND), so the service is on only while every
/// relationship wants it on, as libdhcp_ha 2.5.5+'s one origin per relationship gives.
/// A relationship syncing its leases thus holds the whole server, as there.
///
/// With one relationship there is no gate: its state machine switches the service
/// itself, as libdhcp_ha 2.2 does. Main thread only, as the state machines.
class ServiceGate : public boost::noncopyable {
public:
    /// @param network_state Kea's, or null after libreload (then Kea's dhcp-disable /
    /// dhcp-enable commands with the HA origin switch it).
    /// @param members The relationships sharing it.
    ServiceGate(const dhcp::NetworkStatePtr& network_state, size_t members);

    /// @brief Clears what HA disabled (each state machine's start, as HAService's
    /// constructor): every member and partner wants the service on again.
    void reset();

    /// @brief What @c member wants; the service follows all members' wishes, compared
    /// with Kea's actual state each time (as libdhcp_ha's adjustNetworkState), so a
    /// partner's dhcp-disable with the HA origin is undone while all want it on.
    void want(size_t member, bool enabled);

    /// @brief What @c member last wanted.
    bool wants(size_t member) const { return (wants_on_[member]); }

    /// @brief What @c member's partner wants (its dhcp-disable / dhcp-enable with the
    /// origin "ha-partner", which a Kea 2.2 partner sends around its lease sync): held
    /// here per relationship, as libdhcp_ha 2.5.5+'s remote origin per relationship, so
    /// that another relationship's state change does not undo it.
    void wantRemote(size_t member, bool enabled);

    /// @brief What @c member's partner last wanted.
    bool remoteWants(size_t member) const { return (remote_wants_on_[member]); }

    /// @brief Whether every member and every member's partner wants the service on.
    bool allWant() const;

    /// @brief Switches Kea's DHCP service with the HA origin: through @c network_state,
    /// or with no network state (after libreload) Kea's dhcp-enable / dhcp-disable
    /// commands with origin "ha-partner". One state machine without a gate switches it
    /// so too.
    static void switchService(const dhcp::NetworkStatePtr& network_state, bool enabled);

private:
    void apply(bool enabled);

    dhcp::NetworkStatePtr network_state_;
    std::vector<bool> wants_on_;
    std::vector<bool> remote_wants_on_;
    bool disabled_by_command_ = false;
};

typedef std::shared_ptr<ServiceGate> ServiceGatePtr;

} // namespace hamux
} // namespace isc

#endif // HAMUX_SERVICE_GATE_H
