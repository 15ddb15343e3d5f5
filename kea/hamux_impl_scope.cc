// Copyright (C) 2026 The hamux authors. MPL-2.0.
//
// Several hot-standby relationships in one server (libdhcp_ha 2.5.5+'s hub and spoke):
// a query is served only if the relationship of its subnet serves it (its state machine's
// scope), as libdhcp_ha decides at subnet4_select / subnet6_select. The hook decides
// there for the subnets it has learned (learned_subnets.h), and otherwise at the first
// lease callout, by the subnet id of the lease Kea is about to give, take back or renew,
// before Kea's lease database changes (but for a DHCPv6 client's leases extended in
// place, which no callout sees: decided at leases6_committed). A query not in scope is
// dropped: its lease step skipped, nothing replicated, its answer not sent; one that
// nothing decided is not answered either.

#include <hamux_impl.h>
#include <hamux_log.h>
#include <learned_subnets.h>
#include <hamux_stats.h>

#include <dhcp/pkt4.h>
#include <dhcp/dhcp6.h>
#include <dhcp/pkt6.h>
#include <dhcpsrv/lease.h>
#include <hooks/hooks.h>

using namespace isc::dhcp;
using namespace isc::hooks;

namespace isc {
namespace hamux {

namespace {

/// @brief The query's scope decision in its callout handle's context (one handle per
/// query through all its callouts).
const char* SCOPE_CONTEXT = "hamux-scope";

/// @brief The subnet Kea selected for an undecided query, learned once a lease of the
/// query names its relationship (a shared network's subnets are in one relationship:
/// hamux_config.cc).
const char* SUBNET_CONTEXT = "hamux-subnet";

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
    int relationship = learned_.find(subnet.get());
    if (relationship == LearnedSubnets::UNKNOWN) {
        handle.setContext(SCOPE_CONTEXT, static_cast<int>(UNDECIDED));
        handle.setContext(SUBNET_CONTEXT, boost::shared_ptr<const void>(subnet));
        return;
    }
    decided_at_subnet_.fetch_add(1, std::memory_order_relaxed);
    if (!decideScope(handle, query, static_cast<size_t>(relationship))) {
        handle.setStatus(CalloutHandle::NEXT_STEP_DROP);
    }
}

template<typename QueryPtr>
bool
HamuxImpl::decideByLease(CalloutHandle& handle, const QueryPtr& query, const Lease& lease,
                         bool learn) {
    auto found = config_->subnet_relationships.find(lease.subnet_id_);
    if (found == config_->subnet_relationships.end()) {
        // As libdhcp_ha drops a query whose subnet names no relationship.
        LOG_ERROR(hamux_logger, HAMUX_NO_RELATIONSHIP).arg(query->getLabel())
            .arg("lease " + lease.addr_.toText() + " is in subnet " +
                 std::to_string(lease.subnet_id_) + ", which no relationship's"
                 " 'ha-server-name' names");
        stats::bump(stats::PACKETS_DROPPED);
        handle.setContext(SCOPE_CONTEXT, static_cast<int>(OUT_OF_SCOPE));
        return (false);
    }
    if (learn) {
        boost::shared_ptr<const void> subnet;
        try {
            handle.getContext(SUBNET_CONTEXT, subnet);
            learned_.learn(subnet, found->second);
        } catch (const NoSuchCalloutContext&) {
            // Its subnet was decided or none was selected for it: nothing to learn.
        }
    }
    decided_at_lease_.fetch_add(1, std::memory_order_relaxed);
    return (decideScope(handle, query, found->second));
}

template<typename QueryPtr, typename LeasePtr>
void
HamuxImpl::leaseChosen(CalloutHandle& handle, const char* query_name,
                       const char* lease_name, bool learn) {
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
        scope = decideByLease(handle, query, *lease, learn) ? IN_SCOPE : OUT_OF_SCOPE;
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
        // No lease callout ran for it: Kea extended a DHCPv6 client's leases in place
        // (AllocEngine's updateLeaseData). Its leases name the relationship.
        // Only its new leases teach the selected subnet: a deleted one may be of
        // another link.
        for (const Collection* collection : {leases, deleted}) {
            if (scope == UNDECIDED && collection && !collection->empty()) {
                scope = decideByLease(handle, query, *collection->front(),
                                      collection == leases) ? IN_SCOPE : OUT_OF_SCOPE;
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
        // Nothing tied it to a relationship (no lease callout, its subnet not learned
        // yet). One that gives a lease (a DHCPv6 Advertise of a client's leases) is not
        // sent rather than sent for a partner that serves it; one that gives none (a
        // DHCPINFORM's or Information-Request's answer, a DHCPNAK) is, as before any
        // relationship could be known: a subnet that only such queries use is never
        // learned.
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
HamuxImpl::lease4Chosen(CalloutHandle& handle) {
    leaseChosen<Pkt4Ptr, Lease4Ptr>(handle, "query4", "lease4", true);
}

void
HamuxImpl::lease6Chosen(CalloutHandle& handle) {
    leaseChosen<Pkt6Ptr, Lease6Ptr>(handle, "query6", "lease6", true);
}

void
HamuxImpl::lease4Returned(CalloutHandle& handle) {
    // Found by address alone (Kea 2.2), so possibly of another link: not learned from.
    leaseChosen<Pkt4Ptr, Lease4Ptr>(handle, "query4", "lease4", false);
}

void
HamuxImpl::lease6Returned(CalloutHandle& handle) {
    leaseChosen<Pkt6Ptr, Lease6Ptr>(handle, "query6", "lease6", false);
}

template bool HamuxImpl::committedInScope<Pkt4Ptr, Lease4Collection>(
    CalloutHandle&, const Pkt4Ptr&, const Lease4Collection*, const Lease4Collection*);
template bool HamuxImpl::committedInScope<Pkt6Ptr, Lease6Collection>(
    CalloutHandle&, const Pkt6Ptr&, const Lease6Collection*, const Lease6Collection*);

} // namespace hamux
} // namespace isc
