//! The TLS handshake a TLS listener runs on each connection before anything else.

use crate::io::{NoSigpipeTcp, Stream};
use crate::listener::stats::ListenerCounters;
use crate::tls::TlsAcceptor;
use std::sync::atomic::Ordering::Relaxed;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Runs the TLS handshake (until `deadline`) if the listener has TLS, else passes the
/// connection through; `None` if it failed, counted and logged with the reason (an
/// untrusted or missing client certificate, a client that does not speak TLS).
pub(super) async fn handshake(
    stream: TcpStream,
    tls: Option<&TlsAcceptor>,
    counters: &ListenerCounters,
    peer: &str,
    deadline: Instant,
) -> Option<Stream> {
    let Some(acceptor) = tls else { return Some(Stream::Plain(stream)) };
    match tokio::time::timeout_at(deadline, acceptor.accept(NoSigpipeTcp(stream))).await {
        Ok(Ok(tls)) => Some(Stream::Server(Box::new(tls))),
        Ok(Err(e)) => {
            counters.tls_failures.fetch_add(1, Relaxed);
            let (_, reason) = crate::tls::describe_io_error(&e);
            tracing::warn!(%peer, %reason, "TLS handshake refused");
            None
        }
        Err(_) => {
            counters.handshake_timeouts.fetch_add(1, Relaxed);
            tracing::debug!(%peer, "closing a connection that did not finish TLS in time");
            None
        }
    }
}
