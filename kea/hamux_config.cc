// Copyright (C) 2026 The hamux authors. MPL-2.0.
//
// Reads libdhcp_ha's configuration shape (Kea 2.2's ha_config_parser.cc is the model for
// keys, defaults and the checks), refusing what libdhcp_hamux cannot honour rather than
// silently ignoring it: an operator who swaps libdhcp_ha for libdhcp_hamux must learn at
// load time, not from a lost lease, that a key means nothing here.

#include <algorithm>
#include <ha_service.h>
#include <hamux_config.h>
#include <hamux_log.h>

#include <util/file_utilities.h>

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

using namespace isc::data;

namespace isc {
namespace hamux {

namespace {

/// @brief libdhcp_ha 2.2's keys of a relationship; the failover ones are read in
/// hot-standby and logged as without effect in passive-backup, as in libdhcp_ha.
const std::set<std::string> HA_KEYS = {
    "this-server-name", "mode", "send-lease-updates", "wait-backup-ack", "peers",
    "multi-threading", "trust-anchor", "cert-file", "key-file", "require-client-certs",
    "restrict-commands", "hamux",
    // failover-only in libdhcp_ha
    "sync-leases", "sync-timeout", "sync-page-limit", "delayed-updates-limit",
    "heartbeat-delay", "max-response-delay", "max-ack-delay", "max-unacked-clients",
    "state-machine",
};

const std::set<std::string> FAILOVER_KEYS = {
    "sync-leases", "sync-timeout", "sync-page-limit", "delayed-updates-limit",
    "heartbeat-delay", "max-response-delay", "max-ack-delay", "max-unacked-clients",
    "state-machine",
};

const std::set<std::string> PEER_KEYS = {
    "name", "url", "role", "auto-failover", "trust-anchor", "cert-file", "key-file",
    "basic-auth-user", "basic-auth-password", "basic-auth-password-file",
};

const std::set<std::string> MT_KEYS = {
    "enable-multi-threading", "http-dedicated-listener", "http-listener-threads",
    "http-client-threads",
};

/// @brief hamux client keys an operator may set under "hamux" (the rest come from
/// libdhcp_ha's own keys).
const std::set<std::string> HAMUX_CLIENT_KEYS = {
    "io-threads", "connections-per-peer", "max-in-flight", "request-timeout-ms",
    "connect-timeout-ms", "drain-timeout-ms", "max-frame-bytes", "source-address",
    "source-port", "ping-interval-ms", "ping-timeout-ms", "resend-after-idle-close",
};

/// @brief hamux listener keys an operator may set under "hamux".
const std::set<std::string> HAMUX_LISTENER_KEYS = {
    "io-threads", "handler-threads", "max-frame-bytes", "max-pending",
    "max-pending-per-connection", "allowed-peers", "max-connections",
    "handshake-timeout-ms", "idle-timeout-ms", "drain-timeout-ms", "parallel-commands",
};

/// @brief Prefixes a key with its place so the log names it unambiguously.
std::string
where(const std::string& path, const std::string& key) {
    return (path.empty() ? key : path + "." + key);
}

void
checkKeys(const ConstElementPtr& map, const std::set<std::string>& known,
          const std::string& path) {
    for (auto const& entry : map->mapValue()) {
        if (known.count(entry.first) == 0) {
            isc_throw(HamuxConfigError, "unknown key '" << where(path, entry.first)
                      << "' (" << entry.second->getPosition() << ")");
        }
    }
}

ConstElementPtr
typed(const ConstElementPtr& map, const std::string& key, Element::types type,
      const std::string& path) {
    ConstElementPtr value = map->get(key);
    if (value && value->getType() != type) {
        isc_throw(HamuxConfigError, "'" << where(path, key) << "' must be "
                  << Element::typeToName(type) << ", not " << value->str());
    }
    return (value);
}

std::string
stringOf(const ConstElementPtr& map, const std::string& key, const std::string& path,
         bool required, const std::string& dflt = "") {
    ConstElementPtr value = typed(map, key, Element::string, path);
    if (!value) {
        if (required) {
            isc_throw(HamuxConfigError, "'" << where(path, key) << "' is required");
        }
        return (dflt);
    }
    return (value->stringValue());
}

bool
boolOf(const ConstElementPtr& map, const std::string& key, const std::string& path,
       bool dflt) {
    ConstElementPtr value = typed(map, key, Element::boolean, path);
    return (value ? value->boolValue() : dflt);
}

/// @brief An unsigned integer as libdhcp_ha's getAndValidateInteger reads it, with its
/// messages ("must not be negative", "must not be greater than").
uint32_t
unsignedOf(const ConstElementPtr& map, const std::string& key, const std::string& path,
           uint32_t dflt, int64_t max) {
    ConstElementPtr value = typed(map, key, Element::integer, path);
    if (!value) {
        return (dflt);
    }
    int64_t n = value->intValue();
    if (n < 0) {
        isc_throw(HamuxConfigError, "'" << where(path, key) << "' must not be negative");
    }
    if (n > max) {
        isc_throw(HamuxConfigError, "'" << where(path, key) << "' must not be greater than "
                  << max);
    }
    return (static_cast<uint32_t>(n));
}

/// @brief "state-machine" as libdhcp_ha 2.2 reads it (HAConfigParser, in every mode):
/// a map whose "states" list has a map per state, "state" one of Kea's state names
/// (stringToState, "unavailable" included), each state at most once, and "pause"
/// "always", "never" (the default) or "once"; in libdhcp_ha's words, where.
std::map<std::string, StatePausing>
parseStateMachine(const ConstElementPtr& c, const std::string& path) {
    std::map<std::string, StatePausing> pausing;
    ConstElementPtr machine = c->get("state-machine");
    if (!machine) {
        return (pausing);
    }
    std::string machine_path = where(path, "state-machine");
    if (machine->getType() != Element::map) {
        isc_throw(HamuxConfigError, "'" << machine_path << "' parameter must be a map");
    }
    checkKeys(machine, {"states"}, machine_path);
    ConstElementPtr states = machine->get("states");
    if (states && states->getType() != Element::list) {
        isc_throw(HamuxConfigError, "'states' parameter must be a list (" << machine_path
                  << ")");
    }
    for (size_t i = 0; states && i < states->size(); ++i) {
        std::ostringstream entry_path;
        entry_path << where(machine_path, "states") << "[" << i << "]";
        ConstElementPtr entry = states->get(i);
        if (entry->getType() != Element::map) {
            isc_throw(HamuxConfigError, "state configuration must be a map ("
                      << entry_path.str() << ")");
        }
        checkKeys(entry, {"state", "pause"}, entry_path.str());
        ConstElementPtr state = entry->get("state");
        if (!state) {
            isc_throw(HamuxConfigError, "missing parameter 'state' (" << entry_path.str()
                      << ")");
        }
        if (state->getType() != Element::string) {
            isc_throw(HamuxConfigError, "invalid type specified for parameter 'state' ("
                      << entry_path.str() << ")");
        }
        const std::string& name = state->stringValue();
        try {
            stateFromName(name);
        } catch (const std::exception& ex) {
            isc_throw(HamuxConfigError, ex.what() << " (" << entry_path.str() << ")");
        }
        if (pausing.count(name) > 0) {
            isc_throw(HamuxConfigError, "duplicated configuration for the '" << name
                      << "' state (" << entry_path.str() << ")");
        }
        ConstElementPtr pause = entry->get("pause");
        if (pause && pause->getType() != Element::string) {
            isc_throw(HamuxConfigError, "invalid type specified for parameter 'pause' ("
                      << entry_path.str() << ")");
        }
        std::string value = pause ? pause->stringValue() : "never";
        if (value == "always") {
            pausing[name] = StatePausing::ALWAYS;
        } else if (value == "never") {
            pausing[name] = StatePausing::NEVER;
        } else if (value == "once") {
            pausing[name] = StatePausing::ONCE;
        } else {
            isc_throw(HamuxConfigError, "unsupported value " << value << " of 'pause'"
                      " parameter (" << entry_path.str() << ")");
        }
    }
    return (pausing);
}

/// @brief The failover keys (hot-standby), as libdhcp_ha 2.2 reads them: the three
/// delays are 16-bit in Kea.
FailoverConfig
parseFailover(const ConstElementPtr& c, const std::string& path, bool load_balancing) {
    FailoverConfig failover;
    const int64_t u16 = 65535, u32 = 4294967295LL;
    failover.heartbeat_delay_ms = unsignedOf(c, "heartbeat-delay", path, 10000, u16);
    failover.max_response_delay_ms = unsignedOf(c, "max-response-delay", path, 60000, u16);
    failover.max_ack_delay_ms = unsignedOf(c, "max-ack-delay", path, 10000, u16);
    failover.max_unacked_clients = unsignedOf(c, "max-unacked-clients", path, 10, u32);
    failover.sync_leases = boolOf(c, "sync-leases", path, true);
    failover.sync_timeout_ms = unsignedOf(c, "sync-timeout", path, 60000, u32);
    failover.sync_page_limit = unsignedOf(c, "sync-page-limit", path, 10000, u32);
    if (failover.sync_page_limit == 0) {
        isc_throw(HamuxConfigError, "'" << where(path, "sync-page-limit") << "' must be"
                  " positive (leases per page of a lease sync)");
    }
    // libdhcp_ha applies its load-balancing defaults first: 100 there.
    failover.delayed_updates_limit =
        unsignedOf(c, "delayed-updates-limit", path, load_balancing ? 100 : 0, u32);
    if (!load_balancing && failover.delayed_updates_limit != 0) {
        isc_throw(HamuxConfigError, "'" << where(path, "delayed-updates-limit") << "' must"
                  " be set to 0 in the hot standby configuration");
    }
    failover.pausing = parseStateMachine(c, path);
    return (failover);
}

int64_t
intOf(const ConstElementPtr& map, const std::string& key, const std::string& path,
      int64_t dflt, int64_t min, int64_t max) {
    ConstElementPtr value = typed(map, key, Element::integer, path);
    if (!value) {
        return (dflt);
    }
    int64_t n = value->intValue();
    if (n < min || n > max) {
        isc_throw(HamuxConfigError, "'" << where(path, key) << "' must be between "
                  << min << " and " << max << ", not " << n);
    }
    return (n);
}

/// @brief Reads a basic-auth-password-file as libdhcp_ha 2.2 reads it (Kea's
/// util::file::getContent): a regular file, whole, a trailing newline included.
std::string
readPasswordFile(const std::string& file, const std::string& key) {
    try {
        return (isc::util::file::getContent(file));
    } catch (const std::exception& ex) {
        isc_throw(HamuxConfigError, "'" << key << "': bad password file: " << ex.what());
    }
}

PeerConfig
parsePeer(const ConstElementPtr& entry, const std::string& path,
          const ConstElementPtr& relationship, const std::string& relationship_path) {
    if (entry->getType() != Element::map) {
        isc_throw(HamuxConfigError, "'" << path << "' must be a map");
    }
    checkKeys(entry, PEER_KEYS, path);
    PeerConfig peer;
    peer.name = stringOf(entry, "name", path, true);
    if (peer.name.empty()) {
        isc_throw(HamuxConfigError, "'" << where(path, "name") << "' must not be empty");
    }
    peer.url = parsePeerUrl(stringOf(entry, "url", path, true), where(path, "url"));
    peer.role = stringOf(entry, "role", path, true);
    if (peer.role != "primary" && peer.role != "secondary" && peer.role != "standby" &&
        peer.role != "backup") {
        isc_throw(HamuxConfigError, "'" << where(path, "role") << "': unsupported value '"
                  << peer.role << "' (primary, secondary, standby or backup)");
    }
    peer.auto_failover = boolOf(entry, "auto-failover", path, true);
    // Per-peer TLS files override the relationship's, as in libdhcp_ha.
    for (auto key : {"trust-anchor", "cert-file", "key-file"}) {
        std::string value = stringOf(entry, key, path, false,
                                     stringOf(relationship, key, relationship_path, false));
        if (std::string(key) == "trust-anchor") {
            peer.trust_anchor = value;
        } else if (std::string(key) == "cert-file") {
            peer.cert_file = value;
        } else {
            peer.key_file = value;
        }
    }
    peer.basic_auth_user = stringOf(entry, "basic-auth-user", path, false);
    if (entry->contains("basic-auth-password") &&
        entry->contains("basic-auth-password-file")) {
        isc_throw(HamuxConfigError, "'" << path << "': only one of basic-auth-password"
                  " and basic-auth-password-file may be given");
    }
    peer.basic_auth_password = stringOf(entry, "basic-auth-password", path, false);
    if (entry->contains("basic-auth-password-file")) {
        std::string key = where(path, "basic-auth-password-file");
        peer.basic_auth_password =
            readPasswordFile(stringOf(entry, "basic-auth-password-file", path, true), key);
    }
    if (peer.basic_auth_user.empty() && !peer.basic_auth_password.empty()) {
        isc_throw(HamuxConfigError, "'" << path << "': a basic-auth password needs"
                  " basic-auth-user");
    }
    // TLS as libdhcp_ha 2.2 decides it (HAConfig::validate): by the files, not by the
    // scheme. Any of the three turns TLS on for this peer and then all three are
    // required; an http:// URL is then spoken as https://, as Kea's HA does, and
    // hamux:// as hamuxs://. A TLS scheme without them is refused, as Kea refuses https.
    bool use_tls = !peer.trust_anchor.empty() || !peer.cert_file.empty() ||
                   !peer.key_file.empty();
    if (use_tls) {
        for (auto key : {"trust-anchor", "cert-file", "key-file"}) {
            const std::string& value = std::string(key) == "trust-anchor" ? peer.trust_anchor
                                     : std::string(key) == "cert-file" ? peer.cert_file
                                     : peer.key_file;
            if (value.empty()) {
                isc_throw(HamuxConfigError, "'" << where(path, key) << "' (or the"
                          " relationship's '" << key << "') is missing or empty: all or"
                          " none of trust-anchor, cert-file and key-file must be set (TLS"
                          " for server '" << peer.name << "')");
            }
        }
        if (!peer.url.tls()) {
            std::string scheme = peer.url.scheme == "hamux" ? "hamuxs" : "https";
            peer.url.text = scheme + peer.url.text.substr(peer.url.scheme.size());
            peer.url.scheme = scheme;
        }
    } else if (peer.url.tls()) {
        isc_throw(HamuxConfigError, "'" << where(path, "url") << "' is " << peer.url.scheme
                  << ":// but TLS is not configured for server '" << peer.name << "': set"
                  " trust-anchor, cert-file and key-file (in the peer or the relationship)");
    }
    return (peer);
}

/// @brief Splits the "hamux" map into client and listener keys.
void
parseHamuxKeys(const ConstElementPtr& hamux, RelationshipConfig& config) {
    config.hamux_client = Element::createMap();
    config.hamux_listener = Element::createMap();
    if (!hamux) {
        return;
    }
    if (hamux->getType() != Element::map) {
        isc_throw(HamuxConfigError, "'" << where(config.path, "hamux") << "' must be a map"
                  " of hamux client and listener keys");
    }
    for (auto const& entry : hamux->mapValue()) {
        bool client = HAMUX_CLIENT_KEYS.count(entry.first) > 0;
        bool listener = HAMUX_LISTENER_KEYS.count(entry.first) > 0;
        if (!client && !listener) {
            isc_throw(HamuxConfigError, "unknown key '"
                      << where(config.path, "hamux." + entry.first) << "' (hamux client"
                      " keys: connections-per-peer, request-timeout-ms, max-in-flight, ...;"
                      " listener keys: handler-threads, max-pending, allowed-peers, ...; see"
                      " the README)");
        }
        if (client) {
            config.hamux_client->set(entry.first, entry.second);
        }
        if (listener) {
            config.hamux_listener->set(entry.first, entry.second);
        }
    }
}

void
checkRoles(const RelationshipConfig& config) {
    size_t primaries = 0, secondaries = 0, standbys = 0;
    for (auto const& peer : config.peers) {
        primaries += peer.role == "primary" ? 1 : 0;
        secondaries += peer.role == "secondary" ? 1 : 0;
        standbys += peer.role == "standby" ? 1 : 0;
    }
    std::string peers = where(config.path, "peers");
    if (primaries > 1 || secondaries > 1 || standbys > 1) {
        isc_throw(HamuxConfigError, "'" << peers << "': multiple "
                  << (primaries > 1 ? "primary" : secondaries > 1 ? "secondary" : "standby")
                  << " servers specified");
    }
    if (config.loadBalancing()) {
        // libdhcp_ha's HAConfig::validate, load-balancing.
        if (standbys > 0) {
            isc_throw(HamuxConfigError, "'" << peers << "': standby servers not allowed in"
                      " the load balancing configuration");
        }
        if (secondaries == 0) {
            isc_throw(HamuxConfigError, "'" << peers << "': secondary server required in"
                      " the load balancing configuration");
        }
        if (primaries == 0) {
            isc_throw(HamuxConfigError, "'" << peers << "': primary server required in"
                      " the load balancing configuration");
        }
        if (config.wait_backup_ack) {
            isc_throw(HamuxConfigError, "'" << where(config.path, "wait-backup-ack")
                      << "' must be set to false in the load balancing configuration");
        }
        return;
    }
    if (config.failoverMode()) {
        // libdhcp_ha's HAConfig::validate, hot-standby.
        if (secondaries > 0) {
            isc_throw(HamuxConfigError, "'" << peers << "': secondary servers not allowed"
                      " in the hot standby configuration");
        }
        if (standbys == 0) {
            isc_throw(HamuxConfigError, "'" << peers << "': standby server required in"
                      " the hot standby configuration");
        }
        if (primaries == 0) {
            isc_throw(HamuxConfigError, "'" << peers << "': primary server required in"
                      " the hot standby configuration");
        }
        if (config.wait_backup_ack) {
            isc_throw(HamuxConfigError, "'" << where(config.path, "wait-backup-ack")
                      << "' must be set to false in the hot standby configuration");
        }
        return;
    }
    if (primaries == 0) {
        isc_throw(HamuxConfigError, "'" << peers
                  << "': primary server required in the passive-backup mode");
    }
    if (secondaries + standbys > 0) {
        isc_throw(HamuxConfigError, "'" << peers
                  << "': secondary and standby servers are not allowed in the"
                  " passive-backup mode");
    }
}

} // namespace

PeerUrl
parsePeerUrl(const std::string& url, const std::string& key) {
    PeerUrl parsed;
    parsed.text = url;
    size_t sep = url.find("://");
    if (sep == std::string::npos) {
        isc_throw(HamuxConfigError, "'" << key << "': bad URL '" << url
                  << "' (expected hamux://, hamuxs://, http:// or https://host:port/)");
    }
    parsed.scheme = url.substr(0, sep);
    if (parsed.scheme != "hamux" && parsed.scheme != "hamuxs" && parsed.scheme != "http" &&
        parsed.scheme != "https") {
        isc_throw(HamuxConfigError, "'" << key << "': bad URL '" << url
                  << "': unsupported scheme '" << parsed.scheme
                  << "' (hamux, hamuxs, http or https)");
    }
    std::string rest = url.substr(sep + 3);
    std::string authority = rest.substr(0, rest.find('/'));
    std::string port_text;
    if (!authority.empty() && authority[0] == '[') {
        size_t close = authority.find(']');
        if (close == std::string::npos) {
            isc_throw(HamuxConfigError, "'" << key << "': bad URL '" << url
                      << "': unterminated IPv6 address");
        }
        parsed.host = authority.substr(1, close - 1);
        if (close + 1 < authority.size() && authority[close + 1] == ':') {
            port_text = authority.substr(close + 2);
        } else if (close + 1 != authority.size()) {
            isc_throw(HamuxConfigError, "'" << key << "': bad URL '" << url << "'");
        }
    } else {
        size_t colon = authority.rfind(':');
        parsed.host = authority.substr(0, colon);
        if (colon != std::string::npos) {
            port_text = authority.substr(colon + 1);
        }
    }
    if (parsed.host.empty()) {
        isc_throw(HamuxConfigError, "'" << key << "': bad URL '" << url << "': no host");
    }
    if (port_text.empty()) {
        // Kea's HA URLs need a port in practice; hamux has no well-known port.
        isc_throw(HamuxConfigError, "'" << key << "': bad URL '" << url
                  << "': a port is required");
    }
    char* end = 0;
    long port = strtol(port_text.c_str(), &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
        isc_throw(HamuxConfigError, "'" << key << "': bad URL '" << url
                  << "': port '" << port_text << "' is not 1-65535");
    }
    parsed.port = static_cast<uint16_t>(port);
    return (parsed);
}

namespace {

/// @brief Reads one entry of "high-availability"; @c path names it in messages.
RelationshipConfig
parseRelationship(const ConstElementPtr& c, const std::string& path) {
    if (c->getType() != Element::map) {
        isc_throw(HamuxConfigError, "'" << (path.empty() ? "high-availability[0]" : path)
                  << "' must be a map");
    }
    checkKeys(c, HA_KEYS, path);

    RelationshipConfig config;
    config.path = path;
    config.mode = stringOf(c, "mode", path, true);
    if (config.mode != "passive-backup" && !config.failoverMode()) {
        isc_throw(HamuxConfigError, "'" << where(path, "mode") << "': unsupported value '"
                  << config.mode << "' (passive-backup, hot-standby or load-balancing)");
    }
    if (config.failoverMode()) {
        config.failover = parseFailover(c, path, config.loadBalancing());
    } else {
        // libdhcp_ha reads it in passive-backup too, where a pause would hold a primary
        // in waiting, not serving; the hook has no state machine there.
        for (auto const& state : parseStateMachine(c, path)) {
            if (state.second != StatePausing::NEVER) {
                isc_throw(HamuxConfigError, "'" << where(path, "state-machine") << "': the"
                          << " '" << state.first << "' state pauses, but libdhcp_hamux has"
                          " no HA state machine to pause in passive-backup mode (only"
                          " \"pause\": \"never\" there)");
            }
        }
        for (auto const& key : FAILOVER_KEYS) {
            if (c->contains(key)) {
                LOG_INFO(hamux_logger, HAMUX_FAILOVER_KEY_IGNORED).arg(where(path, key))
                    .arg(config.mode);
            }
        }
    }
    config.this_server_name = stringOf(c, "this-server-name", path, true);
    if (config.this_server_name.empty()) {
        isc_throw(HamuxConfigError, "'" << where(path, "this-server-name")
                  << "' must not be empty");
    }
    config.send_lease_updates = boolOf(c, "send-lease-updates", path, true);
    config.wait_backup_ack = boolOf(c, "wait-backup-ack", path, false);
    config.require_client_certs = boolOf(c, "require-client-certs", path, true);
    config.restrict_commands = boolOf(c, "restrict-commands", path, false);

    std::string mt_path = where(path, "multi-threading");
    ConstElementPtr mt = typed(c, "multi-threading", Element::map, path);
    if (mt) {
        checkKeys(mt, MT_KEYS, mt_path);
        config.http_listener_threads =
            intOf(mt, "http-listener-threads", mt_path, 0, 0, 1024);
        config.http_client_threads = intOf(mt, "http-client-threads", mt_path, 0, 0, 1024);
        boolOf(mt, "enable-multi-threading", mt_path, false);
        boolOf(mt, "http-dedicated-listener", mt_path, false);
    }

    ConstElementPtr peers = typed(c, "peers", Element::list, path);
    if (!peers || peers->empty()) {
        isc_throw(HamuxConfigError, "'" << where(path, "peers") << "' is required: a list"
                  " of the servers of the relationship, this one included");
    }
    std::set<std::string> names;
    bool found = false;
    for (size_t i = 0; i < peers->size(); ++i) {
        std::ostringstream entry;
        entry << "peers[" << i << "]";
        std::string peer_path = where(path, entry.str());
        PeerConfig peer = parsePeer(peers->get(i), peer_path, c, path);
        if (!names.insert(peer.name).second) {
            isc_throw(HamuxConfigError, "'" << peer_path << ".name': peer with name '"
                      << peer.name << "' already specified");
        }
        if (peer.name == config.this_server_name) {
            config.this_index = config.peers.size();
            found = true;
        }
        config.peers.push_back(peer);
    }
    if (!found) {
        isc_throw(HamuxConfigError, "'" << where(path, "this-server-name") << "': '"
                  << config.this_server_name << "' is not among the peers");
    }
    checkRoles(config);
    parseHamuxKeys(typed(c, "hamux", Element::map, path), config);
    return (config);
}

/// @brief The checks across relationships (libdhcp_ha 2.5.5+'s, and what one listener
/// or one client peer shared by several relationships needs).
void
checkRelationships(const HookConfig& config) {
    std::map<std::string, std::string> servers;  // name -> relationship path
    for (auto const& relationship : config.relationships) {
        for (auto const& peer : relationship.peers) {
            auto known = servers.emplace(peer.name, relationship.path);
            if (!known.second) {
                isc_throw(HamuxConfigError, "'" << relationship.path << ".peers': server"
                          " name '" << peer.name << "' is also in '" << known.first->second
                          << "': server names must be unique for different relationships");
            }
        }
    }
    const RelationshipConfig& first = config.relationships[0];
    for (auto const& relationship : config.relationships) {
        if (relationship.thisServer().role != first.thisServer().role) {
            isc_throw(HamuxConfigError, "'" << where(relationship.path, "this-server-name")
                      << "': this server is " << relationship.thisServer().role << " ('"
                      << relationship.this_server_name << "') here but "
                      << first.thisServer().role << " ('" << first.this_server_name
                      << "') in '" << first.path << "': Kea 2.2 serves DHCP, or not,"
                      " as a whole, so this server must have one role in every"
                      " relationship");
        }
    }
    // One listener per URL of this server: relationships sharing it must agree on it.
    for (auto const& group : config.listenerGroups()) {
        const RelationshipConfig& owner = config.relationships[group[0]];
        for (size_t i = 1; i < group.size(); ++i) {
            const RelationshipConfig& other = config.relationships[group[i]];
            if (config.listenerJson(group[i], false) != config.listenerJson(group[0], false) ||
                other.restrict_commands != owner.restrict_commands) {
                isc_throw(HamuxConfigError, "'" << other.path << "': this server's URL '"
                          << other.thisServer().url.text << "' is also its URL in '"
                          << owner.path << "', with other listener settings (TLS files,"
                          " require-client-certs, restrict-commands, http-listener-threads"
                          " or hamux listener keys): relationships sharing a URL share one"
                          " listener, so these must be the same");
            }
        }
    }
    // One client peer per backup URL: relationships sharing a backup must agree on it.
    std::map<std::string, std::pair<std::string, std::string> > backups;  // url -> path, json
    for (auto const& relationship : config.relationships) {
        for (auto const peer : relationship.updateTargets()) {
            std::string json = config.clientPeer(relationship, *peer)->str();
            auto known = backups.emplace(peer->url.text, std::make_pair(relationship.path, json));
            if (!known.second && known.first->second.second != json) {
                isc_throw(HamuxConfigError, "'" << relationship.path << ".peers': backup '"
                          << peer->name << "' (" << peer->url.text << ") is also a backup"
                          " in '" << known.first->second.first << "' with other client"
                          " settings (TLS files, basic-auth, http-client-threads or hamux"
                          " client keys): one URL is one peer of the hook's client, so"
                          " these must be the same");
            }
        }
    }
}

/// @brief What several hot-standby relationships need: each relationship's own listener
/// (a Kea 2.2 partner names no relationship in its commands, so the URL they arrive on
/// does) and its own partner.
void
checkFailoverRelationships(const HookConfig& config) {
    for (auto const& group : config.listenerGroups()) {
        if (group.size() > 1) {
            const RelationshipConfig& owner = config.relationships[group[0]];
            const RelationshipConfig& other = config.relationships[group[1]];
            isc_throw(HamuxConfigError, "'" << other.path << "': this server's URL '"
                      << other.thisServer().url.text << "' is also its URL in '"
                      << owner.path << "': in hot-standby each relationship needs its own"
                      " URL (its own listener), as with libdhcp_ha");
        }
    }
    std::map<std::string, std::string> partners;  // url -> relationship path
    for (auto const& relationship : config.relationships) {
        const PeerConfig* partner = relationship.failoverPeer();
        if (!partner) {
            continue;
        }
        auto known = partners.emplace(partner->url.text, relationship.path);
        if (!known.second) {
            isc_throw(HamuxConfigError, "'" << relationship.path << ".peers': partner '"
                      << partner->name << "' (" << partner->url.text << ") has the URL of"
                      " the partner in '" << known.first->second << "': each relationship"
                      " has its own partner server");
        }
    }
}

} // namespace

HookConfigPtr
parseHookConfig(const ConstElementPtr& high_availability) {
    if (!high_availability) {
        isc_throw(HamuxConfigError, "'high-availability' parameter is required");
    }
    if (high_availability->getType() != Element::list || high_availability->empty()) {
        isc_throw(HamuxConfigError, "'high-availability' must be a non-empty list of"
                  " relationships");
    }
    HookConfigPtr config(new HookConfig());
    bool several = high_availability->size() > 1;
    for (size_t i = 0; i < high_availability->size(); ++i) {
        // One relationship keeps libdhcp_ha 2.2's key names in messages.
        std::ostringstream path;
        if (several) {
            path << "high-availability[" << i << "]";
        }
        config->relationships.push_back(parseRelationship(high_availability->get(i),
                                                          path.str()));
    }
    if (several) {
        // Hub and spoke (libdhcp_ha 2.5.5+): passive-backup or hot-standby in every one.
        const RelationshipConfig& first = config->relationships[0];
        for (auto const& relationship : config->relationships) {
            if (relationship.loadBalancing()) {
                isc_throw(HamuxConfigError, "'" << relationship.path << ".mode': "
                          "load-balancing in one of several relationships is not"
                          " supported by libdhcp_hamux (several relationships are"
                          " hot-standby or passive-backup)");
            }
            if (relationship.mode != first.mode) {
                isc_throw(HamuxConfigError, "'" << relationship.path << ".mode': "
                          << relationship.mode << " here but " << first.mode << " in '"
                          << first.path << "': several relationships of libdhcp_hamux"
                          " are all hot-standby or all passive-backup");
            }
        }
        checkRelationships(*config);
        if (first.failoverMode()) {
            checkFailoverRelationships(*config);
        }
    }
    return (config);
}

std::vector<const PeerConfig*>
RelationshipConfig::updateTargets() const {
    std::vector<const PeerConfig*> targets;
    // A backup sends nothing (libdhcp_ha's shouldSendLeaseUpdates).
    if (!send_lease_updates || thisServer().role == "backup") {
        return (targets);
    }
    for (size_t i = 0; i < peers.size(); ++i) {
        if (i != this_index && peers[i].role == "backup") {
            targets.push_back(&peers[i]);
        }
    }
    return (targets);
}

const PeerConfig*
RelationshipConfig::failoverPeer() const {
    if (!failoverMode() || thisServer().role == "backup") {
        return (0);
    }
    for (size_t i = 0; i < peers.size(); ++i) {
        if (i != this_index && peers[i].role != "backup") {
            return (&peers[i]);
        }
    }
    return (0);
}

std::vector<const PeerConfig*>
RelationshipConfig::clientPeers() const {
    std::vector<const PeerConfig*> contacts;
    if (const PeerConfig* partner = failoverPeer()) {
        contacts.push_back(partner);
    }
    for (auto const peer : updateTargets()) {
        contacts.push_back(peer);
    }
    return (contacts);
}

bool
RelationshipConfig::hasServer(const std::string& name) const {
    for (auto const& peer : peers) {
        if (peer.name == name) {
            return (true);
        }
    }
    return (false);
}

std::vector<std::vector<size_t> >
HookConfig::listenerGroups() const {
    std::vector<std::vector<size_t> > groups;
    for (size_t i = 0; i < relationships.size(); ++i) {
        const PeerUrl& url = relationships[i].thisServer().url;
        bool joined = false;
        for (auto& group : groups) {
            const PeerUrl& owner = relationships[group[0]].thisServer().url;
            if (owner.host == url.host && owner.port == url.port) {
                group.push_back(i);
                joined = true;
                break;
            }
        }
        if (!joined) {
            groups.push_back(std::vector<size_t>(1, i));
        }
    }
    return (groups);
}

namespace {

/// @brief A subnet's "ha-server-name" (its own user-context's, else its shared
/// network's), as libdhcp_ha's HAConfig::getSubnetServerName reads it; "" if none.
std::string
subnetServerName(const ConstElementPtr& subnet, const ConstElementPtr& network,
                 const std::string& path) {
    for (auto const& scope : {subnet, network}) {
        ConstElementPtr context = scope ? scope->get("user-context") : ConstElementPtr();
        ConstElementPtr name = context && context->getType() == Element::map
                               ? context->get("ha-server-name") : ConstElementPtr();
        if (!name) {
            continue;
        }
        if (name->getType() != Element::string || name->stringValue().empty()) {
            isc_throw(HamuxConfigError, "'" << path << "': 'ha-server-name' must be a"
                      " non-empty string, not " << name->str());
        }
        return (name->stringValue());
    }
    return ("");
}

} // namespace

void
HookConfig::mapSubnets(const ConstElementPtr& server, bool v6) {
    // Built aside and kept only whole: a refused configuration leaves no half map.
    std::unordered_map<uint32_t, size_t> mapped;
    if (!multiple() || !server || server->getType() != Element::map) {
        subnet_relationships.swap(mapped);
        return;
    }
    const std::string list = v6 ? "subnet6" : "subnet4";
    auto map = [&](const ConstElementPtr& subnets, const ConstElementPtr& network,
                   const std::string& where_list) {
        if (!subnets || subnets->getType() != Element::list) {
            return;
        }
        size_t network_index = relationships.size();
        std::string network_path;
        for (size_t i = 0; i < subnets->size(); ++i) {
            ConstElementPtr subnet = subnets->get(i);
            std::ostringstream path;
            path << where_list << "[" << i << "]";
            ConstElementPtr prefix = subnet->get("subnet");
            if (prefix && prefix->getType() == Element::string) {
                path << " (" << prefix->stringValue() << ")";
            }
            std::string name = subnetServerName(subnet, network, path.str());
            if (name.empty()) {
                isc_throw(HamuxConfigError, "'" << path.str() << "' has no 'ha-server-name'"
                          " in its user-context (or its shared network's): with several"
                          " relationships every subnet names the relationship its leases"
                          " are replicated in, as with libdhcp_ha");
            }
            size_t index = relationships.size();
            for (size_t r = 0; r < relationships.size(); ++r) {
                if (relationships[r].hasServer(name)) {
                    index = r;
                }
            }
            if (index == relationships.size()) {
                isc_throw(HamuxConfigError, "'" << path.str() << "': 'ha-server-name' '"
                          << name << "' is not a server of any relationship in"
                          " 'high-availability'");
            }
            ConstElementPtr id = subnet->get("id");
            if (!id || id->getType() != Element::integer || id->intValue() <= 0 ||
                id->intValue() > 0xffffffffLL) {
                isc_throw(HamuxConfigError, "'" << path.str() << "' has no 'id' (or not a"
                          " positive integer): with several relationships leases are tied"
                          " to their relationship by subnet id, so every subnet needs an"
                          " explicit one");
            }
            mapped[static_cast<uint32_t>(id->intValue())] = index;
            // hot-standby: a query is decided by the subnet Kea selects, and its leases
            // may be in any subnet of the shared network, so they must agree.
            if (network && relationships[index].failoverMode()) {
                if (network_index == relationships.size()) {
                    network_index = index;
                    network_path = path.str();
                } else if (network_index != index) {
                    isc_throw(HamuxConfigError, "'" << path.str() << "' is in relationship '"
                              << relationships[index].this_server_name << "' but '"
                              << network_path << "', of the same shared network, in '"
                              << relationships[network_index].this_server_name << "': in"
                              " hot-standby the subnets of a shared network belong to one"
                              " relationship");
                }
            }
        }
    };
    map(server->get(list), ConstElementPtr(), list);
    ConstElementPtr networks = server->get("shared-networks");
    if (networks && networks->getType() == Element::list) {
        for (size_t n = 0; n < networks->size(); ++n) {
            std::ostringstream path;
            path << "shared-networks[" << n << "]." << list;
            map(networks->get(n)->get(list), networks->get(n), path.str());
        }
    }
    subnet_relationships.swap(mapped);
}

ElementPtr
HookConfig::clientPeer(const RelationshipConfig& relationship,
                       const PeerConfig& peer) const {
    ElementPtr p = Element::createMap();
    for (auto const& entry : relationship.hamux_client->mapValue()) {
        if (entry.first != "io-threads" && entry.first != "drain-timeout-ms") {
            p->set(entry.first, entry.second);
        }
    }
    // As libdhcp_ha: one connection per client thread, 0 meaning Kea's thread count.
    int64_t connections = relationship.http_client_threads > 0
                          ? relationship.http_client_threads : dhcp_threads;
    if (!p->contains("connections-per-peer") && connections > 0) {
        p->set("connections-per-peer", Element::create(connections));
    }
    const PeerConfig* partner = relationship.failoverPeer();
    if (partner && partner->url.text == peer.url.text && !p->contains("max-frame-bytes")) {
        // A lease sync's page (sync-page-limit leases) comes back in one answer: room
        // for 2 KiB a lease, beyond hamux's 4 MiB default.
        int64_t page = static_cast<int64_t>(relationship.failover.sync_page_limit) * 2048;
        int64_t limit = std::max<int64_t>(4 << 20, std::min<int64_t>(page, 4294967295LL));
        p->set("max-frame-bytes", Element::create(limit));
    }
    p->set("url", Element::create(peer.url.text));
    if (peer.url.tls()) {
        p->set("trust-anchor", Element::create(peer.trust_anchor));
        if (!peer.cert_file.empty()) {
            p->set("cert-file", Element::create(peer.cert_file));
            p->set("key-file", Element::create(peer.key_file));
        }
    }
    if (!peer.basic_auth_user.empty()) {
        p->set("basic-auth-user", Element::create(peer.basic_auth_user));
        p->set("basic-auth-password", Element::create(peer.basic_auth_password));
    }
    return (p);
}

std::string
HookConfig::clientJson(bool poll) const {
    // The first relationship's keys at the top: hamux checks them even where there is no
    // backup to send to (one relationship: as its keys always were); each backup then
    // has its own relationship's (clientPeer).
    ElementPtr json = Element::createMap();
    for (auto const& entry : relationships[0].hamux_client->mapValue()) {
        json->set(entry.first, entry.second);
    }
    // The client's own keys: the largest any relationship gives.
    for (auto key : {"io-threads", "drain-timeout-ms"}) {
        for (auto const& relationship : relationships) {
            ConstElementPtr given = relationship.hamux_client->get(key);
            ConstElementPtr have = json->get(key);
            if (given && (!have || (given->getType() == Element::integer &&
                                    have->getType() == Element::integer &&
                                    given->intValue() > have->intValue()))) {
                json->set(key, boost::const_pointer_cast<Element>(given));
            }
        }
    }
    json->set("callbacks", Element::create(poll ? "poll" : "threads"));
    ElementPtr list = Element::createList();
    std::set<std::string> listed;
    for (auto const& relationship : relationships) {
        for (auto const peer : relationship.clientPeers()) {
            // A backup of several relationships is one peer (checkRelationships).
            if (listed.insert(peer->url.text).second) {
                list->add(clientPeer(relationship, *peer));
            }
        }
    }
    json->set("peers", list);
    return (json->str());
}

ElementPtr
HookConfig::listenerThreads(size_t index, bool poll) const {
    const RelationshipConfig& relationship = relationships[index];
    ElementPtr threads = Element::createMap();
    for (auto key : {"io-threads", "handler-threads"}) {
        ConstElementPtr given = relationship.hamux_listener->get(key);
        if (given) {
            threads->set(key, boost::const_pointer_cast<Element>(given));
        }
    }
    // As libdhcp_ha's listener threads, 0 meaning Kea's thread count.
    int64_t listeners = relationship.http_listener_threads > 0
                        ? relationship.http_listener_threads : dhcp_threads;
    if (!threads->contains("handler-threads") && !poll && listeners > 0) {
        if (lease_backend_in_memory) {
            threads->set("handler-threads", Element::create(static_cast<int64_t>(0)));
            if (!threads->contains("io-threads")) {
                threads->set("io-threads", Element::create(listeners));
            }
        } else {
            threads->set("handler-threads", Element::create(listeners));
        }
    }
    return (threads);
}

std::string
HookConfig::listenerJson(size_t index, bool poll) const {
    const RelationshipConfig& relationship = relationships[index];
    ElementPtr json = Element::createMap();
    for (auto const& entry : relationship.hamux_listener->mapValue()) {
        json->set(entry.first, entry.second);
    }
    const PeerConfig& self = relationship.thisServer();
    json->set("address", Element::create(self.url.host));
    json->set("port", Element::create(static_cast<int64_t>(self.url.port)));
    ElementPtr threads = listenerThreads(index, poll);
    for (auto const& entry : threads->mapValue()) {
        json->set(entry.first, entry.second);
    }
    json->set("callbacks", Element::create(poll ? "poll" : "threads"));
    if (self.url.tls()) {
        json->set("cert-file", Element::create(self.cert_file));
        json->set("key-file", Element::create(self.key_file));
        if (!self.trust_anchor.empty()) {
            json->set("trust-anchor", Element::create(self.trust_anchor));
        }
        json->set("require-client-certs", Element::create(relationship.require_client_certs));
    }
    return (json->str());
}

} // namespace hamux
} // namespace isc
