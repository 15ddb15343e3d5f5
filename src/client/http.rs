//! `http://` peers: HTTP/1.1 is in order per connection, so each connection carries one
//! transaction at a time. A connection is popped from the peer's idle pool for a
//! transaction and pushed back when its reply is complete — Kea's own multi-threaded
//! design — and `connections-per-peer` connections give that many requests in parallel.
//!
//! Requests that find no idle connection wait in the peer's backlog. Every push (of a
//! request to the backlog, or of a connection to the idle pool) is followed by a
//! dispatch that pairs the two queues, so neither can be left waiting on the other.

use super::target::{Backoff, PeerTarget};
use super::transaction::{lock, Txn};
use crate::codec::http;
use crate::io::{Idle, Stream};
use crate::Status;
use crossbeam_queue::{ArrayQueue, SegQueue};
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long a failed write waits to read why (a TLS alert) before the connection is
/// reported lost.
const WHY_AFTER_WRITE_ERROR: std::time::Duration = std::time::Duration::from_millis(200);

/// A request ready to go: its transaction and its encoded HTTP bytes.
struct Job {
    txn: Txn,
    request: Vec<u8>,
}

struct Slot {
    mailbox: Mutex<Option<Job>>,
    notify: Notify,
    io: Handle,
    started: AtomicBool,
    connected: AtomicBool,
}

/// The connections to one `http://` peer.
pub(crate) struct HttpPool {
    target: Arc<PeerTarget>,
    slots: Vec<Slot>,
    idle: ArrayQueue<usize>,
    backlog: SegQueue<Job>,
    closed: AtomicBool,
}

impl HttpPool {
    pub(crate) fn new(target: Arc<PeerTarget>, io: impl Fn(usize) -> Handle) -> HttpPool {
        let n = target.settings.connections;
        let slots = (0..n)
            .map(|i| Slot {
                mailbox: Mutex::new(None),
                notify: Notify::new(),
                io: io(i),
                started: AtomicBool::new(false),
                connected: AtomicBool::new(false),
            })
            .collect();
        let idle = ArrayQueue::new(n);
        for i in 0..n {
            let _ = idle.push(i);
        }
        HttpPool { target, slots, idle, backlog: SegQueue::new(), closed: AtomicBool::new(false) }
    }

    pub(crate) fn connected(&self) -> usize {
        self.slots.iter().filter(|s| s.connected.load(Ordering::Relaxed)).count()
    }

    pub(crate) fn submit(self: &Arc<Self>, txn: Txn, body: &[u8]) {
        if self.closed.load(Ordering::Acquire) {
            txn.complete(Status::Shutdown, b"client is shutting down");
            return;
        }
        let mut request = Vec::with_capacity(body.len() + 160);
        let url = &self.target.url;
        http::encode_request(
            &mut request,
            &url.authority(),
            &url.path,
            body,
            self.target.settings.basic_auth.as_deref(),
        );
        self.backlog.push(Job { txn, request });
        fence(Ordering::SeqCst);
        self.dispatch();
    }

    /// Pairs waiting requests with idle connections until one of the queues is empty.
    fn dispatch(self: &Arc<Self>) {
        while !self.backlog.is_empty() {
            let Some(i) = self.idle.pop() else { return };
            match self.backlog.pop() {
                Some(job) => self.assign(i, job),
                None => {
                    let _ = self.idle.push(i);
                    fence(Ordering::SeqCst);
                }
            }
        }
    }

    fn assign(self: &Arc<Self>, i: usize, job: Job) {
        let slot = &self.slots[i];
        // An idle slot's mailbox is empty; were it not, the displaced request would be
        // cancelled here, after the mailbox's lock.
        let displaced = lock(&slot.mailbox).replace(job);
        drop(displaced);
        if !slot.started.swap(true, Ordering::AcqRel) {
            slot.io.spawn(self.clone().run_slot(i));
        }
        slot.notify.notify_one();
    }

    /// Refuses new work and cancels what never left (done after the IO threads stopped).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        while let Some(job) = self.backlog.pop() {
            drop(job);
        }
        for slot in &self.slots {
            let job = lock(&slot.mailbox).take();
            drop(job);
        }
    }

    /// The task of connection slot `i`: one exchange per job, then back to the pool.
    async fn run_slot(self: Arc<Self>, i: usize) {
        let slot = &self.slots[i];
        let mut conn = SlotConnection {
            stream: None,
            buf: Vec::new(),
            chunked: Default::default(),
            backoff: Backoff::default(),
            down: None,
        };
        loop {
            let job = loop {
                let job = lock(&slot.mailbox).take();
                if let Some(job) = job {
                    break job;
                }
                slot.notify.notified().await;
            };
            if let Some(until) = conn.backing_off() {
                if self.connected() > 0 {
                    // Another connection to the peer is up: this one steps aside until its
                    // backoff ends, and the request goes to that one instead of failing.
                    self.backlog.push(job);
                    fence(Ordering::SeqCst);
                    self.dispatch();
                    tokio::time::sleep_until(until).await;
                    let _ = self.idle.push(i);
                    fence(Ordering::SeqCst);
                    self.dispatch();
                    continue;
                }
            }
            self.exchange(&mut conn, job).await;
            slot.connected.store(conn.stream.is_some(), Ordering::Relaxed);
            let _ = self.idle.push(i);
            fence(Ordering::SeqCst);
            self.dispatch();
        }
    }

    async fn exchange(&self, conn: &mut SlotConnection, job: Job) {
        let Job { txn, request } = job;
        let deadline = Instant::from_std(txn.deadline);
        let counters = &self.target.counters;
        let mut may_resend = self.target.settings.resend_after_idle_close;
        loop {
            let reused = conn.stream.is_some() && conn.still_open();
            if !reused {
                conn.drop_stream(counters);
                if let (Some(_), Some((_, status, reason))) = (conn.backing_off(), &conn.down) {
                    // No other connection is up either: fail at once rather than wait.
                    return txn.complete(*status, reason.as_bytes());
                }
                match tokio::time::timeout_at(deadline, self.target.connect()).await {
                    Ok(Ok(stream)) => {
                        counters.connects.fetch_add(1, Ordering::Relaxed);
                        conn.backoff.reset();
                        conn.down = None;
                        conn.stream = Some(stream);
                    }
                    Ok(Err((status, reason))) => {
                        counters.connect_failures.fetch_add(1, Ordering::Relaxed);
                        conn.down = Some((Instant::now() + conn.backoff.next(), status, reason.clone()));
                        return txn.complete(status, reason.as_bytes());
                    }
                    Err(_) => {
                        return txn.complete(Status::Timeout, b"no connection before the request deadline")
                    }
                }
            }
            let max = self.target.settings.max_frame_bytes;
            let outcome = tokio::time::timeout_at(deadline, conn.round_trip(&request, max, counters)).await;
            match outcome {
                Err(_) => {
                    // The reply may still come; this connection can no longer be trusted.
                    conn.drop_stream(counters);
                    let text =
                        format!("no reply within {} ms", self.target.settings.request_timeout.as_millis());
                    return txn.complete(Status::Timeout, text.as_bytes());
                }
                Ok(Ok(reply)) => {
                    if reply.close {
                        conn.drop_stream(counters);
                    }
                    let status = if (200..300).contains(&reply.status) { Status::Ok } else { Status::Http };
                    return txn.complete(status, &reply.body);
                }
                Ok(Err(failure)) => {
                    conn.drop_stream(counters);
                    if failure.closed_before_reply && reused && may_resend {
                        may_resend = false;
                        continue;
                    }
                    return txn.complete(failure.status, failure.reason.as_bytes());
                }
            }
        }
    }
}

/// The socket (if open) of one slot and its connect history.
struct SlotConnection {
    stream: Option<Stream>,
    buf: Vec<u8>,
    /// How far a chunked reply arriving in `buf` has been decoded.
    chunked: http::ChunkedProgress,
    backoff: Backoff,
    /// After a failed connect: until when requests fail at once, and how.
    down: Option<(Instant, Status, String)>,
}

struct Reply {
    status: u16,
    body: Vec<u8>,
    close: bool,
}

struct Failure {
    status: Status,
    reason: String,
    /// The peer closed the connection without sending a byte of the reply.
    closed_before_reply: bool,
}

impl SlotConnection {
    /// Until when a failed connect keeps this connection down, if it still does.
    fn backing_off(&self) -> Option<Instant> {
        self.down.as_ref().map(|(until, ..)| *until).filter(|until| Instant::now() < *until)
    }

    fn drop_stream(&mut self, counters: &super::stats::PeerCounters) {
        if self.stream.take().is_some() {
            counters.disconnects.fetch_add(1, Ordering::Relaxed);
        }
        self.buf.clear();
        self.chunked = Default::default();
    }

    /// Whether an idle keep-alive connection is still usable: not closed by the peer and
    /// with no unsolicited bytes waiting. One non-blocking read attempt, so a connection
    /// the peer closed while idle is replaced before a request is written to it.
    fn still_open(&mut self) -> bool {
        let Some(stream) = &mut self.stream else { return false };
        stream.check_idle() == Idle::Open && self.buf.is_empty()
    }

    async fn round_trip(
        &mut self,
        request: &[u8],
        max: usize,
        counters: &super::stats::PeerCounters,
    ) -> Result<Reply, Failure> {
        let stream = self.stream.as_mut().expect("connected before a round trip");
        let lost = |e: std::io::Error| {
            let (status, reason) = crate::tls::describe_io_error(&e);
            Failure { status, reason, closed_before_reply: false }
        };
        let written = async {
            stream.write_all(request).await?;
            // TLS keeps records in its buffer until flushed.
            stream.flush().await
        };
        if let Err(e) = written.await {
            // A TLS peer that refused our certificate sent an alert and closed: read it to
            // report why, rather than the broken pipe it caused.
            let mut scratch = [0u8; 256];
            let why = tokio::time::timeout(WHY_AFTER_WRITE_ERROR, stream.read(&mut scratch)).await;
            return Err(match why {
                Ok(Err(alert)) if crate::tls::describe_io_error(&alert).0 == Status::Tls => lost(alert),
                _ => lost(e),
            });
        }
        counters.bytes_out.fetch_add(request.len() as u64, Ordering::Relaxed);
        loop {
            match http::decode_response_resuming(&self.buf, max, &mut self.chunked) {
                Ok(Some((resp, used))) => {
                    let reply =
                        Reply { status: resp.status, body: resp.body.into_owned(), close: resp.close };
                    self.buf.drain(..used);
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(Failure {
                        status: Status::Protocol,
                        reason: format!("bad HTTP reply: {e}"),
                        closed_before_reply: false,
                    })
                }
            }
            // A reply's framing (chunk lines, trailers) may add to its body, within reason:
            // a peer cannot make this buffer grow far past max-frame-bytes.
            if self.buf.len() > max.saturating_mul(2).saturating_add(64 * 1024) {
                return Err(Failure {
                    status: Status::Protocol,
                    reason: format!("HTTP reply still incomplete after {} bytes", self.buf.len()),
                    closed_before_reply: false,
                });
            }
            self.buf.reserve(16 * 1024);
            match stream.read_buf(&mut self.buf).await {
                Ok(0) => {
                    return Err(Failure {
                        status: Status::Connect,
                        reason: "peer closed the connection before replying".into(),
                        closed_before_reply: self.buf.is_empty(),
                    })
                }
                Ok(n) => counters.bytes_in.fetch_add(n as u64, Ordering::Relaxed),
                Err(e) => {
                    // A reset, or (TLS) a close without close_notify: closed all the same.
                    let closed = matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
                    );
                    if closed && self.buf.is_empty() {
                        return Err(Failure {
                            status: Status::Connect,
                            reason: "peer closed the connection before replying".into(),
                            closed_before_reply: true,
                        });
                    }
                    return Err(lost(e));
                }
            };
        }
    }
}
