//! One accepted connection: tells `hamux://` from HTTP/1.1 by its first bytes, then runs
//! the matching session's reader on its IO thread while the writer sends replies as the
//! host produces them.

use super::command::command_name;
use super::drain::{self, Drain};
use super::handlers::Handlers;
use super::reply::Replies;
use super::request::Request;
use super::serial::SerialLane;
use super::stats::ListenerCounters;
use super::{hamux_session, http_session};
use crate::codec;
use crate::io::{write_loop, NoSigpipeTcp, Stream};
use crate::tls::TlsAcceptor;
use std::collections::HashSet;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What every connection of one listener shares.
pub(crate) struct ConnectionContext {
    pub(crate) workers: Arc<Handlers>,
    pub(crate) serial: Arc<SerialLane>,
    /// Commands handed to the host in parallel; `None`: all of them.
    pub(crate) parallel_commands: Option<HashSet<String>>,
    pub(crate) pending: Arc<Semaphore>,
    /// `max-pending-per-connection`: the size of each connection's own share.
    pub(crate) max_pending_per_connection: usize,
    pub(crate) counters: Arc<ListenerCounters>,
    pub(crate) max_frame_bytes: usize,
    pub(crate) handshake_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    /// With `cert-file`: every connection starts with a TLS handshake.
    pub(crate) tls: Option<TlsAcceptor>,
    pub(crate) drain: Arc<Drain>,
}

/// A connection's own share of pending requests (`max-pending-per-connection`).
pub(crate) fn connection_slots(ctx: &ConnectionContext) -> Arc<Semaphore> {
    Arc::new(Semaphore::new(ctx.max_pending_per_connection))
}

/// What a request handed to the host holds until it is answered: a slot of its
/// connection's share and one of the listener's `max-pending`.
pub(crate) struct PendingSlot {
    _connection: OwnedSemaphorePermit,
    _listener: OwnedSemaphorePermit,
}

async fn acquire(slots: &Arc<Semaphore>) -> OwnedSemaphorePermit {
    match slots.clone().try_acquire_owned() {
        Ok(permit) => permit,
        Err(_) => slots.clone().acquire_owned().await.expect("pending semaphores are never closed"),
    }
}

impl ConnectionContext {
    /// Takes a slot of the connection's share (`connection`, from [`connection_slots`]),
    /// then one of the listener's `max-pending`. At either limit it waits, and so stops
    /// reading this connection, until the host answers something — backpressure reaches
    /// the peer via TCP. The connection's own share is taken first: a connection that
    /// floods requests stops at its share, holding no more of the listener's slots than
    /// that, and the others keep being served.
    pub(crate) async fn pending_slot(&self, connection: &Arc<Semaphore>) -> PendingSlot {
        let own = acquire(connection).await;
        PendingSlot { _connection: own, _listener: acquire(&self.pending).await }
    }

    /// Hands a request to the handler threads. The queue holds `max-pending` items and
    /// each queued request holds a slot, so it is full only while shutting down; the
    /// request is then dropped and answers CANCELLED itself.
    /// Reads more of a connection into `buf`; false once the peer closed or reset it, or
    /// stayed silent for `idle-timeout-ms` with nothing pending.
    pub(crate) async fn read_more<R: AsyncRead + Unpin>(
        &self,
        reader: &mut R,
        buf: &mut Vec<u8>,
        replies: &Replies,
    ) -> bool {
        if buf.capacity() - buf.len() < 16 * 1024 {
            buf.reserve(64 * 1024);
        }
        loop {
            let read = reader.read_buf(buf);
            let outcome = if self.idle_timeout.is_zero() {
                read.await
            } else {
                match tokio::time::timeout(self.idle_timeout, read).await {
                    Ok(outcome) => outcome,
                    // Silent for the idle timeout: close unless the host still owes answers.
                    Err(_) if replies.outstanding.load(Relaxed) == 0 => {
                        self.counters.idle_closed.fetch_add(1, Relaxed);
                        return false;
                    }
                    Err(_) => continue,
                }
            };
            return match outcome {
                Ok(0) | Err(_) => false,
                Ok(n) => {
                    self.counters.bytes_in.fetch_add(n as u64, Relaxed);
                    true
                }
            };
        }
    }

    /// Commands not in `parallel-commands` go through the serial lane instead.
    pub(crate) fn dispatch(&self, request: Request) {
        self.counters.requests.fetch_add(1, Relaxed);
        let parallel = match &self.parallel_commands {
            None => true,
            Some(names) => command_name(request.body()).is_some_and(|c| names.contains(&c)),
        };
        if parallel {
            let _ = self.workers.submit(request);
        } else {
            self.counters.serial_requests.fetch_add(1, Relaxed);
            self.serial.submit(request);
        }
    }
}

/// How a session's reader ended.
pub(crate) enum ReadEnd {
    /// The peer closed (or reset) the connection: close at once.
    PeerClosed,
    /// The peer broke the protocol; the session queued its answer: flush it, then close.
    Refused(String),
    /// The session stops reading but answers what it has (HTTP `Connection: close`, a
    /// hamux peer's Goaway, a graceful shutdown).
    Draining,
}

/// How long a closing connection may take to flush its last answers.
const CLOSE_FLUSH: Duration = Duration::from_secs(10);

/// Serves an accepted connection; `open` was taken at accept, so the connection counts
/// against `max-connections` from that moment.
pub(crate) async fn serve(stream: TcpStream, ctx: Arc<ConnectionContext>, open: OpenConnection) {
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    // One deadline for the TLS handshake and the first bytes together.
    let deadline = tokio::time::Instant::now() + ctx.handshake_timeout;
    let stream = tokio::select! {
        stream = handshake(stream, &ctx, &peer, deadline) => stream,
        _ = ctx.drain.begun() => return,
    };
    let Some(stream) = stream else { return };
    let (mut reader, mut writer) = stream.into_split();
    let replies = open.replies.clone();

    // The first bytes tell the protocols apart: a hamux hello starts with its magic.
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    // A connection that does not say which protocol it speaks in time is closed.
    let sniff = async {
        loop {
            let have = buf.len().min(codec::frame::MAGIC.len());
            if buf[..have] != codec::frame::MAGIC[..have] {
                return Some(false);
            }
            if have == codec::frame::MAGIC.len() {
                return Some(true);
            }
            if !ctx.read_more(&mut reader, &mut buf, &replies).await {
                return None;
            }
        }
    };
    let sniffed = tokio::select! {
        sniffed = tokio::time::timeout_at(deadline, sniff) => sniffed,
        // Shutting down: a connection that has not said what it speaks is just closed.
        _ = ctx.drain.begun() => return,
    };
    let is_hamux = match sniffed {
        Ok(Some(is_hamux)) => is_hamux,
        Ok(None) => return,
        Err(_) => {
            ctx.counters.handshake_timeouts.fetch_add(1, Relaxed);
            tracing::debug!(%peer, "closing a connection that sent nothing in time");
            return;
        }
    };

    let read = async {
        if is_hamux {
            hamux_session::read_requests(&mut reader, buf, &replies, &ctx).await
        } else {
            http_session::read_requests(&mut reader, buf, &replies, &ctx).await
        }
    };
    let write = write_loop(
        &replies.outbox,
        &mut writer,
        |_| {},
        |n| {
            ctx.counters.bytes_out.fetch_add(n as u64, Relaxed);
        },
    );
    // Resolves when a graceful shutdown's drain time is up: then the connection closes.
    let goodbye = drain::goodbye(&ctx.drain, &replies, is_hamux);
    tokio::pin!(read, write, goodbye);
    let end = tokio::select! {
        // Reader first: its first step queues the hamux hello, which must precede a Goaway.
        biased;
        end = &mut read => end,
        _ = &mut write => return,
        _ = &mut goodbye => return,
    };
    let drain = match end {
        ReadEnd::PeerClosed => return,
        ReadEnd::Refused(why) => {
            ctx.counters.protocol_errors.fetch_add(1, Relaxed);
            tracing::debug!(%peer, error = %why, "refusing connection");
            if is_hamux {
                replies.outbox.close();
            }
            false
        }
        ReadEnd::Draining => true,
    };
    // Nothing more is read: (draining) answer what was handed to the host; flush; close.
    // An HTTP session's last answer closes the outbox itself; closing it again is harmless.
    let finish = async {
        if drain {
            replies.all_answered().await;
            replies.outbox.close();
        }
        let _ = (&mut write).await;
    };
    tokio::select! {
        _ = tokio::time::timeout(CLOSE_FLUSH, finish) => {}
        _ = &mut goodbye => {}
    }
}

/// Runs the TLS handshake of a TLS listener (within `handshake-timeout-ms`); `None` if it
/// failed, counted and logged with the reason (an untrusted or missing client certificate,
/// a client that does not speak TLS).
async fn handshake(
    stream: TcpStream,
    ctx: &ConnectionContext,
    peer: &str,
    deadline: tokio::time::Instant,
) -> Option<Stream> {
    let Some(acceptor) = &ctx.tls else { return Some(Stream::Plain(stream)) };
    match tokio::time::timeout_at(deadline, acceptor.accept(NoSigpipeTcp(stream))).await {
        Ok(Ok(tls)) => Some(Stream::Server(Box::new(tls))),
        Ok(Err(e)) => {
            ctx.counters.tls_failures.fetch_add(1, Relaxed);
            let (_, reason) = crate::tls::describe_io_error(&e);
            tracing::warn!(%peer, %reason, "TLS handshake refused");
            None
        }
        Err(_) => {
            ctx.counters.handshake_timeouts.fetch_add(1, Relaxed);
            tracing::debug!(%peer, "closing a connection that did not finish TLS in time");
            None
        }
    }
}

/// Marks a connection open for its lifetime. Its drop closes the reply outbox, also when
/// the task is dropped mid-await by a listener shutdown, so that requests the host still
/// holds learn that their connection is gone.
pub(crate) struct OpenConnection {
    replies: Arc<Replies>,
    counters: Arc<ListenerCounters>,
}

impl OpenConnection {
    pub(crate) fn new(ctx: &ConnectionContext) -> OpenConnection {
        let counters = ctx.counters.clone();
        counters.open.fetch_add(1, Relaxed);
        OpenConnection { replies: Arc::new(Replies::new(ctx.drain.clone())), counters }
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.replies.outbox.close();
        self.counters.open.fetch_sub(1, Relaxed);
    }
}
