// Copyright (C) 2026 The hamux authors. MPL-2.0.
//
// Message IDs of libdhcp_hamux, in the shape Kea's kea-msg-compiler generates (Debian's
// kea-dev does not ship the compiler, so the table is written by hand in
// hamux_messages.cc, each message with its description).

#ifndef HAMUX_MESSAGES_H
#define HAMUX_MESSAGES_H

#include <log/message_types.h>

namespace isc {
namespace hamux {

extern const isc::log::MessageID HAMUX_BACKLOG_FAILED;
extern const isc::log::MessageID HAMUX_BACKLOG_SENDING;
extern const isc::log::MessageID HAMUX_CALLOUT_FAILED;
extern const isc::log::MessageID HAMUX_COMMAND_FAILED;
extern const isc::log::MessageID HAMUX_COMMUNICATION_INTERRUPTED;
extern const isc::log::MessageID HAMUX_CONFIGURATION_FAILED;
extern const isc::log::MessageID HAMUX_CONFIGURED;
extern const isc::log::MessageID HAMUX_FAILOVER_KEY_IGNORED;
extern const isc::log::MessageID HAMUX_HEARTBEAT_FAILED;
extern const isc::log::MessageID HAMUX_HIGH_CLOCK_SKEW;
extern const isc::log::MessageID HAMUX_HIGH_CLOCK_SKEW_TERMINATION;
extern const isc::log::MessageID HAMUX_INVALID_PARTNER_STATE;
extern const isc::log::MessageID HAMUX_LEASE_UPDATE_FAILED;
extern const isc::log::MessageID HAMUX_LEASE_UPDATE_PARTIAL;
extern const isc::log::MessageID HAMUX_LIBRARY_DEBUG;
extern const isc::log::MessageID HAMUX_LIBRARY_ERROR;
extern const isc::log::MessageID HAMUX_LIBRARY_INFO;
extern const isc::log::MessageID HAMUX_LIBRARY_WARN;
extern const isc::log::MessageID HAMUX_LISTENER_FAILED;
extern const isc::log::MessageID HAMUX_LISTENER_STARTED;
extern const isc::log::MessageID HAMUX_LISTENER_STOPPED;
extern const isc::log::MessageID HAMUX_LOAD_BALANCING_NO_IDENTIFIER;
extern const isc::log::MessageID HAMUX_LOCAL_DHCP_DISABLE;
extern const isc::log::MessageID HAMUX_LOCAL_DHCP_DISABLE_STATE;
extern const isc::log::MessageID HAMUX_LOCAL_DHCP_ENABLE;
extern const isc::log::MessageID HAMUX_NOT_STARTED_DROP;
extern const isc::log::MessageID HAMUX_NO_RELATIONSHIP;
extern const isc::log::MessageID HAMUX_PACKET_DROPPED;
extern const isc::log::MessageID HAMUX_PACKET_NOT_PARKED;
extern const isc::log::MessageID HAMUX_PARTNER_DHCP_DISABLE;
extern const isc::log::MessageID HAMUX_PARTNER_DHCP_ENABLE;
extern const isc::log::MessageID HAMUX_PACKET_QUEUE_BOUNDED;
extern const isc::log::MessageID HAMUX_PARKED_PACKET_LIMIT;
extern const isc::log::MessageID HAMUX_QUERY_NO_SUBNET;
extern const isc::log::MessageID HAMUX_QUERY_NOT_FOR_US;
extern const isc::log::MessageID HAMUX_QUERY_UNDECIDED;
extern const isc::log::MessageID HAMUX_QUERY_UNPACK_FAILED;
extern const isc::log::MessageID HAMUX_REQUEST_INVALID;
extern const isc::log::MessageID HAMUX_RESET_FAILED;
extern const isc::log::MessageID HAMUX_RESTARTING;
extern const isc::log::MessageID HAMUX_SERIAL_COMMAND;
extern const isc::log::MessageID HAMUX_STARTING;
extern const isc::log::MessageID HAMUX_START_FAILED;
extern const isc::log::MessageID HAMUX_STATE_MACHINE_CONTINUED;
extern const isc::log::MessageID HAMUX_STATE_MACHINE_PAUSED;
extern const isc::log::MessageID HAMUX_STATE_TRANSITION;
extern const isc::log::MessageID HAMUX_SYNC_FAILED;
extern const isc::log::MessageID HAMUX_SYNC_LEASE_FAILED;
extern const isc::log::MessageID HAMUX_SYNC_PAGE_RECEIVED;
extern const isc::log::MessageID HAMUX_SYNC_START;
extern const isc::log::MessageID HAMUX_SYNC_SUCCESSFUL;
extern const isc::log::MessageID HAMUX_TERMINATED;
extern const isc::log::MessageID HAMUX_TERMINATED_RESTART_PARTNER;
extern const isc::log::MessageID HAMUX_UNLOADED;

} // namespace hamux
} // namespace isc

#endif // HAMUX_MESSAGES_H
