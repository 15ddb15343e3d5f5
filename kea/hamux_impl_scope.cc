// Copyright (C) 2026 The hamux authors. MPL-2.0.
//
// Several hot-standby relationships in one server (libdhcp_ha 2.5.5+'s hub and spoke):
// a query is served only if the relationship of its subnet serves it (its state machine's
// scope). As libdhcp_ha, the hook decides at subnet4_select / subnet6_select, by the
// selected subnet's id (each subnet's relationship is its "ha-server-name":
// hamux_config.cc), before any allocation. A query that reaches a lease callout
// undecided (Kea 2.2 selects no subnet for a DHCPv4 release or decline, and finds its
// lease by address) is decided there by the lease's subnet id, before Kea's lease
// database changes. A query not in scope is dropped: its lease step skipped, nothing
// replicated, its answer not sent.

#include <hamux_config.h>
#include <hamux_impl.h>
#include <hamux_log.h>
#include <hamux_stats.h>

#include <dhcp/pkt4.h>
#include <dhcp/dhcp6.h>
#include <dhcp/pkt6.h>
#include <dhcpsrv/cfg_globals.h>
#include <dhcpsrv/lease.h>
#include <dhcpsrv/subnet.h>
#include <hooks/hooks.h>

using namespace isc::dhcp;
using namespace isc::hooks;

namespace isc {
namespace hamux {

namespace {

/// @brief The query's scope decision in its callout handle's context (one handle per
/// query through all its callouts).
const char* SCOPE_CONTEXT = "hamux-scope";

enum Scope { UNDECIDED = -1, OUT_OF_SCOPE = 0, IN_SCOPE = 1 };

Scope
decided(CalloutHandle& handle) {
    int scope = UNDECIDED;
    try {
        handle.getContext(SCOPE_CONTEXT, scope);
    } catch (const NoSuchCalloutContext&) {
        return (UNDECIDED);
    }
    return (static_cast<Scope>(scope));
}

} // namespace

template<typename QueryPtr>
bool
HamuxImpl::decideScope(CalloutHandle& handle, const QueryPtr& query, size_t relationship) {
    HaServicePtr service = relationship < services_.size() ? services_[relationship]
                           : HaServicePtr();
    // A relationship without a state machine (a backup's) serves as it is configured.
    bool in = !service || service->inScope(query);
    handle.setContext(SCOPE_CONTEXT, static_cast<int>(in ? IN_SCOPE : OUT_OF_SCOPE));
    if (!in) {
        not_for_us_.fetch_add(1, std::memory_order_relaxed);
        LOG_DEBUG(hamux_logger, DBGLVL_HAMUX_PACKET, HAMUX_QUERY_NOT_FOR_US)
            .arg(query->getLabel());
    }
    return (in);
}

template<typename QueryPtr, typename WhereFrom>
bool
HamuxImpl::decideBySubnetId(CalloutHandle& handle, const QueryPtr& query,
                            uint32_t subnet_id, const WhereFrom& where_from) {
    auto found = config_->subnet_relationships.find(subnet_id);
    if (found == config_->subnet_relationships.end()) {
        // As libdhcp_ha drops a query whose subnet names no relationship.
        LOG_ERROR(hamux_logger, HAMUX_NO_RELATIONSHIP).arg(query->getLabel())
            .arg(where_from() + " is subnet " + std::to_string(subnet_id) +
                 ", which no relationship's 'ha-server-name' names");
        stats::bump(stats::PACKETS_DROPPED);
        handle.setContext(SCOPE_CONTEXT, static_cast<int>(OUT_OF_SCOPE));
        return (false);
    }
    return (decideScope(handle, query, found->second));
}

template<typename QueryPtr, typename SubnetPtr>
void
HamuxImpl::subnetSelected(CalloutHandle& handle, const char* query_name,
                          const char* subnet_name) {
    if (!started() || handle.getStatus() == CalloutHandle::NEXT_STEP_DROP) {
        return;
    }
    QueryPtr query;
    SubnetPtr subnet;
    handle.getArgument(query_name, query);
    handle.getArgument(subnet_name, subnet);
    if (!subnet) {
        // As libdhcp_ha: without a subnet no relationship can be found to serve it.
        LOG_DEBUG(hamux_logger, DBGLVL_HAMUX_PACKET, HAMUX_QUERY_NO_SUBNET)
            .arg(query->getLabel());
        handle.setContext(SCOPE_CONTEXT, static_cast<int>(OUT_OF_SCOPE));
        handle.setStatus(CalloutHandle::NEXT_STEP_DROP);
        return;
    }
    decided_at_subnet_.fetch_add(1, std::memory_order_relaxed);
    // Every query passes here: its description is made only for the log of a refusal.
    auto where_from = []() { return (std::string("the selected subnet")); };
    if (!decideBySubnetId(handle, query, subnet->getID(), where_from)) {
        handle.setStatus(CalloutHandle::NEXT_STEP_DROP);
    }
}

template<typename QueryPtr>
bool
HamuxImpl::decideByLease(CalloutHandle& handle, const QueryPtr& query, const Lease& lease) {
    decided_at_lease_.fetch_add(1, std::memory_order_relaxed);
    auto where_from = [&lease]() { return ("lease " + lease.addr_.toText() + "'s subnet"); };
    return (decideBySubnetId(handle, query, lease.subnet_id_, where_from));
}

template<typename QueryPtr, typename LeasePtr>
void
HamuxImpl::leaseChosen(CalloutHandle& handle, const char* query_name,
                       const char* lease_name) {
    if (!started()) {
        return;
    }
    Scope scope = decided(handle);
    if (scope == UNDECIDED) {
        QueryPtr query;
        LeasePtr lease;
        handle.getArgument(query_name, query);
        handle.getArgument(lease_name, lease);
        if (!lease) {
            return;
        }
        scope = decideByLease(handle, query, *lease) ? IN_SCOPE : OUT_OF_SCOPE;
    }
    if (scope == OUT_OF_SCOPE) {
        // The lease is not given, renewed, released or declined here.
        handle.setStatus(CalloutHandle::NEXT_STEP_SKIP);
    }
}

template<typename QueryPtr, typename Collection>
bool
HamuxImpl::committedInScope(CalloutHandle& handle, const QueryPtr& query,
                            const Collection* leases, const Collection* deleted) {
    Scope scope = decided(handle);
    if (scope == UNDECIDED) {
        // Neither its subnet nor a lease callout decided it (a path of Kea's that
        // selects no subnet through the callout): its leases name the relationship.
        for (const Collection* collection : {leases, deleted}) {
            if (scope == UNDECIDED && collection && !collection->empty()) {
                scope = decideByLease(handle, query, *collection->front()) ? IN_SCOPE
                                                                           : OUT_OF_SCOPE;
            }
        }
    }
    return (scope != OUT_OF_SCOPE);
}

namespace {

/// @brief Whether an answer gives or confirms an address or prefix.
bool
givesLease(const Pkt4Ptr& response) {
    return (!response->getYiaddr().isV4Zero());
}

bool
givesLease(const Pkt6Ptr& response) {
    for (uint16_t ia : {D6O_IA_NA, D6O_IA_TA, D6O_IA_PD}) {
        for (auto const& option : response->getOptions(ia)) {
            const OptionCollection& inside = option.second->getOptions();
            if (inside.count(D6O_IAADDR) > 0 || inside.count(D6O_IAPREFIX) > 0) {
                return (true);
            }
        }
    }
    return (false);
}

} // namespace

template<typename ResponsePtr>
void
HamuxImpl::answerReady(CalloutHandle& handle, const char* response_name) {
    Scope scope = decided(handle);
    if (scope == IN_SCOPE || !started()) {
        return;
    }
    if (scope == UNDECIDED) {
        // Nothing tied it to a relationship (Kea selected no subnet through the
        // callout, no lease callout ran). One that gives a lease is not sent rather
        // than sent for a partner that serves it; one that gives none (a DHCPNAK) is.
        ResponsePtr response;
        handle.getArgument(response_name, response);
        if (!response || !givesLease(response)) {
            return;
        }
        undecided_dropped_.fetch_add(1, std::memory_order_relaxed);
        LOG_DEBUG(hamux_logger, DBGLVL_HAMUX_PACKET, HAMUX_QUERY_UNDECIDED)
            .arg(response->getLabel());
    }
    handle.setStatus(CalloutHandle::NEXT_STEP_DROP);
}

void
HamuxImpl::answer4Ready(CalloutHandle& handle) {
    answerReady<Pkt4Ptr>(handle, "response4");
}

void
HamuxImpl::answer6Ready(CalloutHandle& handle) {
    answerReady<Pkt6Ptr>(handle, "response6");
}

void
HamuxImpl::subnet4Select(CalloutHandle& handle) {
    subnetSelected<Pkt4Ptr, Subnet4Ptr>(handle, "query4", "subnet4");
}

void
HamuxImpl::subnet6Select(CalloutHandle& handle) {
    subnetSelected<Pkt6Ptr, Subnet6Ptr>(handle, "query6", "subnet6");
}

void
HamuxImpl::leaseCallout4(CalloutHandle& handle) {
    leaseChosen<Pkt4Ptr, Lease4Ptr>(handle, "query4", "lease4");
}

void
HamuxImpl::leaseCallout6(CalloutHandle& handle) {
    leaseChosen<Pkt6Ptr, Lease6Ptr>(handle, "query6", "lease6");
}

void
HamuxImpl::checkSubnetHeaders() {
#ifdef HAMUX_CFG_GLOBALS_STAND_IN
    // The hook reads subnets through dhcpsrv/subnet.h with its own stand-in for
    // dhcpsrv/cfg_globals.h (kea/compat): it must describe this Kea's library.
    const std::string refusal = "several hot-standby relationships need to read Kea's"
        " subnets, but the dhcpsrv/cfg_globals.h this hook was built with does not match"
        " this Kea's library (rebuild the hook against this Kea's headers): ";
    const std::map<std::string, int>& library = CfgGlobals::nameToIndex;
#define HAMUX_CHECK_GLOBAL(name, text)                                             \
    {                                                                              \
        auto found = library.find(text);                                           \
        if (found == library.end() || found->second != CfgGlobals::name) {         \
            isc_throw(HamuxConfigError, refusal << "'" << text << "' is "            \
                      << (found == library.end() ? std::string("unknown")           \
                          : "index " + std::to_string(found->second))              \
                      << " there, " << CfgGlobals::name << " here");               \
        }                                                                          \
    }
    HAMUX_CFG_GLOBALS_STAND_IN(HAMUX_CHECK_GLOBAL)
#undef HAMUX_CHECK_GLOBAL
    if (library.size() != CfgGlobals::SIZE) {
        isc_throw(HamuxConfigError, refusal << library.size() << " global parameters there, "
                  << CfgGlobals::SIZE << " here");
    }
#endif
}

template bool HamuxImpl::committedInScope<Pkt4Ptr, Lease4Collection>(
    CalloutHandle&, const Pkt4Ptr&, const Lease4Collection*, const Lease4Collection*);
template bool HamuxImpl::committedInScope<Pkt6Ptr, Lease6Collection>(
    CalloutHandle&, const Pkt6Ptr&, const Lease6Collection*, const Lease6Collection*);

} // namespace hamux
} // namespace isc
