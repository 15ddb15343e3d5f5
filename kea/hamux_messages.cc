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

// communication-recovery: an update from the backlog was not taken by the partner; it is
// made to resynchronize (ha-reset).
extern const isc::log::MessageID HAMUX_BACKLOG_FAILED = "HAMUX_BACKLOG_FAILED";
// communication-recovery: the partner is back, the updates queued meanwhile are sent.
extern const isc::log::MessageID HAMUX_BACKLOG_SENDING = "HAMUX_BACKLOG_SENDING";
// A callout threw: the packet is handled as if the hook were absent for it (logged at
// ERROR because it is a bug in the hook).
extern const isc::log::MessageID HAMUX_CALLOUT_FAILED = "HAMUX_CALLOUT_FAILED";
// A command on Kea's command channel (hamux-status) failed.
extern const isc::log::MessageID HAMUX_COMMAND_FAILED = "HAMUX_COMMAND_FAILED";
// No heartbeat was answered for longer than max-response-delay: communication with the
// partner is interrupted.
extern const isc::log::MessageID HAMUX_COMMUNICATION_INTERRUPTED = "HAMUX_COMMUNICATION_INTERRUPTED";
// The hook's parameters were refused; Kea refuses the whole configuration.
extern const isc::log::MessageID HAMUX_CONFIGURATION_FAILED = "HAMUX_CONFIGURATION_FAILED";
// The hook accepted its parameters.
extern const isc::log::MessageID HAMUX_CONFIGURED = "HAMUX_CONFIGURED";
// A libdhcp_ha key that only the failover modes use was given in passive-backup, where it
// has no effect (as in libdhcp_ha).
extern const isc::log::MessageID HAMUX_FAILOVER_KEY_IGNORED = "HAMUX_FAILOVER_KEY_IGNORED";
// A heartbeat to the partner failed (no answer, an error, or an answer libdhcp_ha would
// refuse): the partner counts as unavailable.
extern const isc::log::MessageID HAMUX_HEARTBEAT_FAILED = "HAMUX_HEARTBEAT_FAILED";
// The partner's clock (its heartbeat's date-time) is more than 30 s off ours; at most
// once a minute.
extern const isc::log::MessageID HAMUX_HIGH_CLOCK_SKEW = "HAMUX_HIGH_CLOCK_SKEW";
// The partner's clock is more than 60 s off ours: the server goes to the terminated
// state, as libdhcp_ha.
extern const isc::log::MessageID HAMUX_HIGH_CLOCK_SKEW_TERMINATION = "HAMUX_HIGH_CLOCK_SKEW_TERMINATION";
// The partner reports a state of another HA mode: the two are configured differently.
extern const isc::log::MessageID HAMUX_INVALID_PARTNER_STATE = "HAMUX_INVALID_PARTNER_STATE";
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
// load-balancing: a query with no client identifier, hardware address or DUID to hash is
// dropped, as libdhcp_ha drops it.
extern const isc::log::MessageID HAMUX_LOAD_BALANCING_NO_IDENTIFIER = "HAMUX_LOAD_BALANCING_NO_IDENTIFIER";
// This server is a backup: its DHCP service is disabled, as libdhcp_ha's backup state
// disables it (origin HA, so a user's dhcp-enable does not enable it).
extern const isc::log::MessageID HAMUX_LOCAL_DHCP_DISABLE = "HAMUX_LOCAL_DHCP_DISABLE";
// The HA state machine turned the local DHCP service off (waiting, syncing, ready, in-
// maintenance, backup).
extern const isc::log::MessageID HAMUX_LOCAL_DHCP_DISABLE_STATE = "HAMUX_LOCAL_DHCP_DISABLE_STATE";
// The HA state machine turned the local DHCP service on.
extern const isc::log::MessageID HAMUX_LOCAL_DHCP_ENABLE = "HAMUX_LOCAL_DHCP_ENABLE";
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
// Several hot-standby relationships: the partner switched the DHCP service for its
// relationship (dhcp-disable / dhcp-enable around its lease sync).
extern const isc::log::MessageID HAMUX_PARTNER_DHCP_DISABLE = "HAMUX_PARTNER_DHCP_DISABLE";
extern const isc::log::MessageID HAMUX_PARTNER_DHCP_ENABLE = "HAMUX_PARTNER_DHCP_ENABLE";
// packet-queue-size is bounded: Kea may discard unparked responses silently.
extern const isc::log::MessageID HAMUX_PACKET_QUEUE_BOUNDED = "HAMUX_PACKET_QUEUE_BOUNDED";
// parked-packet-limit is below what the hook may keep parked.
extern const isc::log::MessageID HAMUX_PARKED_PACKET_LIMIT = "HAMUX_PARKED_PACKET_LIMIT";
// Several relationships: Kea selected no subnet for a query, so no relationship serves it.
extern const isc::log::MessageID HAMUX_QUERY_NO_SUBNET = "HAMUX_QUERY_NO_SUBNET";
// Several relationships: no callout tied a query to one (Kea selected no subnet through
// the callout and no lease callout ran), so its answer, which gives a lease, is not sent.
extern const isc::log::MessageID HAMUX_QUERY_UNDECIDED = "HAMUX_QUERY_UNDECIDED";
// A query of a scope this server does not serve now is dropped (the partner answers it).
extern const isc::log::MessageID HAMUX_QUERY_NOT_FOR_US = "HAMUX_QUERY_NOT_FOR_US";
// A query could not be parsed for the scope check: dropped, as Kea drops it.
extern const isc::log::MessageID HAMUX_QUERY_UNPACK_FAILED = "HAMUX_QUERY_UNPACK_FAILED";
// A partner sent a request that is not a Kea command.
extern const isc::log::MessageID HAMUX_REQUEST_INVALID = "HAMUX_REQUEST_INVALID";
// communication-recovery: the partner did not take ha-reset; the server stays in
// communication-recovery and tries again at the next heartbeat.
extern const isc::log::MessageID HAMUX_RESET_FAILED = "HAMUX_RESET_FAILED";
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
// ha-continue unpaused the HA state machine (libdhcp_ha's HA_STATE_MACHINE_CONTINUED):
// from the next event on (a heartbeat's answer) it may leave its state again.
extern const isc::log::MessageID HAMUX_STATE_MACHINE_CONTINUED = "HAMUX_STATE_MACHINE_CONTINUED";
// The HA state machine entered a state in which it is paused ("state-machine": "pause"
// "always", or "once" the first time; libdhcp_ha's HA_STATE_MACHINE_PAUSED): the server
// does what the state does (serving, heartbeats) but leaves it only after ha-continue.
extern const isc::log::MessageID HAMUX_STATE_MACHINE_PAUSED = "HAMUX_STATE_MACHINE_PAUSED";
// The HA state machine changed state.
extern const isc::log::MessageID HAMUX_STATE_TRANSITION = "HAMUX_STATE_TRANSITION";
// A lease sync from the partner failed; it is retried once the partner answers
// heartbeats again.
extern const isc::log::MessageID HAMUX_SYNC_FAILED = "HAMUX_SYNC_FAILED";
// One lease of a sync page could not be applied; the sync goes on.
extern const isc::log::MessageID HAMUX_SYNC_LEASE_FAILED = "HAMUX_SYNC_LEASE_FAILED";
// A page of leases was received and applied during a lease sync.
extern const isc::log::MessageID HAMUX_SYNC_PAGE_RECEIVED = "HAMUX_SYNC_PAGE_RECEIVED";
// A lease sync from the partner starts (syncing state).
extern const isc::log::MessageID HAMUX_SYNC_START = "HAMUX_SYNC_START";
// A lease sync from the partner completed.
extern const isc::log::MessageID HAMUX_SYNC_SUCCESSFUL = "HAMUX_SYNC_SUCCESSFUL";
// The HA state machine is in the terminated state: it serves its default scope, sends no
// updates to the partner and no heartbeats, until restarted.
extern const isc::log::MessageID HAMUX_TERMINATED = "HAMUX_TERMINATED";
// The partner is terminated: it must be restarted for this server to go on.
extern const isc::log::MessageID HAMUX_TERMINATED_RESTART_PARTNER = "HAMUX_TERMINATED_RESTART_PARTNER";
// The hook released everything it held.
extern const isc::log::MessageID HAMUX_UNLOADED = "HAMUX_UNLOADED";

} // namespace hamux
} // namespace isc

namespace {

const char* values[] = {
    "HAMUX_BACKLOG_FAILED", "%1: the partner %2 did not take an update from the backlog: %3",
    "HAMUX_BACKLOG_SENDING", "%1: sending %2 queued lease updates to %3",
    "HAMUX_CALLOUT_FAILED", "%1 callout failed: %2",
    "HAMUX_COMMAND_FAILED", "command %1 failed: %2",
    "HAMUX_COMMUNICATION_INTERRUPTED", "%1: communication with %2 is interrupted: no heartbeat answered for more than %3 ms",
    "HAMUX_CONFIGURATION_FAILED", "configuration refused: %1",
    "HAMUX_CONFIGURED", "server %1 (%2) in %3 mode: %4 partner(s) to send lease updates to, wait-backup-ack %5, listening on %6",
    "HAMUX_FAILOVER_KEY_IGNORED", "'%1' has no effect in %2 mode (it belongs to the failover modes)",
    "HAMUX_HEARTBEAT_FAILED", "%1: heartbeat to %2 failed: %3",
    "HAMUX_HIGH_CLOCK_SKEW", "%1: the partner's clock is %2 s ahead of ours (negative: behind): please synchronize the clocks; past 60 s the server terminates",
    "HAMUX_HIGH_CLOCK_SKEW_TERMINATION", "%1: the partner's clock is %2 s ahead of ours (negative: behind), more than 60 s: terminating HA",
    "HAMUX_INVALID_PARTNER_STATE", "%1: the partner is in the %2 state, which is not one of %3: check both servers' HA configurations",
    "HAMUX_LEASE_UPDATE_FAILED", "%1: %2 to %3 failed (%4): %5",
    "HAMUX_LEASE_UPDATE_PARTIAL", "%1: %2 to %3: the partner could not apply %4",
    "HAMUX_LIBRARY_DEBUG", "%1: %2",
    "HAMUX_LIBRARY_ERROR", "%1: %2",
    "HAMUX_LIBRARY_INFO", "%1: %2",
    "HAMUX_LIBRARY_WARN", "%1: %2",
    "HAMUX_LISTENER_FAILED", "cannot listen on %1: %2",
    "HAMUX_LISTENER_STARTED", "listening for partners' lease updates on %1 (hamux:// and HTTP on port %2, %3)",
    "HAMUX_LISTENER_STOPPED", "listener on %1 stopped: every request it was handed was answered",
    "HAMUX_LOAD_BALANCING_NO_IDENTIFIER", "%1: no client identifier to load-balance by: dropped",
    "HAMUX_LOCAL_DHCP_DISABLE", "local DHCP service is disabled: %1 is a backup (it only receives lease updates), as libdhcp_ha's backup state",
    "HAMUX_LOCAL_DHCP_DISABLE_STATE", "%1: local DHCP service disabled in the %2 state",
    "HAMUX_LOCAL_DHCP_ENABLE", "%1: local DHCP service enabled in the %2 state",
    "HAMUX_NO_RELATIONSHIP", "%1: response dropped, nothing replicated: %2",
    "HAMUX_NOT_STARTED_DROP", "not started (%1): with wait-backup-ack queries with leases are dropped, not answered without replication",
    "HAMUX_PACKET_DROPPED", "%1: response not sent: a partner did not acknowledge the lease update",
    "HAMUX_PACKET_NOT_PARKED", "%1: response dropped: with wait-backup-ack it cannot be answered without replication, and it could not be parked (%2)",
    "HAMUX_PARTNER_DHCP_DISABLE", "%1: the partner disabled the DHCP service for this relationship (%2); the server serves while every relationship and partner wants it",
    "HAMUX_PARTNER_DHCP_ENABLE", "%1: the partner enabled the DHCP service for this relationship again",
    "HAMUX_PACKET_QUEUE_BOUNDED", "multi-threading packet-queue-size is %1: when it is full Kea discards the oldest unparked response without a log; set it to 0 with wait-backup-ack",
    "HAMUX_PARKED_PACKET_LIMIT", "parked-packet-limit %1 caps lease updates awaiting acknowledgement: %1 / (partner's answer time) per second; queries over it are committed and never replicated nor answered; 0 (no limit) is advised",
    "HAMUX_QUERY_NO_SUBNET", "%1: dropping query: no subnet was selected for it, so no HA relationship serves it",
    "HAMUX_QUERY_NOT_FOR_US", "%1: dropping query to be processed by another server",
    "HAMUX_QUERY_UNDECIDED", "%1: dropping an answer with a lease: nothing tied its query to an HA relationship (no subnet selected through the callout, no lease callout ran)",
    "HAMUX_QUERY_UNPACK_FAILED", "%1: failed to parse the query: %2",
    "HAMUX_REQUEST_INVALID", "request from a partner refused: %1",
    "HAMUX_RESET_FAILED", "%1: ha-reset on %2 failed: %3",
    "HAMUX_RESTARTING", "starting again: the hook is %1, Kea is %2",
    "HAMUX_SERIAL_COMMAND", "running %1 from a partner on Kea's main thread",
    "HAMUX_STARTING", "starting in Kea's main loop (it was not started: %1); Kea is %2",
    "HAMUX_START_FAILED", "cannot start: %1",
    "HAMUX_STATE_MACHINE_CONTINUED", "%1: state machine is un-paused",
    "HAMUX_STATE_MACHINE_PAUSED", "%1: state machine paused in state %2",
    "HAMUX_STATE_TRANSITION", "%1: server transitions from %2 to %3 state, partner state is %4",
    "HAMUX_SYNC_FAILED", "lease database synchronization with %1 failed: %2",
    "HAMUX_SYNC_LEASE_FAILED", "lease from %1 not applied during synchronization: %2",
    "HAMUX_SYNC_PAGE_RECEIVED", "received %1 leases from %2",
    "HAMUX_SYNC_START", "starting lease database synchronization with %1",
    "HAMUX_SYNC_SUCCESSFUL", "lease database synchronization with %1 completed: %2 leases received, %3 applied, %4 kept as newer here, in %5 ms",
    "HAMUX_TERMINATED", "%1: HA service terminated; fix the cause (clock skew) and restart the servers",
    "HAMUX_TERMINATED_RESTART_PARTNER", "%1: waiting for the partner, which is in the terminated state, to be restarted",
    "HAMUX_UNLOADED", "unloaded: every lease update was answered or its packet dropped",
    NULL
};

const isc::log::MessageInitializer initializer(values);

} // namespace
