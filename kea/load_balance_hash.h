// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_LOAD_BALANCE_HASH_H
#define HAMUX_LOAD_BALANCE_HASH_H

#include <cstddef>
#include <cstdint>

namespace isc {
namespace hamux {

/// @brief RFC 3074's load-balancing hash, as libdhcp_ha 2.2's QueryFilter::loadBalanceHash
/// computes it (query_filter.cc): over the client identifier (v4: client-id, else the
/// hardware address; v6: the DUID). In load-balancing an even hash is the primary's
/// client, an odd one the secondary's: the same split as libdhcp_ha's, so the two can be
/// partners.
uint8_t loadBalanceHash(const uint8_t* key, size_t len);

} // namespace hamux
} // namespace isc

#endif // HAMUX_LOAD_BALANCE_HASH_H
