// Copyright (C) 2026 The hamux authors. MPL-2.0.
//
// Stands in for Kea 2.2's dhcpsrv/cfg_globals.h, which Debian's kea-dev 2.2 does not
// ship although dhcpsrv/network.h (and so dhcpsrv/subnet.h) includes it. Without a
// subnet's class the hook could not read the subnet Kea selected for a query, which is
// how libdhcp_ha ties a query to its relationship (hamux_impl_scope.cc).
//
// Found only after Kea's own include directory (the Makefile passes -idirafter): where
// Kea's header is installed, it is used instead. It declares what network.h uses, with
// the values Kea 2.2.0's library has: the hook checks at load that the library's
// CfgGlobals::nameToIndex holds exactly SIZE names, and the hook calls none of the
// inherited-parameter getters that use these indices.

#ifndef CFG_GLOBALS_H
#define CFG_GLOBALS_H

#include <cc/cfg_to_element.h>
#include <cc/data.h>
#include <boost/shared_ptr.hpp>
#include <map>
#include <string>

namespace isc {
namespace dhcp {

class CfgGlobals : public isc::data::CfgToElement {
public:
    /// @brief The global parameters, in the order of Kea 2.2.0's (an index each).
    enum Index : int {
        VALID_LIFETIME, MIN_VALID_LIFETIME, MAX_VALID_LIFETIME, RENEW_TIMER,
        REBIND_TIMER, DECLINE_PROBATION_PERIOD, DHCP4O6_PORT, COMMENT, SERVER_TAG,
        RESERVATION_MODE, RESERVATIONS_GLOBAL, RESERVATIONS_IN_SUBNET,
        RESERVATIONS_OUT_OF_POOL, CALCULATE_TEE_TIMES, T1_PERCENT, T2_PERCENT,
        HOSTNAME_CHAR_SET, HOSTNAME_CHAR_REPLACEMENT, DDNS_SEND_UPDATES,
        DDNS_OVERRIDE_NO_UPDATE, DDNS_OVERRIDE_CLIENT_UPDATE, DDNS_REPLACE_CLIENT_NAME,
        DDNS_GENERATED_PREFIX, DDNS_QUALIFYING_SUFFIX, STORE_EXTENDED_INFO,
        STATISTIC_DEFAULT_SAMPLE_COUNT, STATISTIC_DEFAULT_SAMPLE_AGE, CACHE_THRESHOLD,
        CACHE_MAX_AGE, EARLY_GLOBAL_RESERVATIONS_LOOKUP, IP_RESERVATIONS_UNIQUE,
        RESERVATIONS_LOOKUP_FIRST, DDNS_UPDATE_ON_RENEW, DDNS_USE_CONFLICT_RESOLUTION,
        PARKED_PACKET_LIMIT,
        // DHCPv4 only.
        ECHO_CLIENT_ID, MATCH_CLIENT_ID, AUTHORITATIVE, NEXT_SERVER, SERVER_HOSTNAME,
        BOOT_FILE_NAME,
        // DHCPv6 only.
        DATA_DIRECTORY, PREFERRED_LIFETIME, MIN_PREFERRED_LIFETIME,
        MAX_PREFERRED_LIFETIME,
        SIZE
    };

    /// @brief Each parameter's name to its index (the library's own).
    static const std::map<std::string, int> nameToIndex;

    isc::data::ConstElementPtr get(int index) const;
};

typedef boost::shared_ptr<CfgGlobals> CfgGlobalsPtr;
typedef boost::shared_ptr<const CfgGlobals> ConstCfgGlobalsPtr;

} // namespace dhcp
} // namespace isc

#endif // CFG_GLOBALS_H
