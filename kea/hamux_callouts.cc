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
