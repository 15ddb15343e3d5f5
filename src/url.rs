//! Peer URLs: `hamux://host:port` (the multiplexed protocol), `http://host:port/path`
//! (Kea's HTTP/1.1), and their TLS forms `hamuxs://` and `https://`.

use crate::Error;
use std::fmt;

/// Which protocol a peer URL asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `hamux://` — length-prefixed frames, many transactions in flight, replies in any order.
    Hamux,
    /// `http://` — HTTP/1.1 as Kea HA peers speak it: one transaction at a time per connection.
    Http,
}

impl Scheme {
    /// The protocol and whether it runs over TLS.
    fn parse(text: &str) -> Option<(Scheme, bool)> {
        match text.to_ascii_lowercase().as_str() {
            "hamux" => Some((Scheme::Hamux, false)),
            "hamuxs" => Some((Scheme::Hamux, true)),
            "http" => Some((Scheme::Http, false)),
            "https" => Some((Scheme::Http, true)),
            _ => None,
        }
    }
}

/// A parsed peer URL. `host` is kept as written (a name is resolved at connect time).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PeerUrl {
    pub scheme: Scheme,
    /// `hamuxs://` or `https://`: the connection runs over TLS.
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl PeerUrl {
    /// Parses `scheme://host:port[/path]`; IPv6 hosts are written in brackets.
    pub fn parse(text: &str) -> Result<PeerUrl, Error> {
        let bad = |why: &str| Error::invalid(format!("bad peer URL '{text}': {why}"));
        let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("expected scheme://host:port"))?;
        let (scheme, tls) = Scheme::parse(scheme)
            .ok_or_else(|| bad("unknown scheme (expected hamux://, hamuxs://, http:// or https://)"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
            let (host, after) = stripped.split_once(']').ok_or_else(|| bad("unclosed '[' in host"))?;
            let port = after.strip_prefix(':').ok_or_else(|| bad("missing port"))?;
            (host, port)
        } else {
            authority.rsplit_once(':').ok_or_else(|| bad("missing port"))?
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        let port: u16 = port.parse().map_err(|_| bad("port must be a number from 1 to 65535"))?;
        if port == 0 {
            return Err(bad("port must be a number from 1 to 65535"));
        }
        Ok(PeerUrl { scheme, tls, host: host.to_string(), port, path: path.to_string() })
    }

    /// `host:port` as a socket address string (brackets around IPv6).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for PeerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match (self.scheme, self.tls) {
            (Scheme::Hamux, false) => "hamux",
            (Scheme::Hamux, true) => "hamuxs",
            (Scheme::Http, false) => "http",
            (Scheme::Http, true) => "https",
        };
        // hamux:// has no paths; an HTTP URL is shown as it is used, path included.
        let path = if self.scheme == Scheme::Hamux { "" } else { &self.path };
        write!(f, "{scheme}://{}{path}", self.authority())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_ports_and_ipv6() {
        let u = PeerUrl::parse("hamux://127.0.0.1:8000").unwrap();
        assert_eq!(
            (u.scheme, u.host.as_str(), u.port, u.path.as_str()),
            (Scheme::Hamux, "127.0.0.1", 8000, "/")
        );
        let u = PeerUrl::parse("HAMUX://[::1]:9/x").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.path.as_str()), ("::1", 9, "/x"));
        assert_eq!(u.authority(), "[::1]:9");
        let u = PeerUrl::parse("http://127.0.0.1:8001/").unwrap();
        assert_eq!((u.scheme, u.tls, u.path.as_str()), (Scheme::Http, false, "/"));
    }

    #[test]
    fn tls_schemes_keep_their_protocol() {
        let u = PeerUrl::parse("hamuxs://127.0.0.1:8000").unwrap();
        assert_eq!((u.scheme, u.tls), (Scheme::Hamux, true));
        assert_eq!(u.to_string(), "hamuxs://127.0.0.1:8000");
        let u = PeerUrl::parse("HTTPS://kea.example:8001/").unwrap();
        assert_eq!((u.scheme, u.tls), (Scheme::Http, true));
        assert_eq!(u.to_string(), "https://kea.example:8001/");
    }

    #[test]
    fn refuses_bad_urls_with_reason() {
        for (url, why) in [
            ("ftp://h:1", "unknown scheme"),
            ("hamux://h", "missing port"),
            ("hamux://:5", "empty host"),
            ("hamux://h:0", "port"),
            ("hamux://h:99999", "port"),
            ("h:1", "scheme://"),
            ("hamux://[::1:5", "unclosed"),
        ] {
            let e = PeerUrl::parse(url).unwrap_err();
            assert!(e.message.contains(why), "{url}: {}", e.message);
        }
    }
}
