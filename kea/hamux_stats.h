// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_STATS_H
#define HAMUX_STATS_H

#include <string>

namespace isc {
namespace hamux {

/// @brief The hook's counters in Kea's statistics (statistic-get-all shows them).
/// StatsMgr is thread-safe, so hamux IO and handler threads count directly.
namespace stats {

extern const std::string UPDATES_SENT;      ///< lease updates handed to hamux
extern const std::string UPDATES_ACKED;     ///< answered with result 0 (or 3, "nothing to do")
extern const std::string UPDATES_FAILED;    ///< every failure; by reason in the next ones
extern const std::string PACKETS_PARKED;    ///< queries parked until their updates are acked
extern const std::string PACKETS_UNPARKED;  ///< parked queries released to be answered
extern const std::string PACKETS_DROPPED;   ///< parked queries dropped: an update failed
extern const std::string UPDATES_RECEIVED;  ///< lease commands received from partners
extern const std::string UPDATES_APPLIED;   ///< of those, applied (result 0)
extern const std::string UPDATES_REFUSED;   ///< of those, refused (any other result)
extern const std::string COMMANDS_RECEIVED; ///< other commands from partners (heartbeats, ...)

/// @brief Creates every counter at 0 where it does not exist yet (a reconfiguration
/// keeps the counts, as Kea keeps its own statistics).
void init();

/// @brief Adds one to a counter (never throws: callers are completion paths). The
/// names are strings made once: StatsMgr takes a std::string, and one made from a
/// C string per call would allocate (the names are longer than the small-string
/// buffer) on every lease, on every DHCP thread at once.
void bump(const std::string& name) noexcept;

/// @brief Adds one to "hamux-updates-failed" and to "hamux-updates-failed-<reason>".
void bumpFailure(const std::string& reason) noexcept;

} // namespace stats
} // namespace hamux
} // namespace isc

#endif // HAMUX_STATS_H
