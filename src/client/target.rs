//! What every connection to one peer shares: its URL, settings and counters, and how to
//! connect (from the source address, with the TLS handshake, within the connect timeout).
//! When to connect is the [`supervisor`](super::supervisor)'s business.

use super::config::PeerSettings;
use super::stats::PeerCounters;
use crate::io::{NoSigpipeTcp, Stream};
use crate::tls::{self, TlsConnector};
use crate::{Error, PeerUrl, Status};
use rustls::pki_types::ServerName;
use std::sync::Arc;
use tokio::net::{TcpSocket, TcpStream};

pub(crate) struct PeerTarget {
    pub(crate) url: PeerUrl,
    pub(crate) settings: PeerSettings,
    pub(crate) counters: Arc<PeerCounters>,
    /// `hamuxs://`, `https://`: the TLS client and the name the peer's certificate must carry.
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

/// Why a connection could not be opened: the status the waiting requests complete with
/// (CONNECT, or TLS when the handshake failed) and a message naming the peer.
pub(crate) type ConnectError = (Status, String);

impl PeerTarget {
    /// Reads the TLS material of a `hamuxs://` or `https://` peer up front, so a missing or
    /// broken file is reported when the peer is configured rather than on every request.
    pub(crate) fn new(url: PeerUrl, settings: PeerSettings) -> Result<PeerTarget, Error> {
        let tls = if url.tls {
            let name = url.to_string();
            let connector = tls::connector(&settings.tls, &name)
                .map_err(|e| Error::new(e.status, format!("peer {name}: {}", e.message)))?;
            Some((connector, tls::server_name(&url.host)?))
        } else {
            None
        };
        Ok(PeerTarget { url, settings, counters: Arc::new(PeerCounters::default()), tls })
    }

    /// Opens a connection (TCP, then the TLS handshake for a TLS peer) within
    /// `connect-timeout-ms`; the error text is for callbacks.
    pub(crate) async fn connect(&self) -> Result<Stream, ConnectError> {
        let limit = self.settings.connect_timeout;
        let deadline = tokio::time::Instant::now() + limit;
        let unreachable = || {
            (
                Status::Connect,
                format!("cannot connect to {}: no answer within {} ms", self.url, limit.as_millis()),
            )
        };
        let stream = match tokio::time::timeout_at(deadline, self.open()).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) if crate::io::is_out_of_descriptors(&e) => {
                // Not the peer's fault: say which limit, so the host can size it.
                self.counters.out_of_descriptors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Err((
                    Status::Connect,
                    format!(
                        "cannot connect to {}: {}; raise the limit or lower connections-per-peer",
                        self.url,
                        crate::io::which_limit(&e)
                    ),
                ));
            }
            Ok(Err(e)) => {
                return Err((Status::Connect, format!("cannot connect to {}{}: {e}", self.url, self.from())))
            }
            Err(_) => return Err(unreachable()),
        };
        let _ = stream.set_nodelay(true);
        let Some((connector, name)) = &self.tls else { return Ok(Stream::Plain(stream)) };
        // The handshake shares the connect deadline: a peer that accepts TCP but never
        // finishes TLS (a stalled process) is as unreachable as one that does not answer.
        match tokio::time::timeout_at(deadline, connector.connect(name.clone(), NoSigpipeTcp(stream))).await {
            Ok(Ok(tls)) => Ok(Stream::Client(Box::new(tls))),
            Ok(Err(e)) => {
                let (status, text) = tls::describe_io_error(&e);
                Err((status, format!("TLS handshake with {} failed: {text}", self.url)))
            }
            Err(_) => Err(unreachable()),
        }
    }
}

impl PeerTarget {
    /// Resolves the peer and connects, from `source-address`/`source-port` if set.
    async fn open(&self) -> std::io::Result<TcpStream> {
        let authority = self.url.authority();
        let Some(source) = self.settings.source else { return TcpStream::connect(&authority).await };
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address of the peer's family");
        for addr in tokio::net::lookup_host(&authority).await? {
            if addr.is_ipv4() != source.is_ipv4() {
                continue;
            }
            let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
            // A fixed source port must be reusable right after the previous connection.
            socket.set_reuseaddr(true)?;
            socket.bind(source)?;
            match socket.connect(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn from(&self) -> String {
        self.settings.source.map(|s| format!(" from {s}")).unwrap_or_default()
    }
}
