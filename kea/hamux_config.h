// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_CONFIG_H
#define HAMUX_CONFIG_H

#include <cc/data.h>
#include <exceptions/exceptions.h>

#include <boost/shared_ptr.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace isc {
namespace hamux {

/// @brief The hook's parameters were refused; the message names the key.
class HamuxConfigError : public isc::Exception {
public:
    HamuxConfigError(const char* file, size_t line, const char* what)
        : isc::Exception(file, line, what) {}
};

/// @brief A peer URL taken apart: what the listener binds and what the client dials.
struct PeerUrl {
    /// @brief As configured, e.g. "hamux://192.0.2.2:8010/"; with TLS files the
    /// scheme is the TLS one (hamuxs, https), as spoken (see parsePeer).
    std::string text;
    std::string scheme;  ///< hamux, hamuxs, http or https.
    std::string host;    ///< Address without brackets, e.g. "192.0.2.2" or "2001:db8::2".
    uint16_t port;
    /// @brief Whether the scheme is a TLS one (hamuxs, https), i.e. the peer has TLS.
    bool tls() const { return (scheme == "hamuxs" || scheme == "https"); }
};

/// @brief Parses and checks a peer URL; throws HamuxConfigError naming @c key.
PeerUrl parsePeerUrl(const std::string& url, const std::string& key);

/// @brief One entry of "peers", as libdhcp_ha reads it.
struct PeerConfig {
    std::string name;
    PeerUrl url;
    std::string role;  ///< primary, secondary, standby or backup.
    bool auto_failover = true;
    std::string trust_anchor;
    std::string cert_file;
    std::string key_file;
    std::string basic_auth_user;
    std::string basic_auth_password;
};

/// @brief libdhcp_ha 2.2's "pause" of a state ("state-machine"; Kea's
/// util::StatePausing): whether entering it pauses the HA state machine.
enum class StatePausing { NEVER, ALWAYS, ONCE };

/// @brief libdhcp_ha 2.2's failover settings (hot-standby, load-balancing), with its
/// defaults and ranges (ha_config_parser.cc).
struct FailoverConfig {
    /// @brief Between a heartbeat's answer and the next heartbeat; 0: no heartbeats.
    uint32_t heartbeat_delay_ms = 10000;
    /// @brief Without a heartbeat answered for longer, communication is interrupted.
    uint32_t max_response_delay_ms = 60000;
    /// @brief A client waiting longer (its secs / elapsed time) counts as unacked.
    uint32_t max_ack_delay_ms = 10000;
    /// @brief More unacked clients than this, communication interrupted: partner-down;
    /// 0: at once when interrupted.
    uint32_t max_unacked_clients = 10;
    /// @brief Updates queued for the partner in communication-recovery (load-balancing
    /// only: 100 there by default, 0 in hot-standby); 0: no communication-recovery.
    uint32_t delayed_updates_limit = 0;
    bool sync_leases = true;
    uint32_t sync_timeout_ms = 60000;
    uint32_t sync_page_limit = 10000;
    /// @brief "state-machine.states": the pausing of each state listed, by Kea's name
    /// of the state ("waiting", ...); a state not listed never pauses.
    std::map<std::string, StatePausing> pausing;
};

/// @brief One relationship (one entry of "high-availability"): libdhcp_ha's shape and
/// defaults, plus hamux's own client and listener keys under "hamux".
struct RelationshipConfig {
    std::string this_server_name;
    std::string mode;
    bool send_lease_updates = true;
    bool wait_backup_ack = false;
    bool require_client_certs = true;
    /// @brief The listener takes only libdhcp_ha's own commands (its ha_commands4_ /
    /// ha_commands6_); others are refused with result 403, as libdhcp_ha's listener.
    bool restrict_commands = false;
    std::vector<PeerConfig> peers;
    /// @brief The index of this server in @c peers.
    size_t this_index = 0;
    /// @brief hot-standby and load-balancing only.
    FailoverConfig failover;
    /// @brief multi-threading.http-listener-threads / http-client-threads; 0 (Kea's
    /// default) means as many as Kea's DHCP threads (HookConfig::dhcp_threads).
    int64_t http_listener_threads = 0;
    int64_t http_client_threads = 0;
    /// @brief hamux client and listener keys given under "hamux", split by owner.
    isc::data::ElementPtr hamux_client;
    isc::data::ElementPtr hamux_listener;
    /// @brief Where the relationship is in the configuration, for messages: "" with
    /// one relationship (keys are named as libdhcp_ha names them), else e.g.
    /// "high-availability[1]".
    std::string path;

    /// @brief This server's peer entry.
    const PeerConfig& thisServer() const { return (peers[this_index]); }

    /// @brief Whether the relationship runs libdhcp_ha's state machine (hot-standby,
    /// load-balancing).
    bool failoverMode() const { return (mode == "hot-standby" || mode == "load-balancing"); }

    /// @brief load-balancing: both servers serve, each its half of the clients.
    bool loadBalancing() const { return (mode == "load-balancing"); }

    /// @brief The partner of a failover relationship (libdhcp_ha's
    /// getFailoverPeerConfig: the first other peer that is not a backup), which this
    /// server exchanges heartbeats with; null in passive-backup and on a backup.
    const PeerConfig* failoverPeer() const;

    /// @brief The backups this server sends lease updates to (every other peer whose
    /// role is backup), not the failover partner, whose updates depend on the HA state.
    std::vector<const PeerConfig*> updateTargets() const;

    /// @brief What this server's client talks to: @c updateTargets, and the failover
    /// partner (heartbeats, sync, its lease updates) first if there is one.
    std::vector<const PeerConfig*> clientPeers() const;

    /// @brief Whether @c name is one of this relationship's servers.
    bool hasServer(const std::string& name) const;
};

/// @brief The parameters of libdhcp_hamux: one or more relationships, as
/// libdhcp_ha 2.5.5+ takes them (hub and spoke), and what the hook learns of Kea's own
/// configuration once the server is configured.
///
/// With several relationships each subnet names its relationship with "ha-server-name"
/// in its user-context (or its shared network's), any server of the relationship, as
/// in libdhcp_ha; a lease goes to the backups of its subnet's relationship only.
/// Relationships that give this server the same URL share one listener (libdhcp_ha
/// opens one per relationship): a central backup of many primaries then costs one port
/// and one set of threads, not one per primary.
struct HookConfig {
    std::vector<RelationshipConfig> relationships;
    /// @brief Kea's DHCP thread count (thread-pool-size, 0 resolved to the cores), set
    /// once the server is configured; 0 until then (hamux's own defaults apply).
    int64_t dhcp_threads = 0;
    /// @brief Kea's lease backend never blocks (memfile), set once the server is
    /// configured: partners' updates are then applied on hamux's listener IO threads as
    /// they are read (handler-threads 0), unless "hamux" sets handler-threads.
    bool lease_backend_in_memory = false;
    /// @brief With several relationships: subnet id -> index in @c relationships, set
    /// by @c mapSubnets.
    std::unordered_map<uint32_t, size_t> subnet_relationships;

    /// @brief Whether leases are routed by subnet (several relationships).
    bool multiple() const { return (relationships.size() > 1); }

    /// @brief This server's role, the same in every relationship (parseHookConfig).
    const std::string& role() const { return (relationships[0].thisServer().role); }

    /// @brief The relationships' indices grouped by this server's URL: one listener
    /// each, in the order of their first relationship.
    std::vector<std::vector<size_t> > listenerGroups() const;

    /// @brief Ties every subnet of the server's configuration (the Dhcp4 or Dhcp6
    /// map, or config-get's arguments) to its relationship; nothing with one
    /// relationship.
    /// @throw HamuxConfigError naming the subnet: no id, no or an unknown
    /// ha-server-name.
    void mapSubnets(const isc::data::ConstElementPtr& server, bool v6);

    /// @brief The hamux client configuration (JSON text for hamux_client_new): every
    /// relationship's backups, each with its relationship's settings.
    /// @param poll whether completions run on Kea's thread ("callbacks": "poll").
    std::string clientJson(bool poll) const;

    /// @brief The settings of one backup in the client configuration: its
    /// relationship's "hamux" client keys (but io-threads and drain-timeout-ms, which
    /// are the client's), connections, TLS and authentication.
    isc::data::ElementPtr clientPeer(const RelationshipConfig& relationship,
                                     const PeerConfig& peer) const;

    /// @brief The listener's thread settings for the relationship at @c index:
    /// "io-threads" and "handler-threads" as the hook passes them to hamux
    /// (hamux-status reports them).
    /// - "handler-threads" given under "hamux": as given.
    /// - Memfile (@c lease_backend_in_memory): 0, updates applied inline on the IO
    ///   threads, of which there are as many as libdhcp_ha's listener threads
    ///   (http-listener-threads, 0 meaning Kea's DHCP threads) unless "io-threads" is
    ///   given. Handing an update to another thread and back cost about a quarter of
    ///   the backup's CPU per update (see the README), and lease_cmds on memfile never
    ///   waits for I/O.
    /// - A database backend: as many handler threads as libdhcp_ha's listener threads,
    ///   so a slow query holds a handler thread, not the connections of an IO thread.
    isc::data::ElementPtr listenerThreads(size_t index, bool poll) const;

    /// @brief The hamux listener configuration of the relationship at @c index (JSON
    /// text for hamux_listener_new).
    std::string listenerJson(size_t index, bool poll) const;
};

typedef boost::shared_ptr<HookConfig> HookConfigPtr;

/// @brief Reads the hook's parameters (the "high-availability" list, one or more
/// relationships).
/// @throw HamuxConfigError naming the refused key.
HookConfigPtr parseHookConfig(const isc::data::ConstElementPtr& high_availability);

} // namespace hamux
} // namespace isc

#endif // HAMUX_CONFIG_H
