// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_LOG_H
#define HAMUX_LOG_H

#include <log/logger.h>
#include <log/log_dbglevels.h>
#include <log/macros.h>

#include <hamux_messages.h>

namespace isc {
namespace hamux {

/// @brief The hook's logger, "kea-dhcp4.hamux-hooks" in Kea's `loggers`.
extern isc::log::Logger hamux_logger;

/// @brief Debug level of per-packet and per-request messages.
const int DBGLVL_HAMUX_PACKET = isc::log::DBGLVL_TRACE_DETAIL;

/// @brief Routes the hamux library's own events (connections, TLS, protocol errors)
/// into @c hamux_logger, at INFO and above, or at DEBUG when the logger has debug on.
void routeLibraryLog();

/// @brief Stops routing the library's events (before the hook is unloaded).
void stopLibraryLog();

} // namespace hamux
} // namespace isc

#endif // HAMUX_LOG_H
