// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_LEASE_COMMANDS_H
#define HAMUX_LEASE_COMMANDS_H

#include <dhcpsrv/lease.h>

#include <string>

namespace isc {
namespace hamux {

/// @brief libdhcp_ha 2.2's lease4-update / lease4-del (CommandCreator::createLease4Update,
/// createLease4Delete): the lease's own toElement(), "expire" instead of "cltt",
/// "force-create" on updates, "service"; plus "origin": "ha-partner", which later Kea
/// versions send so the partner does not replicate back.
/// @param name "lease4-update" or "lease4-del".
/// @throw Unexpected if the lease has no cltt or valid-lft.
std::string lease4Command(const std::string& name, const dhcp::Lease4Ptr& lease);

/// @brief libdhcp_ha 2.2's lease6-bulk-apply (createLease6BulkApply) of these leases,
/// with "origin": "ha-partner".
std::string lease6BulkApply(const dhcp::Lease6Collection& deleted,
                            const dhcp::Lease6Collection& leases);

} // namespace hamux
} // namespace isc

#endif // HAMUX_LEASE_COMMANDS_H
