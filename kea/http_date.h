// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_HTTP_DATE_H
#define HAMUX_HTTP_DATE_H

#include <cstdint>
#include <string>

namespace isc {
namespace hamux {

/// @brief Now as an RFC 1123 date ("Thu, 07 Nov 2019 08:49:37 GMT"), as libdhcp_ha's
/// heartbeat answer carries it in "date-time".
std::string httpDate();

/// @brief Seconds since the epoch of an RFC 1123 date (a partner's "date-time", from
/// which the clock skew is measured).
/// @throw BadValue if it is not one.
int64_t parseHttpDate(const std::string& text);

} // namespace hamux
} // namespace isc

#endif // HAMUX_HTTP_DATE_H
