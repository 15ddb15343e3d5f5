// Copyright (C) 2026 The hamux authors. MPL-2.0.

#include <hamux_stats.h>

#include <stats/stats_mgr.h>

#include <cstdint>

using isc::stats::StatsMgr;

namespace isc {
namespace hamux {
namespace stats {

const char* UPDATES_SENT = "hamux-updates-sent";
const char* UPDATES_ACKED = "hamux-updates-acked";
const char* UPDATES_FAILED = "hamux-updates-failed";
const char* PACKETS_PARKED = "hamux-packets-parked";
const char* PACKETS_UNPARKED = "hamux-packets-unparked";
const char* PACKETS_DROPPED = "hamux-packets-dropped";
const char* UPDATES_RECEIVED = "hamux-updates-received";
const char* UPDATES_APPLIED = "hamux-updates-applied";
const char* UPDATES_REFUSED = "hamux-updates-refused";
const char* COMMANDS_RECEIVED = "hamux-commands-received";

namespace {

/// @brief The reasons an update fails, each its own counter.
const char* FAILURE_REASONS[] = {
    "timeout", "connect", "tls", "busy", "rejected", "protocol", "http", "cancelled",
    "other",
};

void
create(const std::string& name) {
    if (!StatsMgr::instance().getObservation(name)) {
        StatsMgr::instance().setValue(name, static_cast<int64_t>(0));
    }
}

} // namespace

void
init() {
    for (auto name : {UPDATES_SENT, UPDATES_ACKED, UPDATES_FAILED, PACKETS_PARKED,
                      PACKETS_UNPARKED, PACKETS_DROPPED, UPDATES_RECEIVED, UPDATES_APPLIED,
                      UPDATES_REFUSED, COMMANDS_RECEIVED}) {
        create(name);
    }
    for (auto reason : FAILURE_REASONS) {
        create(std::string(UPDATES_FAILED) + "-" + reason);
    }
}

void
bump(const char* name) noexcept {
    try {
        StatsMgr::instance().addValue(name, static_cast<int64_t>(1));
    } catch (...) {
        // A count lost rather than an update, a query or a request.
    }
}

void
bumpFailure(const std::string& reason) noexcept {
    bump(UPDATES_FAILED);
    try {
        StatsMgr::instance().addValue(std::string(UPDATES_FAILED) + "-" + reason,
                                      static_cast<int64_t>(1));
    } catch (...) {
    }
}

} // namespace stats
} // namespace hamux
} // namespace isc
