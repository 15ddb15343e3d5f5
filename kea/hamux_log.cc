// Copyright (C) 2026 The hamux authors. MPL-2.0.

#include <hamux.h>
#include <hamux_log.h>

namespace isc {
namespace hamux {

isc::log::Logger hamux_logger("hamux-hooks");

namespace {

/// @brief hamux's logger callback: runs on hamux threads, possibly several at once;
/// Kea's logger is thread-safe. Must not throw into Rust.
extern "C" void
libraryEvent(void*, uint32_t level, const char* target, const char* message) {
    try {
        switch (level) {
        case HAMUX_LOG_ERROR:
            LOG_ERROR(hamux_logger, HAMUX_LIBRARY_ERROR).arg(target).arg(message);
            break;
        case HAMUX_LOG_WARN:
            LOG_WARN(hamux_logger, HAMUX_LIBRARY_WARN).arg(target).arg(message);
            break;
        case HAMUX_LOG_INFO:
            LOG_INFO(hamux_logger, HAMUX_LIBRARY_INFO).arg(target).arg(message);
            break;
        default:
            LOG_DEBUG(hamux_logger, isc::log::DBGLVL_TRACE_BASIC, HAMUX_LIBRARY_DEBUG)
                .arg(target).arg(message);
            break;
        }
    } catch (...) {
        // Logging must never take the host down.
    }
}

} // namespace

void
routeLibraryLog() {
    uint32_t level = hamux_logger.isDebugEnabled() ? HAMUX_LOG_DEBUG : HAMUX_LOG_INFO;
    hamux_set_logger(libraryEvent, 0, level);
}

void
stopLibraryLog() {
    hamux_set_logger(0, 0, 0);
}

} // namespace hamux
} // namespace isc
