// Copyright (C) 2026 The hamux authors. MPL-2.0.

#include <lease_commands.h>
#include <json_writer.h>

#include <cc/data.h>
#include <exceptions/exceptions.h>

using namespace isc::data;
using namespace isc::dhcp;

namespace isc {
namespace hamux {

namespace {

/// @brief libdhcp_ha's insertLeaseExpireTime: the partner takes "expire", not "cltt".
ElementPtr
leaseArguments(const ElementPtr& lease) {
    ConstElementPtr cltt = lease->get("cltt");
    ConstElementPtr valid = lease->get("valid-lft");
    if (!cltt || !valid || cltt->getType() != Element::integer ||
        valid->getType() != Element::integer) {
        isc_throw(Unexpected, "invalid lease format: " << lease->str());
    }
    lease->set("expire", Element::create(cltt->intValue() + valid->intValue()));
    lease->remove("cltt");
    return (lease);
}

std::string
commandText(const std::string& name, const ElementPtr& arguments,
            const std::string& service) {
    ElementPtr command = Element::createMap();
    command->set("command", Element::create(name));
    command->set("arguments", arguments);
    ElementPtr services = Element::createList();
    services->add(Element::create(service));
    command->set("service", services);
    return (toJson(command));
}

} // namespace

std::string
lease4Command(const std::string& name, const Lease4Ptr& lease) {
    ElementPtr args = leaseArguments(lease->toElement());
    if (name == "lease4-update") {
        args->set("force-create", Element::create(true));
    }
    args->set("origin", Element::create("ha-partner"));
    return (commandText(name, args, "dhcp4"));
}

std::string
lease6BulkApply(const Lease6Collection& deleted, const Lease6Collection& leases) {
    ElementPtr deleted_list = Element::createList();
    for (auto const& lease : deleted) {
        deleted_list->add(leaseArguments(lease->toElement()));
    }
    ElementPtr lease_list = Element::createList();
    for (auto const& lease : leases) {
        lease_list->add(leaseArguments(lease->toElement()));
    }
    ElementPtr args = Element::createMap();
    args->set("deleted-leases", deleted_list);
    args->set("leases", lease_list);
    args->set("origin", Element::create("ha-partner"));
    return (commandText("lease6-bulk-apply", args, "dhcp6"));
}

} // namespace hamux
} // namespace isc
