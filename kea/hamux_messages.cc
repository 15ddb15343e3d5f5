// Copyright (C) 2026 The hamux authors. MPL-2.0.
//
// The texts of libdhcp_hamux's log messages. Kea's `loggers` configuration selects them
// by the logger name "kea-dhcp4.hamux-hooks" / "kea-dhcp6.hamux-hooks" and severity.

#include <cstddef>
#include <log/message_types.h>
#include <log/message_initializer.h>

#include <hamux_messages.h>

namespace isc {
namespace hamux {

// A callout threw: the packet is handled as if the hook were absent for it (logged at
// ERROR because it is a bug in the hook).
extern const isc::log::MessageID HAMUX_CALLOUT_FAILED = "HAMUX_CALLOUT_FAILED";
// A command on Kea's command channel (hamux-status) failed.
extern const isc::log::MessageID HAMUX_COMMAND_FAILED = "HAMUX_COMMAND_FAILED";
// The hook's parameters were refused; Kea refuses the whole configuration.
extern const isc::log::MessageID HAMUX_CONFIGURATION_FAILED = "HAMUX_CONFIGURATION_FAILED";
// The hook accepted its parameters.
extern const isc::log::MessageID HAMUX_CONFIGURED = "HAMUX_CONFIGURED";
// A libdhcp_ha key that only the failover modes use was given; it has no effect yet.
extern const isc::log::MessageID HAMUX_FAILOVER_KEY_IGNORED = "HAMUX_FAILOVER_KEY_IGNORED";
// A lease update to a partner failed (timeout, connection, TLS, busy, or an error result).
extern const isc::log::MessageID HAMUX_LEASE_UPDATE_FAILED = "HAMUX_LEASE_UPDATE_FAILED";
// A lease6-bulk-apply succeeded but the partner listed leases it could not apply.
extern const isc::log::MessageID HAMUX_LEASE_UPDATE_PARTIAL = "HAMUX_LEASE_UPDATE_PARTIAL";
// Events of the hamux library itself, by severity.
extern const isc::log::MessageID HAMUX_LIBRARY_DEBUG = "HAMUX_LIBRARY_DEBUG";
extern const isc::log::MessageID HAMUX_LIBRARY_ERROR = "HAMUX_LIBRARY_ERROR";
extern const isc::log::MessageID HAMUX_LIBRARY_INFO = "HAMUX_LIBRARY_INFO";
extern const isc::log::MessageID HAMUX_LIBRARY_WARN = "HAMUX_LIBRARY_WARN";
// The listener for partners' lease updates could not be started.
extern const isc::log::MessageID HAMUX_LISTENER_FAILED = "HAMUX_LISTENER_FAILED";
// The listener for partners' lease updates is serving.
extern const isc::log::MessageID HAMUX_LISTENER_STARTED = "HAMUX_LISTENER_STARTED";
// The listener drained and stopped (unload or reconfiguration).
extern const isc::log::MessageID HAMUX_LISTENER_STOPPED = "HAMUX_LISTENER_STOPPED";
// This server is a backup: its DHCP service is disabled, as libdhcp_ha's backup state
// disables it (origin HA, so a user's dhcp-enable does not enable it).
extern const isc::log::MessageID HAMUX_LOCAL_DHCP_DISABLE = "HAMUX_LOCAL_DHCP_DISABLE";
// The hook is loaded but not started (Kea refused its configuration, or it could not
// start again): with wait-backup-ack queries with leases are dropped, not answered
// unreplicated. Logged once per load.
extern const isc::log::MessageID HAMUX_NOT_STARTED_DROP = "HAMUX_NOT_STARTED_DROP";
// With several relationships, a query had a lease of a subnet no relationship is tied
// to (a subnet added after the configuration): it cannot be replicated, so it is not
// answered, as libdhcp_ha drops a query of a subnet without a relationship.
extern const isc::log::MessageID HAMUX_NO_RELATIONSHIP = "HAMUX_NO_RELATIONSHIP";
// A client's response was dropped because a partner did not acknowledge its lease.
extern const isc::log::MessageID HAMUX_PACKET_DROPPED = "HAMUX_PACKET_DROPPED";
// With wait-backup-ack a query could not be parked (Kea refused: DHCPv4-over-DHCPv6
// queries are not parked in Kea 2.2) or its updates not made: nothing was sent, and the
// response is dropped rather than sent without replication.
extern const isc::log::MessageID HAMUX_PACKET_NOT_PARKED = "HAMUX_PACKET_NOT_PARKED";
// packet-queue-size is bounded: Kea may discard unparked responses silently.
extern const isc::log::MessageID HAMUX_PACKET_QUEUE_BOUNDED = "HAMUX_PACKET_QUEUE_BOUNDED";
// parked-packet-limit is below what the hook may keep parked.
extern const isc::log::MessageID HAMUX_PARKED_PACKET_LIMIT = "HAMUX_PARKED_PACKET_LIMIT";
// A partner sent a request that is not a Kea command.
extern const isc::log::MessageID HAMUX_REQUEST_INVALID = "HAMUX_REQUEST_INVALID";
// Kea's multi-threading mode is not the one the hook started in (Kea 2.2 applies it
// after dhcpX_srv_configured and can leave it off after a failed config-set): it starts
// again in Kea's mode.
extern const isc::log::MessageID HAMUX_RESTARTING = "HAMUX_RESTARTING";
// A command from a partner (other than lease updates) runs on Kea's main thread.
extern const isc::log::MessageID HAMUX_SERIAL_COMMAND = "HAMUX_SERIAL_COMMAND";
// Starting the hook again (see HAMUX_RESTARTING, HAMUX_STARTING) failed; it stays not
// started.
extern const isc::log::MessageID HAMUX_START_FAILED = "HAMUX_START_FAILED";
// The hook starts without dhcpX_srv_configured: libreload (which does not call it), or
// once more after Kea refused its configuration.
extern const isc::log::MessageID HAMUX_STARTING = "HAMUX_STARTING";
// The hook released everything it held.
extern const isc::log::MessageID HAMUX_UNLOADED = "HAMUX_UNLOADED";

} // namespace hamux
} // namespace isc

namespace {

const char* values[] = {
    "HAMUX_CALLOUT_FAILED", "%1 callout failed: %2",
    "HAMUX_COMMAND_FAILED", "command %1 failed: %2",
    "HAMUX_CONFIGURATION_FAILED", "configuration refused: %1",
    "HAMUX_CONFIGURED", "server %1 (%2) in %3 mode: %4 partner(s) to send lease updates to, wait-backup-ack %5, listening on %6",
    "HAMUX_FAILOVER_KEY_IGNORED", "'%1' has no effect in %2 mode (it belongs to the failover modes)",
    "HAMUX_LEASE_UPDATE_FAILED", "%1: %2 to %3 failed (%4): %5",
    "HAMUX_LEASE_UPDATE_PARTIAL", "%1: %2 to %3: the partner could not apply %4",
    "HAMUX_LIBRARY_DEBUG", "%1: %2",
    "HAMUX_LIBRARY_ERROR", "%1: %2",
    "HAMUX_LIBRARY_INFO", "%1: %2",
    "HAMUX_LIBRARY_WARN", "%1: %2",
    "HAMUX_LISTENER_FAILED", "cannot listen on %1: %2",
    "HAMUX_LISTENER_STARTED", "listening for partners' lease updates on %1 (hamux:// and HTTP on port %2, %3)",
    "HAMUX_LISTENER_STOPPED", "listener on %1 stopped: every request it was handed was answered",
    "HAMUX_LOCAL_DHCP_DISABLE", "local DHCP service is disabled: %1 is a backup (it only receives lease updates), as libdhcp_ha's backup state",
    "HAMUX_NO_RELATIONSHIP", "%1: response dropped, nothing replicated: %2",
    "HAMUX_NOT_STARTED_DROP", "not started (%1): with wait-backup-ack queries with leases are dropped, not answered without replication",
    "HAMUX_PACKET_DROPPED", "%1: response not sent: a partner did not acknowledge the lease update",
    "HAMUX_PACKET_NOT_PARKED", "%1: response dropped: with wait-backup-ack it cannot be answered without replication, and it could not be parked (%2)",
    "HAMUX_PACKET_QUEUE_BOUNDED", "multi-threading packet-queue-size is %1: when it is full Kea discards the oldest unparked response without a log; set it to 0 with wait-backup-ack",
    "HAMUX_PARKED_PACKET_LIMIT", "parked-packet-limit %1 caps lease updates awaiting acknowledgement: %1 / (partner's answer time) per second; queries over it are committed and never replicated nor answered; 0 (no limit) is advised",
    "HAMUX_REQUEST_INVALID", "request from a partner refused: %1",
    "HAMUX_RESTARTING", "starting again: the hook is %1, Kea is %2",
    "HAMUX_SERIAL_COMMAND", "running %1 from a partner on Kea's main thread",
    "HAMUX_STARTING", "starting in Kea's main loop (it was not started: %1); Kea is %2",
    "HAMUX_START_FAILED", "cannot start: %1",
    "HAMUX_UNLOADED", "unloaded: every lease update was answered or its packet dropped",
    NULL
};

const isc::log::MessageInitializer initializer(values);

} // namespace
