//! Client configuration: Kea-style keys, defaults, per-peer overrides.

use crate::codec::http;
use crate::config::{parse_object, ConfigObject};
use crate::tls::TlsFiles;
use crate::{Callbacks, Error, PeerUrl};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Settings that apply to one peer (defaults at the top level, overridable per peer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerSettings {
    /// Connections opened to the peer (`connections-per-peer`).
    pub connections: usize,
    /// Requests accepted but not yet completed, beyond which sends get BUSY (`max-in-flight`).
    pub max_in_flight: usize,
    /// Deadline of one transaction, from send to reply (`request-timeout-ms`).
    pub request_timeout: Duration,
    /// Deadline of one TCP connect (`connect-timeout-ms`).
    pub connect_timeout: Duration,
    /// Largest request or reply body (`max-frame-bytes`).
    pub max_frame_bytes: usize,
    /// HTTP only: the `Authorization` header value built from Kea's `basic-auth-user` and
    /// `basic-auth-password`.
    pub basic_auth: Option<String>,
    /// HTTP only: when a reused keep-alive connection turns out closed by the peer after
    /// the request was written, send it again once on a new connection
    /// (`resend-after-idle-close`; off by default, as the peer may have executed it).
    pub resend_after_idle_close: bool,
    /// Local address (and port) outgoing connections are bound to before connecting
    /// (`source-address`, `source-port`), so a partner's allow-list can pin them.
    pub source: Option<SocketAddr>,
    /// `hamux://` liveness: a Ping after this long without hearing from the peer
    /// (`ping-interval-ms`; 0 turns pings off) ...
    pub ping_interval: Duration,
    /// ... and the connection is given up if nothing arrives this long after it
    /// (`ping-timeout-ms`), so a vanished peer is detected within interval + timeout.
    pub ping_timeout: Duration,
    /// `hamuxs://` and `https://`: the CA that signed the peer's certificate, and this
    /// end's certificate and key if the peer asks for one (`trust-anchor`, `cert-file`,
    /// `key-file`, as in Kea's HA peer entries).
    pub tls: TlsFiles,
}

impl Default for PeerSettings {
    fn default() -> Self {
        PeerSettings {
            connections: 2,
            max_in_flight: 4096,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_frame_bytes: 4 * 1024 * 1024,
            basic_auth: None,
            resend_after_idle_close: false,
            source: None,
            ping_interval: Duration::from_secs(2),
            ping_timeout: Duration::from_secs(3),
            tls: TlsFiles::default(),
        }
    }
}

/// The whole client configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// IO threads, each its own runtime (`io-threads`).
    pub io_threads: usize,
    /// How long `free` waits for outstanding replies before cancelling (`drain-timeout-ms`).
    pub drain_timeout: Duration,
    /// Settings for peers not listed in `peers`.
    pub defaults: PeerSettings,
    /// Listed peers: URL as given, and its settings.
    pub peers: Vec<(String, PeerSettings)>,
    /// Where completions run (`callbacks`: `"threads"` or `"poll"`).
    pub callbacks: Callbacks,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            io_threads: 2,
            drain_timeout: Duration::from_secs(2),
            defaults: PeerSettings::default(),
            peers: Vec::new(),
            callbacks: Callbacks::Threads,
        }
    }
}

const MAX_FRAME_LIMIT: u64 = u32::MAX as u64;
const HOUR_MS: u64 = 3_600_000;

fn read_peer_settings(obj: &mut ConfigObject<'_>, base: &PeerSettings) -> Result<PeerSettings, Error> {
    let basic_auth = match (obj.string("basic-auth-user")?, obj.string("basic-auth-password")?) {
        (Some(user), password) => Some(http::basic_authorization(user, password.unwrap_or(""))),
        (None, Some(_)) => {
            return Err(Error::config(format!(
                "'{}' needs '{}'",
                obj.key_name("basic-auth-password"),
                obj.key_name("basic-auth-user")
            )))
        }
        (None, None) => base.basic_auth.clone(),
    };
    let source = read_source(obj, base)?;
    Ok(PeerSettings {
        source,
        tls: TlsFiles::read(obj, &base.tls)?,
        ping_interval: obj.millis("ping-interval-ms", base.ping_interval, 0, HOUR_MS)?,
        ping_timeout: obj.millis("ping-timeout-ms", base.ping_timeout, 1, HOUR_MS)?,
        basic_auth,
        resend_after_idle_close: obj.boolean("resend-after-idle-close", base.resend_after_idle_close)?,
        connections: obj.count("connections-per-peer", base.connections, 1, 1024)?,
        max_in_flight: obj.count("max-in-flight", base.max_in_flight, 1, 16 * 1024 * 1024)?,
        request_timeout: obj.millis("request-timeout-ms", base.request_timeout, 1, HOUR_MS)?,
        connect_timeout: obj.millis("connect-timeout-ms", base.connect_timeout, 1, HOUR_MS)?,
        max_frame_bytes: obj.count("max-frame-bytes", base.max_frame_bytes, 64, MAX_FRAME_LIMIT as usize)?,
    })
}

fn read_source(obj: &mut ConfigObject<'_>, base: &PeerSettings) -> Result<Option<SocketAddr>, Error> {
    let address = match obj.string("source-address")? {
        None => None,
        Some(text) => Some(text.parse::<IpAddr>().map_err(|_| {
            Error::config(format!(
                "'{}' must be an IP address, got \"{text}\"",
                obj.key_name("source-address")
            ))
        })?),
    };
    let port = obj.uint("source-port", base.source.map_or(0, |s| s.port()) as u64, 0, 65535)? as u16;
    Ok(match (address, port) {
        (Some(ip), port) => Some(SocketAddr::new(ip, port)),
        (None, 0) => base.source,
        (None, port) => {
            let ip = base.source.map_or(IpAddr::from([0, 0, 0, 0]), |s| s.ip());
            Some(SocketAddr::new(ip, port))
        }
    })
}

impl ClientConfig {
    /// Parses the client's JSON configuration; `{}` gives the defaults.
    pub fn parse(text: &str) -> Result<ClientConfig, Error> {
        let map = parse_object(text, "client")?;
        let mut top = ConfigObject::new(&map, "");
        let base = ClientConfig::default();
        let io_threads = top.count("io-threads", base.io_threads, 1, 64)?;
        let drain_timeout = top.millis("drain-timeout-ms", base.drain_timeout, 0, HOUR_MS)?;
        let callbacks = top.callbacks()?;
        let defaults = read_peer_settings(&mut top, &base.defaults)?;
        if defaults.source.is_some_and(|s| s.port() != 0) && defaults.connections > 1 {
            return Err(Error::config(
                "'source-port': one source port carries one connection; set connections-per-peer to 1",
            ));
        }
        let mut peers = Vec::new();
        for (i, item) in top.array("peers")?.iter().enumerate() {
            let path = format!("peers[{i}]");
            let Some(map) = item.as_object() else {
                return Err(Error::config(format!("'{path}' must be an object")));
            };
            let mut peer = ConfigObject::new(map, path.clone());
            let url =
                peer.string("url")?.ok_or_else(|| Error::config(format!("'{path}.url' is required")))?;
            PeerUrl::parse(url).map_err(|e| Error::config(format!("'{path}.url': {}", e.message)))?;
            if peers.iter().any(|(u, _)| u == url) {
                return Err(Error::config(format!("'{path}.url': peer '{url}' is listed twice")));
            }
            let settings = read_peer_settings(&mut peer, &defaults)?;
            if settings.source.is_some_and(|s| s.port() != 0) && settings.connections > 1 {
                return Err(Error::config(format!(
                    "'{path}.source-port': one source port carries one connection; set connections-per-peer to 1"
                )));
            }
            peer.finish()?;
            peers.push((url.to_string(), settings));
        }
        top.finish()?;
        Ok(ClientConfig { io_threads, drain_timeout, defaults, peers, callbacks })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_gives_defaults() {
        assert_eq!(ClientConfig::parse("{}").unwrap(), ClientConfig::default());
    }

    #[test]
    fn peers_inherit_and_override() {
        let c = ClientConfig::parse(
            r#"{"io-threads": 3, "max-in-flight": 10, "request-timeout-ms": 500,
                "peers": [{"url": "hamux://127.0.0.1:1", "connections-per-peer": 7}]}"#,
        )
        .unwrap();
        assert_eq!(c.io_threads, 3);
        let (url, p) = &c.peers[0];
        assert_eq!(url, "hamux://127.0.0.1:1");
        assert_eq!((p.connections, p.max_in_flight, p.request_timeout), (7, 10, Duration::from_millis(500)));
    }

    #[test]
    fn basic_auth_becomes_a_header_value() {
        let c = ClientConfig::parse(
            r#"{"peers": [{"url": "http://127.0.0.1:1/", "basic-auth-user": "Aladdin",
                "basic-auth-password": "open sesame", "resend-after-idle-close": true}]}"#,
        )
        .unwrap();
        let p = &c.peers[0].1;
        assert_eq!(p.basic_auth.as_deref(), Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
        assert!(p.resend_after_idle_close);
        assert_eq!(c.defaults.basic_auth, None);
    }

    #[test]
    fn refuses_with_the_key_named() {
        for (text, key) in [
            (r#"{"io-thread": 1}"#, "'io-thread'"),
            (r#"{"io-threads": 0}"#, "'io-threads'"),
            (r#"{"max-in-flight": "x"}"#, "'max-in-flight'"),
            (r#"{"peers": [{"connections-per-peer": 1}]}"#, "'peers[0].url'"),
            (r#"{"peers": [{"url": "ftp://x:1"}]}"#, "'peers[0].url'"),
            (r#"{"peers": [{"url": "hamux://x:1", "bogus": 1}]}"#, "'peers[0].bogus'"),
            (r#"{"peers": 5}"#, "'peers'"),
            (r#"{"callbacks": "fibers"}"#, "'callbacks'"),
            (r#"{"source-address": "here"}"#, "'source-address'"),
            (
                r#"{"peers": [{"url": "hamux://x:1", "source-port": 4000, "connections-per-peer": 2}]}"#,
                "source-port",
            ),
            (r#"{"basic-auth-password": "x"}"#, "'basic-auth-user'"),
            (r#"{"resend-after-idle-close": 1}"#, "'resend-after-idle-close'"),
        ] {
            let e = ClientConfig::parse(text).unwrap_err();
            assert_eq!(e.status, crate::Status::Config);
            assert!(e.message.contains(key), "{text}: {}", e.message);
        }
    }
}
