//! What the sessions of one listener share, and how a session reads its connection.

use crate::io::framed::FramedReader;
use crate::listener::config::ListenerConfig;
use crate::listener::dispatch::Dispatcher;
use crate::listener::drain::Drain;
use crate::listener::reply::Replies;
use crate::listener::stats::ListenerCounters;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncRead;

/// What every session of one listener shares.
pub(crate) struct SessionContext {
    pub(super) dispatcher: Arc<Dispatcher>,
    pub(super) counters: Arc<ListenerCounters>,
    pub(super) drain: Arc<Drain>,
    /// `max-frame-bytes`: the largest request body, in either protocol.
    pub(super) max_frame_bytes: usize,
    pub(super) idle_timeout: Duration,
}

/// How a session's reader ended.
pub(super) enum ReadEnd {
    /// The peer closed (or reset) the connection: close at once.
    PeerClosed,
    /// The peer broke the protocol; the session queued its answer: flush it, then close.
    Refused(String),
    /// The session stops reading but answers what it has (HTTP `Connection: close`, a
    /// hamux peer's Goaway, a graceful shutdown).
    Draining,
    /// Silent for `idle-timeout-ms` with nothing owed: flush what is queued, then close.
    /// The host's last answer may have come a moment before the timer fired and still be
    /// in the outbox; closing at once would drop it.
    Idle,
}

impl SessionContext {
    pub(crate) fn new(
        config: &ListenerConfig,
        dispatcher: Arc<Dispatcher>,
        counters: Arc<ListenerCounters>,
        drain: Arc<Drain>,
    ) -> SessionContext {
        SessionContext {
            dispatcher,
            counters,
            drain,
            max_frame_bytes: config.max_frame_bytes,
            idle_timeout: config.idle_timeout,
        }
    }

    /// Reads more of a connection into `reader`; `Some` once the peer closed or reset it
    /// ([`ReadEnd::PeerClosed`]), or stayed silent for `idle-timeout-ms` with nothing
    /// pending ([`ReadEnd::Idle`]).
    pub(super) async fn read_more<D, R: AsyncRead + Unpin>(
        &self,
        reader: &mut FramedReader<D>,
        io: &mut R,
        replies: &Replies,
    ) -> Option<ReadEnd> {
        loop {
            let read = reader.read_more(io);
            let outcome = if self.idle_timeout.is_zero() {
                read.await
            } else {
                match tokio::time::timeout(self.idle_timeout, read).await {
                    Ok(outcome) => outcome,
                    // Silent for the idle timeout: close unless the host still owes answers.
                    Err(_) if !replies.owed() => {
                        self.counters.idle_closed.fetch_add(1, Relaxed);
                        return Some(ReadEnd::Idle);
                    }
                    Err(_) => continue,
                }
            };
            return match outcome {
                Ok(n) => {
                    self.counters.bytes_in.fetch_add(n as u64, Relaxed);
                    None
                }
                Err(_) => Some(ReadEnd::PeerClosed),
            };
        }
    }
}
