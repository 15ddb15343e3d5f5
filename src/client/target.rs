//! What every connection to one peer shares: its URL, settings and counters, how to
//! connect, and the backoff between failed attempts.

use super::stats::PeerCounters;
use super::PeerSettings;
use crate::PeerUrl;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};

pub(crate) struct PeerTarget {
    pub(crate) url: PeerUrl,
    pub(crate) settings: PeerSettings,
    pub(crate) counters: Arc<PeerCounters>,
}

impl PeerTarget {
    /// Opens a TCP connection within `connect-timeout-ms`; the error text is for callbacks.
    pub(crate) async fn connect(&self) -> Result<TcpStream, String> {
        let attempt = tokio::time::timeout(self.settings.connect_timeout, self.open());
        match attempt.await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                Ok(stream)
            }
            Ok(Err(e)) => Err(format!("cannot connect to {}{}: {e}", self.url, self.from())),
            Err(_) => Err(format!(
                "cannot connect to {}: no answer within {} ms",
                self.url,
                self.settings.connect_timeout.as_millis()
            )),
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

/// Exponential backoff between connect attempts, with jitter so that many clients that
/// lost the same peer do not reconnect in lockstep.
pub(crate) struct Backoff {
    current: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { current: Backoff::FIRST }
    }
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(50);
    const MAX: Duration = Duration::from_secs(2);

    pub(crate) fn next(&mut self) -> Duration {
        let base = self.current;
        self.current = (self.current * 2).min(Backoff::MAX);
        let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let nanos = clock.subsec_nanos() as u64 ^ std::process::id() as u64;
        base + Duration::from_millis(nanos % (base.as_millis() as u64 / 2 + 1))
    }

    pub(crate) fn reset(&mut self) {
        self.current = Backoff::FIRST;
    }
}
