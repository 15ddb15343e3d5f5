// Copyright (C) 2026 The hamux authors. MPL-2.0.

#include <hamux_stats.h>

#include <stats/stats_mgr.h>

#include <cstdint>

using isc::stats::StatsMgr;

namespace isc {
namespace hamux {
namespace stats {

const std::string UPDATES_SENT = "hamux-updates-sent";
const std::string UPDATES_ACKED = "hamux-updates-acked";
const std::string UPDATES_FAILED = "hamux-updates-failed";
const std::string PACKETS_PARKED = "hamux-packets-parked";
const std::string PACKETS_UNPARKED = "hamux-packets-unparked";
const std::string PACKETS_DROPPED = "hamux-packets-dropped";
const std::string UPDATES_RECEIVED = "hamux-updates-received";
const std::string UPDATES_APPLIED = "hamux-updates-applied";
const std::string UPDATES_REFUSED = "hamux-updates-refused";
const std::string COMMANDS_RECEIVED = "hamux-commands-received";

namespace {

/// @brief The reasons an update fails, each its own counter.
const std::string FAILURE_REASONS[] = {
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
    for (auto const* name : {&UPDATES_SENT, &UPDATES_ACKED, &UPDATES_FAILED, &PACKETS_PARKED,
                             &PACKETS_UNPARKED, &PACKETS_DROPPED, &UPDATES_RECEIVED,
                             &UPDATES_APPLIED, &UPDATES_REFUSED, &COMMANDS_RECEIVED}) {
        create(*name);
    }
    for (auto reason : FAILURE_REASONS) {
        create(UPDATES_FAILED + "-" + reason);
    }
}

void
bump(const std::string& name) noexcept {
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
        StatsMgr::instance().addValue(UPDATES_FAILED + "-" + reason,
                                      static_cast<int64_t>(1));
    } catch (...) {
    }
}

} // namespace stats
} // namespace hamux
} // namespace isc
