// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_CONFIG_H
#define HAMUX_CONFIG_H

#include <cc/data.h>
#include <exceptions/exceptions.h>

#include <boost/shared_ptr.hpp>
#include <cstdint>
#include <string>
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

/// @brief The "high-availability" parameters of libdhcp_hamux: libdhcp_ha's shape and
/// defaults, plus hamux's own client and listener keys under "hamux".
struct HookConfig {
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
    /// @brief multi-threading.http-listener-threads / http-client-threads; 0 (Kea's
    /// default) means as many as Kea's DHCP threads, @c dhcp_threads.
    int64_t http_listener_threads = 0;
    int64_t http_client_threads = 0;
    /// @brief Kea's DHCP thread count (thread-pool-size, 0 resolved to the cores), set
    /// once the server is configured; 0 until then (hamux's own defaults apply).
    int64_t dhcp_threads = 0;
    /// @brief Kea's lease backend never blocks (memfile), set once the server is
    /// configured: partners' updates are then applied on hamux's listener IO threads as
    /// they are read (handler-threads 0), unless "hamux" sets handler-threads.
    bool lease_backend_in_memory = false;
    /// @brief hamux client and listener keys given under "hamux", split by owner.
    isc::data::ElementPtr hamux_client;
    isc::data::ElementPtr hamux_listener;

    /// @brief This server's peer entry.
    const PeerConfig& thisServer() const { return (peers[this_index]); }

    /// @brief The peers this server sends lease updates to, as libdhcp_ha decides in
    /// passive-backup: every other peer whose role is backup.
    std::vector<const PeerConfig*> updateTargets() const;

    /// @brief The hamux client configuration (JSON text for hamux_client_new).
    /// @param poll whether completions run on Kea's thread ("callbacks": "poll").
    std::string clientJson(bool poll) const;

    /// @brief The listener's thread settings: "io-threads" and "handler-threads" as
    /// the hook passes them to hamux (hamux-status reports them).
    /// - "handler-threads" given under "hamux": as given.
    /// - Memfile (@c lease_backend_in_memory): 0, updates applied inline on the IO
    ///   threads, of which there are as many as libdhcp_ha's listener threads
    ///   (http-listener-threads, 0 meaning Kea's DHCP threads) unless "io-threads" is
    ///   given. Handing an update to another thread and back cost about a quarter of
    ///   the backup's CPU per update (see the README), and lease_cmds on memfile never
    ///   waits for I/O.
    /// - A database backend: as many handler threads as libdhcp_ha's listener threads,
    ///   so a slow query holds a handler thread, not the connections of an IO thread.
    isc::data::ElementPtr listenerThreads(bool poll) const;

    /// @brief The hamux listener configuration (JSON text for hamux_listener_new).
    std::string listenerJson(bool poll) const;
};

typedef boost::shared_ptr<HookConfig> HookConfigPtr;

/// @brief Reads the hook's parameters (the "high-availability" list).
/// @throw HamuxConfigError naming the refused key.
HookConfigPtr parseHookConfig(const isc::data::ConstElementPtr& high_availability);

} // namespace hamux
} // namespace isc

#endif // HAMUX_CONFIG_H
