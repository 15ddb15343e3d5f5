//! The listening socket: who may connect (`allowed-peers`), how many at once
//! (`max-connections`), the TLS handshake, and which IO thread serves each connection.

mod tls;

use crate::io::IoThreads;
use crate::listener::allow::AllowList;
use crate::listener::config::ListenerConfig;
use crate::listener::drain::Drain;
use crate::listener::session::{self, OpenConnection, SessionContext};
use crate::listener::stats::ListenerCounters;
use crate::tls::TlsAcceptor;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// How long the accept loop waits after an accept failed for want of a descriptor. The
/// connection stays in the kernel's backlog, so retrying at once would fail again (a
/// spin); a descriptor freed is used within this long.
const OUT_OF_DESCRIPTORS_BACKOFF: Duration = Duration::from_millis(50);
/// After any other accept error.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(10);
/// At most one "out of descriptors" log line this often; the counter counts every one.
const OUT_OF_DESCRIPTORS_LOG_EVERY: Duration = Duration::from_secs(10);

/// What the accept loop and each connection's first steps need.
pub(crate) struct Acceptor {
    sessions: Arc<SessionContext>,
    counters: Arc<ListenerCounters>,
    drain: Arc<Drain>,
    /// With `cert-file`: every connection starts with a TLS handshake.
    tls: Option<TlsAcceptor>,
    allowed: AllowList,
    max_connections: usize,
    handshake_timeout: Duration,
}

impl Acceptor {
    pub(crate) fn new(
        config: &ListenerConfig,
        tls: Option<TlsAcceptor>,
        sessions: Arc<SessionContext>,
        counters: Arc<ListenerCounters>,
        drain: Arc<Drain>,
    ) -> Acceptor {
        Acceptor {
            sessions,
            counters,
            drain,
            tls,
            allowed: config.allowed_peers.clone(),
            max_connections: config.max_connections,
            handshake_timeout: config.handshake_timeout,
        }
    }

    /// Accepts connections on `socket` (from the first IO thread) until the listener
    /// drains, and serves them on the IO threads in turn.
    pub(crate) fn spawn(self, socket: std::net::TcpListener, io: &IoThreads) {
        let handles: Vec<_> = (0..io.len()).map(|i| io.handle(i)).collect();
        let accepting = Arc::new(self);
        io.handle(0).spawn(async move {
            let drain = accepting.drain.clone();
            // Dropped last, after the socket: tells a shutdown the port is free.
            let _closed = drain.socket_guard();
            let listener = match tokio::net::TcpListener::from_std(socket) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(error = %e, "cannot register the listening socket");
                    return;
                }
            };
            let mut next = 0usize;
            let mut last_logged: Option<Instant> = None;
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = drain.begun() => return,
                };
                match accepted {
                    Ok((stream, from)) => {
                        if !accepting.allowed.allows(from) {
                            // Closed at once: no byte is read from a stranger.
                            accepting.counters.refused.fetch_add(1, Relaxed);
                            tracing::warn!(peer = %from, "connection refused: not in allowed-peers");
                            drop(stream);
                            continue;
                        }
                        let max_connections = accepting.max_connections;
                        if accepting.counters.open.load(Relaxed) >= max_connections as u64 {
                            accepting.counters.over_limit.fetch_add(1, Relaxed);
                            tracing::warn!(peer = %from, max_connections, "connection refused: max-connections reached");
                            drop(stream);
                            continue;
                        }
                        // Taken off this thread's reactor and registered with the reactor
                        // of the thread that serves it: else every readiness event of a
                        // connection served elsewhere would wake that thread from here.
                        let stream = match stream.into_std() {
                            Ok(s) => s,
                            Err(e) => {
                                tracing::warn!(peer = %from, error = %e, "cannot hand over an accepted connection");
                                continue;
                            }
                        };
                        accepting.counters.accepted.fetch_add(1, Relaxed);
                        let open = OpenConnection::new(&accepting.sessions);
                        let serving = accepting.clone();
                        handles[next % handles.len()].spawn(async move {
                            match TcpStream::from_std(stream) {
                                Ok(stream) => serving.serve(stream, open).await,
                                Err(e) => tracing::warn!(error = %e, "cannot register an accepted connection"),
                            }
                        });
                        next += 1;
                    }
                    Err(e) if crate::io::is_out_of_descriptors(&e) => {
                        let failures = accepting.counters.out_of_descriptors.fetch_add(1, Relaxed) + 1;
                        if last_logged.is_none_or(|t| t.elapsed() >= OUT_OF_DESCRIPTORS_LOG_EVERY) {
                            last_logged = Some(Instant::now());
                            tracing::error!(
                                open = accepting.counters.open.load(Relaxed),
                                max_connections = accepting.max_connections,
                                failures,
                                "cannot accept connections: {}; new connections wait in the backlog \
                                 until a descriptor is free. Raise the limit (ulimit -n, LimitNOFILE) \
                                 above max-connections plus the process's other descriptors, or lower \
                                 max-connections",
                                crate::io::which_limit(&e),
                            );
                        }
                        tokio::time::sleep(OUT_OF_DESCRIPTORS_BACKOFF).await;
                    }
                    Err(e) => {
                        // Back off instead of spinning on an error that persists.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                    }
                }
            }
        });
    }

    /// Serves an accepted connection; `open` was taken at accept, so the connection counts
    /// against `max-connections` from that moment.
    async fn serve(self: Arc<Self>, stream: TcpStream, open: OpenConnection) {
        let _ = stream.set_nodelay(true);
        let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
        // One deadline for the TLS handshake and the first bytes together.
        let deadline = tokio::time::Instant::now() + self.handshake_timeout;
        let stream = tokio::select! {
            stream = tls::handshake(stream, self.tls.as_ref(), &self.counters, &peer, deadline) => stream,
            _ = self.drain.begun() => return,
        };
        let Some(stream) = stream else { return };
        session::serve(&self.sessions, stream, &peer, deadline, &open).await;
    }
}
