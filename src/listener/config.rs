//! Listener configuration: Kea-style keys and defaults.

use super::allow::AllowList;
use crate::config::{parse_object, ConfigObject};
use crate::tls::TlsFiles;
use crate::{Callbacks, Error};
use std::net::IpAddr;
use std::time::Duration;

/// Kea's HA lease traffic and heartbeats: the default `parallel-commands`.
pub(crate) const HA_PARALLEL_COMMANDS: [&str; 8] = [
    "ha-heartbeat",
    "lease4-update",
    "lease4-del",
    "lease4-bulk-apply",
    "lease6-update",
    "lease6-del",
    "lease6-bulk-apply",
    "ha-sync-complete-notify",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Address to bind (`address`).
    pub address: IpAddr,
    /// Port to bind; 0 picks a free one, readable with `hamux_listener_port` (`port`).
    pub port: u16,
    /// IO threads, each its own runtime (`io-threads`).
    pub io_threads: usize,
    /// Threads that run the host's request callback (`handler-threads`); 0: the IO thread
    /// that read a parallel request runs the callback itself (inline), and the serial lane
    /// has one thread of its own.
    pub handler_threads: usize,
    /// Largest request body accepted (`max-frame-bytes`).
    pub max_frame_bytes: usize,
    /// Requests handed to the host and not yet answered, over the whole listener; at the
    /// limit connections stop being read until the host answers (`max-pending`).
    pub max_pending: usize,
    /// Of those, how many one connection may have; at its limit that connection stops
    /// being read while the others go on (`max-pending-per-connection`).
    pub max_pending_per_connection: usize,
    /// Commands handed to the host in parallel (`parallel-commands`; default: Kea's HA
    /// lease commands and `ha-heartbeat`; `["*"]`: all). Any other command goes through
    /// the serial lane: one at a time, in arrival order. `None` means all.
    pub parallel_commands: Option<Vec<String>>,
    /// Where the request handler runs (`callbacks`: `"threads"` or `"poll"`).
    pub callbacks: Callbacks,
    /// Who may connect (`allowed-peers`); empty: everyone.
    pub allowed_peers: AllowList,
    /// Connections open at once; more are closed at accept (`max-connections`).
    pub max_connections: usize,
    /// Time a new connection has to send its first bytes (`handshake-timeout-ms`).
    pub handshake_timeout: Duration,
    /// A connection with nothing pending that sends nothing this long is closed
    /// (`idle-timeout-ms`; 0: never).
    pub idle_timeout: Duration,
    /// TLS (`trust-anchor`, `cert-file`, `key-file`, as in Kea): with `cert-file` set,
    /// every connection must start with a TLS handshake (`hamuxs://`, `https://`).
    pub tls: TlsFiles,
    /// With TLS: refuse clients that present no certificate signed by `trust-anchor`
    /// (`require-client-certs`, default true as in Kea).
    pub require_client_certs: bool,
    /// Graceful shutdown: how long connections may take to answer what they were handed
    /// before they are closed regardless (`drain-timeout-ms`; 0: close at once).
    pub drain_timeout: Duration,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            address: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            io_threads: 2,
            handler_threads: 4,
            max_frame_bytes: 4 * 1024 * 1024,
            max_pending: 4096,
            max_pending_per_connection: 1024,
            parallel_commands: Some(HA_PARALLEL_COMMANDS.iter().map(|c| c.to_string()).collect()),
            callbacks: Callbacks::Threads,
            allowed_peers: AllowList::default(),
            max_connections: 256,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            tls: TlsFiles::default(),
            require_client_certs: true,
            drain_timeout: Duration::from_secs(2),
        }
    }
}

fn parallel_commands(items: &[serde_json::Value]) -> Result<Option<Vec<String>>, Error> {
    let mut names = Vec::with_capacity(items.len());
    for item in items {
        match item.as_str() {
            Some("*") => return Ok(None),
            Some(name) => names.push(name.to_string()),
            None => {
                return Err(Error::config(format!("'parallel-commands' must list command names, got {item}")))
            }
        }
    }
    Ok(Some(names))
}

impl ListenerConfig {
    pub fn parse(text: &str) -> Result<ListenerConfig, Error> {
        let map = parse_object(text, "listener")?;
        let mut obj = ConfigObject::new(&map, "");
        let base = ListenerConfig::default();
        let address = match obj.string("address")? {
            None => base.address,
            Some(text) => text.parse().map_err(|_| {
                Error::config(format!("'address' must be an IPv4 or IPv6 address, got \"{text}\""))
            })?,
        };
        let config = ListenerConfig {
            address,
            port: obj.uint("port", base.port as u64, 0, 65535)? as u16,
            io_threads: obj.count("io-threads", base.io_threads, 1, 64)?,
            handler_threads: obj.count("handler-threads", base.handler_threads, 0, 256)?,
            max_frame_bytes: obj.count("max-frame-bytes", base.max_frame_bytes, 64, u32::MAX as usize)?,
            max_pending: obj.count("max-pending", base.max_pending, 1, 16 * 1024 * 1024)?,
            max_pending_per_connection: obj.count(
                "max-pending-per-connection",
                base.max_pending_per_connection,
                1,
                16 * 1024 * 1024,
            )?,
            callbacks: obj.callbacks()?,
            allowed_peers: AllowList::parse(obj.array("allowed-peers")?)?,
            max_connections: obj.count("max-connections", base.max_connections, 1, 1 << 20)?,
            handshake_timeout: obj.millis("handshake-timeout-ms", base.handshake_timeout, 1, 3_600_000)?,
            idle_timeout: obj.millis("idle-timeout-ms", base.idle_timeout, 0, 86_400_000)?,
            tls: TlsFiles::read(&mut obj, &base.tls)?,
            require_client_certs: obj.boolean("require-client-certs", base.require_client_certs)?,
            drain_timeout: obj.millis("drain-timeout-ms", base.drain_timeout, 0, 3_600_000)?,
            parallel_commands: match obj.array("parallel-commands")? {
                [] if !map.contains_key("parallel-commands") => base.parallel_commands,
                items => parallel_commands(items)?,
            },
        };
        obj.finish()?;
        if config.tls.trust_anchor.is_some() && config.tls.cert_file.is_none() {
            return Err(Error::config("'trust-anchor' on a listener needs 'cert-file' and 'key-file'"));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_values() {
        assert_eq!(ListenerConfig::parse("{}").unwrap(), ListenerConfig::default());
        let c = ListenerConfig::parse(r#"{"address": "::1", "port": 8000, "handler-threads": 8}"#).unwrap();
        assert_eq!((c.address.to_string().as_str(), c.port, c.handler_threads), ("::1", 8000, 8));
        assert!(c.parallel_commands.unwrap().contains(&"lease4-update".to_string()));
        let all = ListenerConfig::parse(r#"{"parallel-commands": ["*"]}"#).unwrap();
        assert_eq!(all.parallel_commands, None);
        let none = ListenerConfig::parse(r#"{"parallel-commands": []}"#).unwrap();
        assert_eq!(none.parallel_commands, Some(vec![]));
    }

    #[test]
    fn refuses_with_the_key_named() {
        for (text, key) in [
            (r#"{"address": "localhost"}"#, "'address'"),
            (r#"{"port": 70000}"#, "'port'"),
            (r#"{"handler-threads": 257}"#, "'handler-threads'"),
            (r#"{"max-pending": -1}"#, "'max-pending'"),
            (r#"{"drain-timeout-ms": "soon"}"#, "'drain-timeout-ms'"),
            (r#"{"max-pending-per-connection": 0}"#, "'max-pending-per-connection'"),
            (r#"{"prot": 1}"#, "'prot'"),
            (r#"{"parallel-commands": [1]}"#, "'parallel-commands'"),
            (r#"{"cert-file": "/c.pem"}"#, "'key-file'"),
            (r#"{"trust-anchor": "/ca.pem"}"#, "'cert-file'"),
            (r#"{"trust-anchor": ""}"#, "'trust-anchor'"),
            (r#"{"require-client-certs": "yes"}"#, "'require-client-certs'"),
        ] {
            let e = ListenerConfig::parse(text).unwrap_err();
            assert!(e.message.contains(key), "{text}: {}", e.message);
        }
    }
}
