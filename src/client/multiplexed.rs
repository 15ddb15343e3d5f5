//! The `hamux://` session: many transactions share one connection, replies come in any
//! order. The [`Supervisor`](super::supervisor::Supervisor) of each connection slot
//! connects and reconnects; this runs the reader, writer, deadline sweeper and keep-alive
//! on a live connection.
//!
//! Host threads only touch the slot's [`Outbox`]; everything else (the transaction table,
//! the socket) belongs to the slot's task on its IO thread, with one exception: a request
//! a host thread sends while the connection is idle (nothing queued, nobody writing) is
//! registered in the table and written to the socket by that thread itself
//! ([`MultiplexedSession::submit`]), so at the rates where nothing batches (a Kea
//! primary's updates) a request costs no wake-up of the IO thread. Plain TCP only: a TLS
//! session's state belongs to its task.
//!
//! A peer that shuts down gracefully sends Goaway: the session then writes no further
//! requests on that connection, acknowledges with a Goaway of its own (every request
//! written before it will be answered), and keeps reading until the peer closes. What was
//! queued meanwhile stays in the outbox and goes out on the next connection, which is
//! opened at once — a drained connection is not a failure.

use super::failed_write::why_write_failed;
use super::reply_lookahead::ReplyLookahead;
use super::supervisor::{Ended, Session, Up};
use super::target::PeerTarget;
use super::transaction::{lock, Txn};
use super::txn_table::TxnTable;
use crate::codec::{self, DecodeError, FrameType};
use crate::io::framed::{FramedReader, HamuxFrames, HamuxMessage, ReadError};
use crate::io::{current_slot, write_until, Outbox, Stream, Unwritten, WriteEnd, WriteHalf, WriterTurns};
use crate::Status;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncRead;
use tokio::sync::Notify;

/// A live plain-TCP connection as a host thread writes to it: its own descriptor (a
/// duplicate, so that a write racing the connection's end meets a socket still open, never
/// a number reused by another file) and the connection's transaction table.
pub(crate) struct DirectWire {
    fd: std::os::fd::OwnedFd,
    table: Arc<Mutex<TxnTable>>,
}

pub(crate) struct MultiplexedSession {
    target: Arc<PeerTarget>,
    /// Where it is in its pool (which a reply's callback's send finds it by).
    index: usize,
    outbox: Outbox<Txn, Arc<DirectWire>>,
    /// The peer sent Goaway on the current connection: the pool hands this slot no new
    /// requests until that connection is gone.
    draining: AtomicBool,
    /// When bytes last arrived from the peer, in ms since `started_at` (for keep-alive).
    heard: AtomicU64,
    started_at: Instant,
    /// While the reader is still decoding what it read (it lets the writer in every so
    /// many replies, and the deadline sweeper may run then): when those bytes were read,
    /// in ns since `started_at` plus one; 0 otherwise. A reply read before its request's
    /// deadline is not timed out because its turn to be decoded came after it.
    decoding_read_at: AtomicU64,
    /// Wakes the deadline sweeper of an idle connection: a transaction went on the wire
    /// with none there before, or the peer sent Goaway. Idle connections then cost no
    /// timer at all (10,000 idle connections ticking every 50 ms were 200,000 wake-ups a
    /// second, half the active connections' throughput on two cores).
    sweep: Notify,
}

fn protocol_broken(e: DecodeError) -> Ended {
    Ended::new(Status::Protocol, format!("peer broke the protocol: {e}"))
}

impl MultiplexedSession {
    /// The session at `index` of its pool.
    pub(crate) fn new(target: Arc<PeerTarget>, index: usize) -> MultiplexedSession {
        MultiplexedSession {
            target,
            index,
            outbox: Outbox::default(),
            draining: AtomicBool::new(false),
            heard: AtomicU64::new(0),
            started_at: Instant::now(),
            decoding_read_at: AtomicU64::new(0),
            sweep: Notify::new(),
        }
    }

    /// The peer asked this connection to go away (Goaway): new requests belong elsewhere.
    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Queues a request frame, or from a host thread on an idle connection writes it
    /// itself. Never blocks on IO.
    pub(crate) fn submit(&self, txn: Txn, body: &[u8]) {
        let Some(txn) = self.write_directly(txn, body) else { return };
        let txid = txn.txid;
        if let Err(Some(txn)) =
            self.outbox.push(Some(txn), |out| codec::encode_frame(out, FrameType::Request, txid, body))
        {
            txn.complete(Status::Shutdown, b"client is shutting down");
        }
    }

    /// Writes the request to the socket from this thread if the connection is idle and
    /// this is not an IO thread (there a response callback's send joins the batch the
    /// thread writes anyway); gives the transaction back otherwise. What the socket does
    /// not take at once goes first in the outbox, for the writer task.
    fn write_directly(&self, txn: Txn, body: &[u8]) -> Option<Txn> {
        if current_slot().is_some() {
            return Some(txn);
        }
        let Some(wire) = self.outbox.claim_idle() else { return Some(txn) };
        let txid = txn.txid;
        // The whole frame, body copied, before the request is in the table: from then on
        // it can complete (a reply, a timeout) on another thread, whose callback may free
        // the host's body before send returns (hamux_client_send allows that).
        let mut frame = DIRECT_FRAME.take();
        frame.clear();
        codec::encode_frame(&mut frame, FrameType::Request, txid, body);
        // In the table before it is on the wire: the reply cannot come first.
        let (was_empty, displaced) = {
            let mut t = lock(&wire.table);
            (t.len() == 0, t.insert(txn))
        };
        drop(displaced);
        if was_empty {
            self.sweep.notify_one();
        }
        // A broken connection takes nothing either: its reader sees the break and fails
        // what it carried; this request, never sent, waits in the outbox meanwhile.
        let sent = send_now(&wire.fd, &frame).unwrap_or(0);
        if sent > 0 {
            self.target.counters.bytes_out.fetch_add(sent as u64, Ordering::Relaxed);
            self.target.counters.direct_writes.fetch_add(1, Ordering::Relaxed);
        }
        let unwritten = match sent {
            n if n == frame.len() => Unwritten::Nothing,
            n if n > 0 => Unwritten::Tail(&frame[n..]),
            // Nothing went out: an ordinary queued request again (no reply can have
            // taken it from the table, and the connection's end waits for this claim).
            _ => match lock(&wire.table).remove(txid) {
                Some(txn) => Unwritten::Frame(txn, &frame),
                None => Unwritten::Nothing,
            },
        };
        self.outbox.release(unwritten);
        // Kept for the thread's next direct write, unless a huge body made it huge.
        if frame.capacity() <= DIRECT_FRAME_KEPT {
            DIRECT_FRAME.set(frame);
        }
        None
    }

    /// Refuses new work and returns what was never written (to be cancelled).
    pub(crate) fn close(&self) -> Vec<Txn> {
        self.outbox.close();
        self.outbox.set_direct(None);
        self.outbox.discard()
    }

    /// Runs one live connection until it fails; then completes what it carried.
    async fn run_connection(&self, stream: Stream, up: Up<'_>) -> Ended {
        let table = Arc::new(Mutex::new(TxnTable::default()));
        let established = AtomicBool::new(false);
        // Direct writes stop when this ends, whichever way (also dropped at shutdown).
        let _no_direct_after = DirectOff(&self.outbox);
        let mut ended = {
            let (mut reader, mut writer) = stream.into_split();
            let write = self.write_requests(&mut writer, &table);
            let read = self.read_replies(&mut reader, &table, &established);
            tokio::pin!(write, read);
            tokio::select! {
                r = &mut write => match r {
                    Ok(()) => Ended::new(Status::Cancelled, "client is shutting down"),
                    Err(e) => {
                        let read_side = async {
                            let end = (&mut read).await;
                            (end.status, end.reason)
                        };
                        let (status, reason) = why_write_failed(e, read_side).await;
                        Ended::new(status, reason)
                    }
                },
                e = &mut read => e,
                e = self.sweep_deadlines(&table) => e,
                e = self.keep_alive() => e,
            }
        };
        // A host thread's direct write under way registers its request in the table
        // before it lets go of the wire: wait for it, then fail what the table holds.
        self.outbox.set_direct(None);
        self.outbox.wire_free().await;
        ended.established = established.load(Ordering::Relaxed);
        self.draining.store(false, Ordering::Relaxed);
        drop(up);
        let lost = lock(&table).drain_all();
        for txn in lost {
            txn.complete(ended.status, ended.reason.as_bytes());
        }
        ended
    }

    /// The writer: the hello, then what the outbox gets, registering each transaction in
    /// `table` just before its frame is written (so a reply can never arrive first).
    async fn write_requests(
        &self,
        writer: &mut WriteHalf,
        table: &Arc<Mutex<TxnTable>>,
    ) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        let counters = &self.target.counters;
        let mut hello = Vec::with_capacity(codec::HELLO_LEN);
        codec::encode_hello(&mut hello);
        writer.write_all(&hello).await?;
        if let WriteHalf::Plain(plain) = writer {
            use std::os::fd::AsFd;
            // Without a duplicate descriptor (out of descriptors) the writer task writes all.
            if let Ok(fd) = plain.as_ref().as_fd().try_clone_to_owned() {
                self.outbox.set_direct(Some(Arc::new(DirectWire { fd, table: table.clone() })));
            }
        }
        let end = write_until(
            &self.outbox,
            writer,
            || self.is_draining(),
            |txns| {
                let mut t = lock(table);
                let was_empty = t.len() == 0;
                let displaced = t.insert_all(txns);
                // Txids are unique, so nothing is displaced; were it, it would complete
                // (CANCELLED) here, after the table's lock.
                drop(t);
                drop(displaced);
                if was_empty {
                    self.sweep.notify_one();
                }
            },
            |n| {
                counters.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
            },
        )
        .await?;
        if end == WriteEnd::Stopped {
            // The peer sent Goaway: acknowledge after the last request written, so it
            // knows every one of them has arrived; then write nothing more and let the
            // reader collect the answers until the peer closes. A host thread's write
            // under way goes before the acknowledgement.
            self.outbox.set_direct(None);
            self.outbox.wire_free().await;
            let mut ack = Vec::with_capacity(codec::HEADER_LEN);
            codec::encode_frame(&mut ack, FrameType::Goaway, 0, b"");
            writer.write_all(&ack).await?;
            writer.flush().await?;
            std::future::pending::<()>().await;
        }
        Ok(())
    }

    async fn read_replies<R: AsyncRead + Unpin>(
        &self,
        reader: &mut R,
        table: &Mutex<TxnTable>,
        established: &AtomicBool,
    ) -> Ended {
        let counters = &self.target.counters;
        let mut frames = FramedReader::new(HamuxFrames::new(self.target.settings.max_frame_bytes), 64 * 1024);
        // When the frames being decoded were read: their replies' latencies end then.
        let mut now;
        let mut turns = WriterTurns::default();
        let mut lookahead = ReplyLookahead::default();
        let max_frame = self.target.settings.max_frame_bytes;
        loop {
            self.decoding_read_at.store(0, Ordering::Relaxed);
            match turns.read(frames.read_more(reader)).await {
                Ok(n) => {
                    now = Instant::now();
                    let heard = now.saturating_duration_since(self.started_at);
                    self.heard.store(heard.as_millis() as u64, Ordering::Relaxed);
                    self.decoding_read_at.store(heard.as_nanos() as u64 + 1, Ordering::Relaxed);
                    counters.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(ReadError::Io(e)) => return Ended::io(e),
                Err(_) => return Ended::new(Status::Connect, "peer closed the connection"),
            }
            loop {
                lookahead.before_decode(frames.peek(), max_frame, table);
                match frames.decode() {
                    Ok(Some(HamuxMessage::Hello { .. })) => {
                        lookahead.reset();
                        established.store(true, Ordering::Relaxed)
                    }
                    Ok(Some(HamuxMessage::Frame(frame))) => {
                        lookahead.handled_one();
                        let len = frame.body.len();
                        let replying = Replying::on(self, now);
                        let ended = self.on_frame(frame, table, now);
                        drop(replying);
                        if let Some(ended) = ended {
                            return ended;
                        }
                        // What the callbacks of a long burst sent leaves in parts.
                        turns.handled_one(len).await;
                    }
                    Ok(None) => break,
                    Err(e) => return protocol_broken(e),
                }
            }
        }
    }

    /// Handles one frame from the peer, read at `now`; `Some` ends the connection.
    fn on_frame(&self, frame: codec::Frame<'_>, table: &Mutex<TxnTable>, now: Instant) -> Option<Ended> {
        match frame.frame_type {
            FrameType::Response => {
                let txn = lock(table).remove(frame.txid);
                match txn {
                    Some(txn) => txn.complete_at(now, Status::Ok, frame.body),
                    None => {
                        self.target.counters.late_replies.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            FrameType::Error => {
                let (code, message) = codec::parse_error_body(frame.body);
                if frame.txid == 0 {
                    return Some(Ended::new(Status::Protocol, format!("peer error: {message}")));
                }
                let status = match Status::from_code(code) {
                    Some(Status::Ok) | None => Status::Protocol,
                    Some(s) => s,
                };
                let txn = lock(table).remove(frame.txid);
                if let Some(txn) = txn {
                    txn.complete(status, format!("peer error: {message}").as_bytes());
                }
            }
            FrameType::Ping => {
                let body = frame.body;
                self.outbox.push_pong(|out| codec::encode_frame(out, FrameType::Pong, frame.txid, body));
            }
            FrameType::Goaway => {
                if !self.draining.swap(true, Ordering::Relaxed) {
                    self.target.counters.goaways.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(peer = %self.target.url, "peer sent goaway; draining the connection");
                    // The writer may be idle: wake it so it sees the flag and acknowledges;
                    // the sweeper too, which ends the connection once it is drained.
                    self.outbox.wake();
                    self.sweep.notify_one();
                }
            }
            FrameType::Pong => {}
            FrameType::Request => {
                return Some(Ended::new(Status::Protocol, "peer sent a request to a client"))
            }
        }
        None
    }

    /// Liveness: when nothing arrived for `ping-interval-ms`, sends a Ping; if nothing
    /// arrives within `ping-timeout-ms` after it, the peer is taken for dead (a vanished
    /// host sends no FIN) and the connection ends, failing what it carried with CONNECT.
    async fn keep_alive(&self) -> Ended {
        let (interval, timeout) = (self.target.settings.ping_interval, self.target.settings.ping_timeout);
        if interval.is_zero() {
            return std::future::pending().await;
        }
        let now_ms = || self.started_at.elapsed().as_millis() as u64;
        self.heard.store(now_ms(), Ordering::Relaxed);
        loop {
            tokio::time::sleep(interval).await;
            if self.is_draining() {
                // Nothing more is written (a Ping would wait in the outbox); the peer closes
                // once it has answered, and request deadlines still apply.
                return std::future::pending().await;
            }
            let heard = self.heard.load(Ordering::Relaxed);
            if now_ms().saturating_sub(heard) < interval.as_millis() as u64 {
                continue;
            }
            let _ = self.outbox.push(None, |out| codec::encode_frame(out, FrameType::Ping, 0, b""));
            tokio::time::sleep(timeout).await;
            if self.heard.load(Ordering::Relaxed) == heard {
                return Ended::new(
                    Status::Connect,
                    format!("peer did not answer a ping within {} ms", timeout.as_millis()),
                );
            }
        }
    }

    /// Nothing for the sweeper to watch: no transaction on the wire or queued, no drain.
    fn nothing_to_sweep(&self, table: &Mutex<TxnTable>) -> bool {
        lock(table).len() == 0 && !self.outbox.has_items() && !self.is_draining()
    }

    /// The instant up to which deadlines have passed: now, or while the reader is still
    /// decoding a read, that read's instant (its replies count as arrived then).
    fn expiry_now(&self) -> Instant {
        match self.decoding_read_at.load(Ordering::Relaxed) {
            0 => Instant::now(),
            at => self.started_at + Duration::from_nanos(at - 1),
        }
    }

    /// Times out the transactions of this connection, every tenth of the request timeout
    /// (at most 50 ms) while any is on the wire or queued, and not at all while none is:
    /// the writer wakes it (`sweep`) when the first one is written. A transaction queued
    /// while nothing is on the wire reaches the table within one writer turn, since the
    /// writer is then idle and the push wakes it.
    async fn sweep_deadlines(&self, table: &Mutex<TxnTable>) -> Ended {
        let timeout = self.target.settings.request_timeout;
        let tick = (timeout / 10).clamp(Duration::from_millis(1), Duration::from_millis(50));
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut expired = Vec::new();
        loop {
            if self.nothing_to_sweep(table) {
                // A wake-up from before this wait is kept as a permit: none is missed.
                self.sweep.notified().await;
                interval.reset();
                continue;
            }
            interval.tick().await;
            let now = self.expiry_now();
            lock(table).expire(now, &mut expired);
            // Requests still waiting to be written (a peer that stopped reading) expire too.
            expired.extend(self.outbox.take_items_where(|t| t.deadline() <= now));
            for txn in expired.drain(..) {
                let text = format!("no reply within {} ms", timeout.as_millis());
                txn.complete(Status::Timeout, text.as_bytes());
            }
            // A draining connection is done once nothing written on it awaits an answer
            // (answered, or expired above): end it rather than wait for the peer to close,
            // which a peer that vanished after our acknowledgement never does. What is
            // still queued goes out on the next connection.
            if self.is_draining() && lock(table).len() == 0 {
                return Ended::new(Status::Connect, "the peer's goaway: connection drained");
            }
        }
    }
}

thread_local! {
    /// The session whose reader is completing a transaction on this IO thread, if any:
    /// its address, its index in its pool (see [`replying`]) and when the reply was read
    /// (see [`reply_read_at`]).
    static REPLYING: std::cell::Cell<Option<(usize, usize, Instant)>> = const { std::cell::Cell::new(None) };
}

/// Marks its session as the one replying on this thread while it lives (a reply's
/// callback runs inside).
pub(super) struct Replying;

impl Replying {
    pub(super) fn on(session: &MultiplexedSession, read_at: Instant) -> Replying {
        REPLYING.set(Some((session as *const MultiplexedSession as usize, session.index, read_at)));
        Replying
    }
}

impl Drop for Replying {
    fn drop(&mut self) {
        REPLYING.set(None);
    }
}

/// Which session of a pool (`session(i)`: the one at index `i`) is completing a
/// transaction on this thread now, if one is. A send from that reply's callback belongs
/// on that session: its writer writes it with the rest of the burst the reader is
/// answering, as a run-to-completion loop would. Sent on another connection instead, it
/// wakes that one's writer for a write of its own: in the pipelined bench, a third more
/// TCP segments, smaller reads on the peer and more CPU per round trip.
pub(crate) fn replying<'a>(session: impl Fn(usize) -> Option<&'a MultiplexedSession>) -> Option<usize> {
    let (address, index, _) = REPLYING.get()?;
    std::ptr::eq(session(index)?, address as *const MultiplexedSession).then_some(index)
}

/// When the reply whose callback runs on this thread now was read, if one's does: the
/// start of a request that callback sends. That is a few microseconds before the send
/// (the replies decoded before it in the same read, and the callback's own work), which
/// its deadline and latency then include; the clock is not read again for it, one
/// `clock_gettime` fewer per round trip of a closed loop (about 1 % of its CPU).
pub(crate) fn reply_read_at() -> Option<Instant> {
    REPLYING.get().map(|(_, _, read_at)| read_at)
}

thread_local! {
    /// A host thread's buffer for its direct writes' frames: no allocation per request.
    /// Taken while in use (a completion run inside a direct write may send again).
    static DIRECT_FRAME: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The largest direct-write buffer a thread keeps between requests.
const DIRECT_FRAME_KEPT: usize = 64 * 1024;

/// One non-blocking `send` of `bytes`: how many went out (0 if the socket takes none now),
/// or the error that broke the connection.
fn send_now(fd: &std::os::fd::OwnedFd, bytes: &[u8]) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: a non-blocking send of a live buffer on a descriptor the caller owns.
    let sent = unsafe {
        libc::send(
            fd.as_raw_fd(),
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
        )
    };
    if sent >= 0 {
        return Ok(sent as usize);
    }
    let e = std::io::Error::last_os_error();
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted => Ok(0),
        _ => Err(e),
    }
}

/// Stops direct writes when dropped: a connection's end, also when its task is dropped.
struct DirectOff<'a>(&'a Outbox<Txn, Arc<DirectWire>>);

impl Drop for DirectOff<'_> {
    fn drop(&mut self) {
        self.0.set_direct(None);
    }
}

impl Session for MultiplexedSession {
    fn has_work(&self) -> bool {
        self.outbox.has_items()
    }

    fn work_arrived(&self) -> impl Future<Output = ()> + Send {
        self.outbox.wait()
    }

    fn is_closed(&self) -> bool {
        self.outbox.is_closed()
    }

    /// Queued requests wait for the connect; their deadlines apply once it is up.
    fn connect_deadline(&self) -> Option<Instant> {
        None
    }

    fn fail_work(&self, status: Status, reason: &str) {
        for txn in self.outbox.discard() {
            txn.complete(status, reason.as_bytes());
        }
    }

    /// The pool gives new requests to connections that are not avoided when it can; what
    /// reached this one anyway had no other place.
    fn step_aside(&self) -> bool {
        false
    }

    fn back_in_line(&self) {}

    fn run(&self, stream: Stream, up: Up<'_>) -> impl Future<Output = Ended> + Send {
        self.run_connection(stream, up)
    }
}
