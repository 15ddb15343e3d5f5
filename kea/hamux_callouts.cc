// Copyright (C) 2026 The hamux authors. MPL-2.0.
//
// libdhcp_hamux's entry points, the only symbols it exports (hook.map). Every one
// catches everything: no C++ exception leaves the hook into Kea, and none from Kea's
// API reaches hamux's Rust threads (those callbacks catch their own).

#include <hamux_impl.h>
#include <hamux_log.h>

#include <cc/command_interpreter.h>
#include <dhcpsrv/network_state.h>
#include <hooks/hooks.h>
#include <hooks/server_hooks.h>

using namespace isc::data;
using namespace isc::hamux;
using namespace isc::hooks;

namespace {

/// @brief The one instance of this load (unload() resets it).
HamuxImplPtr impl;

/// @brief Logs a callout's failure; the packet continues as if the hook were absent.
void
calloutFailed(const char* callout, const char* what) {
    LOG_ERROR(hamux_logger, HAMUX_CALLOUT_FAILED).arg(callout).arg(what);
}

/// @brief Runs a packet callout's work unless the hook is not configured; a failure is
/// logged and the packet goes on as if the hook were absent for it.
template<typename Work>
int
guarded(const char* callout, Work work) {
    try {
        if (impl) {
            work();
        }
    } catch (const std::exception& ex) {
        calloutFailed(callout, ex.what());
        return (1);
    } catch (...) {
        calloutFailed(callout, "unknown exception");
        return (1);
    }
    return (0);
}

/// @brief The hamux-status command on Kea's command channel.
int
hamuxStatusHandler(CalloutHandle& handle) {
    try {
        ConstElementPtr answer;
        if (impl) {
            answer = impl->status();
        } else {
            answer = isc::config::createAnswer(isc::config::CONTROL_RESULT_ERROR,
                                               "libdhcp_hamux is not configured");
        }
        handle.setArgument("response", answer);
    } catch (const std::exception& ex) {
        LOG_ERROR(hamux_logger, HAMUX_COMMAND_FAILED).arg("hamux-status").arg(ex.what());
        handle.setArgument("response",
                           isc::config::createAnswer(isc::config::CONTROL_RESULT_ERROR,
                                                     ex.what()));
    }
    return (0);
}

/// @brief libdhcp_ha's commands on Kea's command channel (and a partner's, which the
/// listener's serial lane runs through Kea's command manager).
int
haCommandHandler(CalloutHandle& handle) {
    std::string name = "ha command";
    try {
        ConstElementPtr command;
        handle.getArgument("command", command);
        ConstElementPtr arguments;
        name = isc::config::parseCommand(arguments, command);
        ConstElementPtr answer;
        if (impl) {
            answer = impl->haCommand(name, arguments);
        } else {
            answer = isc::config::createAnswer(isc::config::CONTROL_RESULT_ERROR,
                                               "libdhcp_hamux is not configured");
        }
        handle.setArgument("response", answer);
    } catch (const std::exception& ex) {
        LOG_ERROR(hamux_logger, HAMUX_COMMAND_FAILED).arg(name).arg(ex.what());
        handle.setArgument("response",
                           isc::config::createAnswer(isc::config::CONTROL_RESULT_ERROR,
                                                     ex.what()));
    }
    return (0);
}

int
serverConfigured(CalloutHandle& handle, bool v6) {
    try {
        ConstElementPtr json_config;
        handle.getArgument("json_config", json_config);
        isc::dhcp::NetworkStatePtr network_state;
        handle.getArgument("network_state", network_state);
        if (impl) {
            impl->configured(json_config, v6, network_state);
        }
    } catch (const std::exception& ex) {
        LOG_ERROR(hamux_logger, HAMUX_CONFIGURATION_FAILED).arg(ex.what());
        handle.setStatus(CalloutHandle::NEXT_STEP_DROP);
        handle.setArgument("error", std::string("libdhcp_hamux: ") + ex.what());
        return (1);
    } catch (...) {
        handle.setStatus(CalloutHandle::NEXT_STEP_DROP);
        handle.setArgument("error", std::string("libdhcp_hamux: unknown exception"));
        return (1);
    }
    return (0);
}

// Several hot-standby relationships (hub and spoke): registered in load() only then,
// so that a server with one relationship runs none of them per packet.

int
subnet4Select(CalloutHandle& handle) {
    return (guarded("subnet4_select", [&handle]() { impl->subnet4Select(handle); }));
}

int
subnet6Select(CalloutHandle& handle) {
    return (guarded("subnet6_select", [&handle]() { impl->subnet6Select(handle); }));
}

int
leaseCallout4(CalloutHandle& handle) {
    return (guarded("lease4 callout", [&handle]() { impl->leaseCallout4(handle); }));
}

int
leaseCallout6(CalloutHandle& handle) {
    return (guarded("lease6 callout", [&handle]() { impl->leaseCallout6(handle); }));
}

int
answer4Ready(CalloutHandle& handle) {
    return (guarded("pkt4_send", [&handle]() { impl->answer4Ready(handle); }));
}

int
answer6Ready(CalloutHandle& handle) {
    return (guarded("pkt6_send", [&handle]() { impl->answer6Ready(handle); }));
}

/// @brief The callouts that decide a query's relationship by its subnet, for the
/// server's family: kea-dhcp4 has no subnet6_select or pkt6_send hook point (kea-dhcp6
/// none of DHCPv4's), and registering on an unknown one throws.
void
registerScopeCallouts(LibraryHandle& handle) {
    bool v6 = ServerHooks::getServerHooks().findIndex("dhcp6_srv_configured") >= 0;
    if (!v6) {
        handle.registerCallout("subnet4_select", subnet4Select);
        for (auto name : {"lease4_select", "lease4_renew", "lease4_release",
                          "lease4_decline"}) {
            handle.registerCallout(name, leaseCallout4);
        }
        handle.registerCallout("pkt4_send", answer4Ready);
        return;
    }
    handle.registerCallout("subnet6_select", subnet6Select);
    for (auto name : {"lease6_select", "lease6_renew", "lease6_rebind",
                      "lease6_release", "lease6_decline"}) {
        handle.registerCallout(name, leaseCallout6);
    }
    handle.registerCallout("pkt6_send", answer6Ready);
}

} // namespace

extern "C" {

int
version() {
    return (KEA_HOOKS_VERSION);
}

/// @brief hamux's threads (IO, handler) are its own; callouts may run on any of
/// Kea's packet threads at once.
int
multi_threading_compatible() {
    return (1);
}

int
load(LibraryHandle& handle) {
    try {
        routeLibraryLog();
        impl.reset(new HamuxImpl(handle.getParameter("high-availability")));
        handle.registerCommandCallout("hamux-status", hamuxStatusHandler);
        for (auto name : {"ha-heartbeat", "ha-reset", "ha-sync-complete-notify",
                          "ha-continue", "ha-scopes", "ha-maintenance-notify",
                          "ha-maintenance-start", "ha-maintenance-cancel", "ha-sync"}) {
            handle.registerCommandCallout(name, haCommandHandler);
        }
        if (impl->scopedBySubnet()) {
            registerScopeCallouts(handle);
        }
    } catch (const std::exception& ex) {
        LOG_ERROR(hamux_logger, HAMUX_CONFIGURATION_FAILED).arg(ex.what());
        impl.reset();
        stopLibraryLog();
        return (1);
    } catch (...) {
        LOG_ERROR(hamux_logger, HAMUX_CONFIGURATION_FAILED).arg("unknown exception");
        impl.reset();
        stopLibraryLog();
        return (1);
    }
    return (0);
}

int
unload() {
    try {
        impl.reset();
        LOG_INFO(hamux_logger, HAMUX_UNLOADED);
    } catch (const std::exception& ex) {
        calloutFailed("unload", ex.what());
    } catch (...) {
        calloutFailed("unload", "unknown exception");
    }
    stopLibraryLog();
    return (0);
}

int
dhcp4_srv_configured(CalloutHandle& handle) {
    return (serverConfigured(handle, false));
}

int
dhcp6_srv_configured(CalloutHandle& handle) {
    return (serverConfigured(handle, true));
}

int
command_processed(CalloutHandle& handle) {
    return (guarded("command_processed", [&handle]() { impl->commandProcessed(handle); }));
}

int
buffer4_receive(CalloutHandle& handle) {
    return (guarded("buffer4_receive", [&handle]() { impl->buffer4Receive(handle); }));
}

int
buffer6_receive(CalloutHandle& handle) {
    return (guarded("buffer6_receive", [&handle]() { impl->buffer6Receive(handle); }));
}

int
leases4_committed(CalloutHandle& handle) {
    return (guarded("leases4_committed", [&handle]() { impl->leases4Committed(handle); }));
}

int
leases6_committed(CalloutHandle& handle) {
    return (guarded("leases6_committed", [&handle]() { impl->leases6Committed(handle); }));
}

} // extern "C"
