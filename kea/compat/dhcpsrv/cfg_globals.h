// Copyright (C) 2026 The hamux authors. MPL-2.0.
//
// Stands in for Kea 2.2's dhcpsrv/cfg_globals.h, which Debian's kea-dev 2.2 does not
// ship although dhcpsrv/network.h (and so dhcpsrv/subnet.h) includes it. Without a
// subnet's class the hook could not read the subnet Kea selected for a query, which is
// how libdhcp_ha ties a query to its relationship (hamux_impl_scope.cc).
//
// Found only after Kea's own include directory (the Makefile passes -idirafter): where
// Kea's header is installed, it is used instead. It declares what network.h uses, with
// Kea 2.2.0's names and indices; the hook checks at load that the library's
// CfgGlobals::nameToIndex holds exactly these (HamuxImpl::checkSubnetHeaders). Of the
// subnet classes the hook reads only the id; it calls none of the inherited-parameter
// getters that use these indices.

#ifndef CFG_GLOBALS_H
#define CFG_GLOBALS_H

#include <cc/cfg_to_element.h>
#include <cc/data.h>
#include <boost/shared_ptr.hpp>
#include <map>
#include <string>

/// @brief Kea 2.2.0's global parameters in index order: each enumerator and its name
/// (common ones, then DHCPv4's from ECHO_CLIENT_ID, then DHCPv6's from DATA_DIRECTORY).
#define HAMUX_CFG_GLOBALS_STAND_IN(X) \
    X(VALID_LIFETIME, "valid-lifetime") \
    X(MIN_VALID_LIFETIME, "min-valid-lifetime") \
    X(MAX_VALID_LIFETIME, "max-valid-lifetime") \
    X(RENEW_TIMER, "renew-timer") \
    X(REBIND_TIMER, "rebind-timer") \
    X(DECLINE_PROBATION_PERIOD, "decline-probation-period") \
    X(DHCP4O6_PORT, "dhcp4o6-port") \
    X(COMMENT, "comment") \
    X(SERVER_TAG, "server-tag") \
    X(RESERVATION_MODE, "reservation-mode") \
    X(RESERVATIONS_GLOBAL, "reservations-global") \
    X(RESERVATIONS_IN_SUBNET, "reservations-in-subnet") \
    X(RESERVATIONS_OUT_OF_POOL, "reservations-out-of-pool") \
    X(CALCULATE_TEE_TIMES, "calculate-tee-times") \
    X(T1_PERCENT, "t1-percent") \
    X(T2_PERCENT, "t2-percent") \
    X(HOSTNAME_CHAR_SET, "hostname-char-set") \
    X(HOSTNAME_CHAR_REPLACEMENT, "hostname-char-replacement") \
    X(DDNS_SEND_UPDATES, "ddns-send-updates") \
    X(DDNS_OVERRIDE_NO_UPDATE, "ddns-override-no-update") \
    X(DDNS_OVERRIDE_CLIENT_UPDATE, "ddns-override-client-update") \
    X(DDNS_REPLACE_CLIENT_NAME, "ddns-replace-client-name") \
    X(DDNS_GENERATED_PREFIX, "ddns-generated-prefix") \
    X(DDNS_QUALIFYING_SUFFIX, "ddns-qualifying-suffix") \
    X(STORE_EXTENDED_INFO, "store-extended-info") \
    X(STATISTIC_DEFAULT_SAMPLE_COUNT, "statistic-default-sample-count") \
    X(STATISTIC_DEFAULT_SAMPLE_AGE, "statistic-default-sample-age") \
    X(CACHE_THRESHOLD, "cache-threshold") \
    X(CACHE_MAX_AGE, "cache-max-age") \
    X(EARLY_GLOBAL_RESERVATIONS_LOOKUP, "early-global-reservations-lookup") \
    X(IP_RESERVATIONS_UNIQUE, "ip-reservations-unique") \
    X(RESERVATIONS_LOOKUP_FIRST, "reservations-lookup-first") \
    X(DDNS_UPDATE_ON_RENEW, "ddns-update-on-renew") \
    X(DDNS_USE_CONFLICT_RESOLUTION, "ddns-use-conflict-resolution") \
    X(PARKED_PACKET_LIMIT, "parked-packet-limit") \
    X(ECHO_CLIENT_ID, "echo-client-id") \
    X(MATCH_CLIENT_ID, "match-client-id") \
    X(AUTHORITATIVE, "authoritative") \
    X(NEXT_SERVER, "next-server") \
    X(SERVER_HOSTNAME, "server-hostname") \
    X(BOOT_FILE_NAME, "boot-file-name") \
    X(DATA_DIRECTORY, "data-directory") \
    X(PREFERRED_LIFETIME, "preferred-lifetime") \
    X(MIN_PREFERRED_LIFETIME, "min-preferred-lifetime") \
    X(MAX_PREFERRED_LIFETIME, "max-preferred-lifetime")

namespace isc {
namespace dhcp {

class CfgGlobals : public isc::data::CfgToElement {
public:
    /// @brief The global parameters, in the order of Kea 2.2.0's (an index each).
    enum Index : int {
#define HAMUX_ENUMERATOR(name, text) name,
        HAMUX_CFG_GLOBALS_STAND_IN(HAMUX_ENUMERATOR)
#undef HAMUX_ENUMERATOR
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
