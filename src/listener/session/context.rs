//! What the sessions of one listener share, and how a session reads its connection.

use crate::io::framed::FramedReader;
use crate::listener::config::ListenerConfig;
use crate::listener::dispatch::Dispatcher;
use crate::listener::drain::Drain;
use crate::listener::reply::Replies;
use crate::listener::stats::ListenerCounters;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncRead;
use tokio::time::{Instant, Sleep};

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
    ///
    /// `timer` is the connection's one idle timer, for all its reads. A read runs once per
    /// request when requests come one at a time (an HTTP peer, a quiet `hamux://` one);
    /// a timer registered with the runtime for each read and deregistered microseconds
    /// later, when the request arrives, cost more than the read. The timer is moved only
    /// when it would fire after this read's idle deadline, or when it fires for an
    /// earlier read's: about once per idle timeout, not once per request.
    pub(super) async fn read_more<D, R: AsyncRead + Unpin>(
        &self,
        reader: &mut FramedReader<D>,
        io: &mut R,
        replies: &Replies,
        mut timer: Pin<&mut Sleep>,
    ) -> Option<ReadEnd> {
        let read = reader.read_more(io);
        tokio::pin!(read);
        let outcome = if self.idle_timeout.is_zero() {
            read.await
        } else {
            let mut due = Instant::now() + self.idle_timeout;
            if timer.deadline() > due {
                timer.as_mut().reset(due);
            }
            loop {
                tokio::select! {
                    biased;
                    outcome = &mut read => break outcome,
                    () = &mut timer => {
                        let now = Instant::now();
                        if now >= due {
                            if !replies.owed() {
                                self.counters.idle_closed.fetch_add(1, Relaxed);
                                return Some(ReadEnd::Idle);
                            }
                            // Silent, but the host still owes answers: wait another idle timeout.
                            due = now + self.idle_timeout;
                        }
                        timer.as_mut().reset(due);
                    }
                }
            }
        };
        match outcome {
            Ok(n) => {
                self.counters.bytes_in.fetch_add(n as u64, Relaxed);
                None
            }
            Err(_) => Some(ReadEnd::PeerClosed),
        }
    }
}

/// A connection's idle timer, for [`SessionContext::read_more`]; it first fires at once
/// and is then set by the first read.
pub(super) fn idle_timer() -> Sleep {
    tokio::time::sleep_until(Instant::now())
}
