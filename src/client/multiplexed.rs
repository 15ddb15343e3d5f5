//! One multiplexed (`hamux://`) connection slot: a supervisor task on one IO thread that
//! connects on demand, runs the reader, writer and deadline sweeper, and re-connects
//! after failures. Many transactions share the connection; replies come in any order.
//!
//! Host threads only touch the slot's [`Outbox`]; everything else (the transaction table,
//! the socket) belongs to the slot's task on its IO thread.
//!
//! A peer that shuts down gracefully sends Goaway: the slot then writes no further
//! requests on that connection, acknowledges with a Goaway of its own (every request
//! written before it will be answered), and keeps reading until the peer closes. What was
//! queued meanwhile stays in the outbox and goes out on the next connection, which is
//! opened at once — a drained connection is not a failure.

use super::target::{Backoff, PeerTarget};
use super::transaction::{lock, Txn, TxnTable};
use crate::codec::{self, DecodeError, FrameType};
use crate::io::{write_until, Outbox, Stream, WriteEnd};
use crate::Status;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::runtime::Handle;

/// How long a failed write waits for the reader to find why (a TLS alert) before the
/// connection is reported lost.
const WHY_AFTER_WRITE_ERROR: Duration = Duration::from_millis(200);

/// How often a connection that is down and idle looks whether another connection to the
/// same peer is up again (it then reconnects to rejoin the pool).
const REJOIN_CHECK: Duration = Duration::from_millis(100);

pub(crate) struct MultiplexedConnection {
    target: Arc<PeerTarget>,
    outbox: Outbox<Txn>,
    io: Handle,
    started: AtomicBool,
    connected: AtomicBool,
    /// The peer sent Goaway on the current connection: the pool hands this slot no new
    /// requests until that connection is gone.
    draining: AtomicBool,
    /// A connect failed and has not succeeded since (the slot waits out its backoff, or
    /// tries again): the pool prefers other connections meanwhile.
    backing_off: AtomicBool,
    /// When bytes last arrived from the peer, in ms since `started_at` (for keep-alive).
    heard: AtomicU64,
    started_at: Instant,
}

/// Why a live connection ended, and the status its in-flight transactions complete with.
struct Ended {
    status: Status,
    reason: String,
    /// The peer's hello arrived: the connection was a working hamux session.
    established: bool,
}

impl Ended {
    fn new(status: Status, reason: impl Into<String>) -> Ended {
        Ended { status, reason: reason.into(), established: false }
    }
    fn io(e: std::io::Error) -> Ended {
        let (status, reason) = crate::tls::describe_io_error(&e);
        Ended::new(status, reason)
    }
    fn protocol(e: DecodeError) -> Ended {
        Ended::new(Status::Protocol, format!("peer broke the protocol: {e}"))
    }
}

impl MultiplexedConnection {
    pub(crate) fn new(target: Arc<PeerTarget>, io: Handle) -> MultiplexedConnection {
        MultiplexedConnection {
            target,
            outbox: Outbox::default(),
            io,
            started: AtomicBool::new(false),
            connected: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            backing_off: AtomicBool::new(false),
            heard: AtomicU64::new(0),
            started_at: Instant::now(),
        }
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Whether new requests belong elsewhere if another connection can take them: the
    /// peer asked this one to go away (Goaway), or it is backing off after a failure.
    pub(crate) fn is_avoided(&self) -> bool {
        self.draining.load(Ordering::Relaxed) || self.backing_off.load(Ordering::Relaxed)
    }

    fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Queues a request frame; starts the slot's task on first use. Never blocks on IO.
    pub(crate) fn submit(self: &Arc<Self>, txn: Txn, body: &[u8]) {
        let txid = txn.txid;
        if let Err(Some(txn)) =
            self.outbox.push(Some(txn), |out| codec::encode_frame(out, FrameType::Request, txid, body))
        {
            txn.complete(Status::Shutdown, b"client is shutting down");
            return;
        }
        if !self.started.load(Ordering::Acquire) && !self.started.swap(true, Ordering::AcqRel) {
            self.io.spawn(self.clone().supervise());
        }
    }

    /// Refuses new work and returns what was never written (to be cancelled).
    pub(crate) fn close(&self) -> Vec<Txn> {
        self.outbox.close();
        self.outbox.discard()
    }

    fn fail_queued(&self, status: Status, reason: &str) {
        for txn in self.outbox.discard() {
            txn.complete(status, reason.as_bytes());
        }
    }

    async fn supervise(self: Arc<Self>) {
        let mut backoff = Backoff::default();
        loop {
            while !self.outbox.has_items() {
                if self.outbox.is_closed() {
                    return;
                }
                if self.backing_off.load(Ordering::Relaxed) {
                    // The pool gives this slot nothing while it is down. Once another
                    // connection shows the peer is back, reconnect by itself to rejoin;
                    // until then stay idle (a peer that is down is not probed).
                    if self.target.counters.connected() > 0 {
                        break;
                    }
                    tokio::select! {
                        _ = self.outbox.wait() => {}
                        _ = tokio::time::sleep(REJOIN_CHECK) => {}
                    }
                    continue;
                }
                self.outbox.wait().await;
            }
            let (status, reason) = match self.target.connect().await {
                Ok(stream) => {
                    self.backing_off.store(false, Ordering::Relaxed);
                    self.target.counters.connects.fetch_add(1, Ordering::Relaxed);
                    self.connected.store(true, Ordering::Relaxed);
                    let ended = self.run(stream).await;
                    self.connected.store(false, Ordering::Relaxed);
                    self.draining.store(false, Ordering::Relaxed);
                    self.target.counters.disconnects.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(peer = %self.target.url, reason = %ended.reason, "connection ended");
                    if ended.established {
                        // A working session was lost: what was never written goes out on
                        // the next connection, at once.
                        backoff.reset();
                        continue;
                    }
                    // The peer took the connection but never spoke hamux (it refused us,
                    // or is something else): treat it like a failed connect. A TLS peer
                    // that refuses our certificate does so after the handshake, here.
                    let status = if ended.status == Status::Tls { Status::Tls } else { Status::Connect };
                    (status, ended.reason)
                }
                Err((status, reason)) => {
                    self.target.counters.connect_failures.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(peer = %self.target.url, %reason, "connect failed");
                    (status, reason)
                }
            };
            // Until a connect succeeds again the pool prefers other connections; while
            // backing off, requests given to this one fail at once rather than wait for a
            // peer that was just found down.
            self.backing_off.store(true, Ordering::Relaxed);
            self.fail_queued(status, &reason);
            let until = tokio::time::Instant::now() + backoff.next();
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => break,
                    _ = self.outbox.wait() => self.fail_queued(status, &reason),
                }
            }
        }
    }

    /// Runs one live connection until it fails; then completes what it carried.
    async fn run(&self, stream: Stream) -> Ended {
        let (mut reader, mut writer) = stream.into_split();
        let table = Mutex::new(TxnTable::default());
        let counters = &self.target.counters;
        let mut hello = Vec::with_capacity(codec::HELLO_LEN);
        codec::encode_hello(&mut hello);
        let established = AtomicBool::new(false);
        let write = async {
            use tokio::io::AsyncWriteExt;
            writer.write_all(&hello).await?;
            let end = write_until(
                &self.outbox,
                &mut writer,
                || self.is_draining(),
                |txns| {
                    let mut t = lock(&table);
                    let displaced: Vec<Txn> = txns.drain(..).filter_map(|txn| t.insert(txn)).collect();
                    // Txids are unique, so nothing is displaced; were it, it would complete
                    // (CANCELLED) here, after the table's lock.
                    drop(t);
                    drop(displaced);
                },
                |n| {
                    counters.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
                },
            )
            .await?;
            if end == WriteEnd::Stopped {
                // The peer sent Goaway: acknowledge after the last request written, so
                // it knows every one of them has arrived; then write nothing more and
                // let the reader collect the answers until the peer closes.
                let mut ack = Vec::with_capacity(codec::HEADER_LEN);
                codec::encode_frame(&mut ack, FrameType::Goaway, 0, b"");
                writer.write_all(&ack).await?;
                writer.flush().await?;
                std::future::pending::<()>().await;
            }
            Ok::<(), std::io::Error>(())
        };
        let read = self.read_replies(&mut reader, &table, &established);
        tokio::pin!(write, read);
        let mut ended = tokio::select! {
            r = &mut write => match r {
                Ok(()) => Ended::new(Status::Cancelled, "client is shutting down"),
                // A TLS peer that refused our certificate sent an alert and closed, and
                // our next write failed; the alert, waiting to be read, says why.
                Err(e) => match tokio::time::timeout(WHY_AFTER_WRITE_ERROR, &mut read).await {
                    Ok(end) if end.status == Status::Tls => end,
                    _ => Ended::io(e),
                },
            },
            e = &mut read => e,
            e = self.sweep_deadlines(&table) => e,
            e = self.keep_alive() => e,
        };
        ended.established = established.load(Ordering::Relaxed);
        let lost = lock(&table).drain_all();
        for txn in lost {
            txn.complete(ended.status, ended.reason.as_bytes());
        }
        ended
    }

    async fn read_replies<R: AsyncRead + Unpin>(
        &self,
        reader: &mut R,
        table: &Mutex<TxnTable>,
        established: &AtomicBool,
    ) -> Ended {
        let max = self.target.settings.max_frame_bytes;
        let counters = &self.target.counters;
        let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
        let mut hello_seen = false;
        loop {
            if buf.capacity() - buf.len() < 16 * 1024 {
                buf.reserve(64 * 1024);
            }
            match reader.read_buf(&mut buf).await {
                Ok(0) => return Ended::new(Status::Connect, "peer closed the connection"),
                Ok(n) => {
                    self.heard.store(self.started_at.elapsed().as_millis() as u64, Ordering::Relaxed);
                    counters.bytes_in.fetch_add(n as u64, Ordering::Relaxed)
                }
                Err(e) => return Ended::io(e),
            };
            let mut at = 0;
            if !hello_seen {
                match codec::decode_hello(&buf) {
                    Ok(None) => continue,
                    Ok(Some(_)) => {
                        hello_seen = true;
                        established.store(true, Ordering::Relaxed);
                        at = codec::HELLO_LEN;
                    }
                    Err(e) => return Ended::protocol(e),
                }
            }
            loop {
                match codec::decode_frame(&buf[at..], max) {
                    Ok(Some((frame, used))) => {
                        at += used;
                        if let Some(ended) = self.on_frame(frame, table) {
                            return ended;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return Ended::protocol(e),
                }
            }
            buf.drain(..at);
        }
    }

    /// Handles one frame from the peer; `Some` ends the connection.
    fn on_frame(&self, frame: codec::Frame<'_>, table: &Mutex<TxnTable>) -> Option<Ended> {
        match frame.frame_type {
            FrameType::Response => {
                let txn = lock(table).remove(frame.txid);
                match txn {
                    Some(txn) => txn.complete(Status::Ok, frame.body),
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
                    // The writer may be idle: wake it so it sees the flag and acknowledges.
                    self.outbox.wake();
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

    async fn sweep_deadlines(&self, table: &Mutex<TxnTable>) -> Ended {
        let timeout = self.target.settings.request_timeout;
        let tick = (timeout / 10).clamp(Duration::from_millis(1), Duration::from_millis(50));
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut expired = Vec::new();
        loop {
            interval.tick().await;
            let now = Instant::now();
            lock(table).expire(now, &mut expired);
            // Requests still waiting to be written (a peer that stopped reading) expire too.
            expired.extend(self.outbox.take_items_where(|t| t.deadline <= now));
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
