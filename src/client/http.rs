//! `http://` peers: HTTP/1.1 is in order per connection, so each connection carries one
//! transaction at a time. A connection is popped from the peer's idle pool for a
//! transaction and pushed back when its reply is complete — Kea's own multi-threaded
//! design — and `connections-per-peer` connections give that many requests in parallel.
//!
//! Requests that find no idle connection wait in the peer's backlog. Every push (of a
//! request to the backlog, or of a connection to the idle pool) is followed by a
//! dispatch that pairs the two queues, so neither can be left waiting on the other.
//!
//! Each connection slot is a [`Supervisor`] over an [`HttpSlot`] session: a request
//! handed to the slot waits in its mailbox, and the session takes it from there on the
//! live connection. A slot is out of the idle pool exactly while its mailbox or its
//! session holds a request, or while it steps aside during a backoff.

use super::http_connection::HttpConnection;
use super::supervisor::{Ended, Session, Supervisor, Up};
use super::target::PeerTarget;
use super::transaction::{lock, Txn};
use crate::codec::http;
use crate::io::Stream;
use crate::Status;
use crossbeam_queue::{ArrayQueue, SegQueue};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::time::Sleep;

/// A request ready to go: its transaction and its encoded HTTP bytes.
struct Job {
    txn: Txn,
    request: Vec<u8>,
}

/// Where a slot is handed its next request.
struct Mailbox {
    job: Mutex<Option<Job>>,
    notify: Notify,
}

/// What the pool and its slots' sessions share.
struct Queues {
    target: Arc<PeerTarget>,
    /// The head of every request to the peer, made once.
    head: http::RequestHead,
    mailboxes: Vec<Mailbox>,
    idle: ArrayQueue<usize>,
    backlog: SegQueue<Job>,
    closed: AtomicBool,
}

/// The connections to one `http://` peer.
pub(crate) struct HttpPool {
    queues: Arc<Queues>,
    slots: Vec<Arc<Supervisor<HttpSlot>>>,
    started: AtomicBool,
}

impl HttpPool {
    /// `connections-per-peer` connections, slot `i` on the IO thread `io(i)` gives.
    pub(crate) fn new(target: Arc<PeerTarget>, io: impl Fn(usize) -> Handle) -> HttpPool {
        let n = target.settings.connections;
        let mailboxes = (0..n).map(|_| Mailbox { job: Mutex::new(None), notify: Notify::new() }).collect();
        let idle = ArrayQueue::new(n);
        for i in 0..n {
            let _ = idle.push(i);
        }
        let url = &target.url;
        let head = http::RequestHead::new(&url.authority(), &url.path, target.settings.basic_auth.as_deref());
        let queues = Arc::new(Queues {
            target: target.clone(),
            head,
            mailboxes,
            idle,
            backlog: SegQueue::new(),
            closed: AtomicBool::new(false),
        });
        let slots = (0..n)
            .map(|index| {
                let session = HttpSlot { queues: queues.clone(), index };
                Arc::new(Supervisor::new(target.clone(), io(index), session))
            })
            .collect();
        HttpPool { queues, slots, started: AtomicBool::new(false) }
    }

    pub(crate) fn submit(&self, txn: Txn, body: &[u8]) {
        let queues = &self.queues;
        if queues.closed.load(Ordering::Acquire) {
            txn.complete(Status::Shutdown, b"client is shutting down");
            return;
        }
        let mut request = Vec::with_capacity(queues.head.max_len(body.len()));
        queues.head.encode(&mut request, body);
        // The slots' tasks start with the first request: any slot may be handed it.
        if !self.started.load(Ordering::Acquire) && !self.started.swap(true, Ordering::AcqRel) {
            for slot in &self.slots {
                slot.start();
            }
        }
        queues.backlog.push(Job { txn, request });
        fence(Ordering::SeqCst);
        queues.dispatch();
    }

    /// Refuses new work and cancels what never left (done after the IO threads stopped).
    pub(crate) fn close(&self) {
        let queues = &self.queues;
        queues.closed.store(true, Ordering::Release);
        while let Some(job) = queues.backlog.pop() {
            drop(job);
        }
        for mailbox in &queues.mailboxes {
            let job = lock(&mailbox.job).take();
            drop(job);
        }
    }
}

impl Queues {
    /// Pairs waiting requests with idle connections until one of the queues is empty.
    fn dispatch(&self) {
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

    fn assign(&self, i: usize, job: Job) {
        let mailbox = &self.mailboxes[i];
        // An idle slot's mailbox is empty; were it not, the displaced request would be
        // cancelled here, after the mailbox's lock.
        let displaced = lock(&mailbox.job).replace(job);
        drop(displaced);
        mailbox.notify.notify_one();
    }

    /// Slot `i` is idle again.
    fn give_back(&self, i: usize) {
        let _ = self.idle.push(i);
        fence(Ordering::SeqCst);
        self.dispatch();
    }

    /// Queues a request again, for whichever slot is idle first.
    fn requeue(&self, job: Job) {
        self.backlog.push(job);
        fence(Ordering::SeqCst);
        self.dispatch();
    }
}

/// The session of one slot: its requests, one at a time.
pub(crate) struct HttpSlot {
    queues: Arc<Queues>,
    index: usize,
}

impl HttpSlot {
    fn mailbox(&self) -> &Mailbox {
        &self.queues.mailboxes[self.index]
    }

    fn take_job(&self) -> Option<Job> {
        lock(&self.mailbox().job).take()
    }

    /// Keeps `job` for this slot's next connection.
    fn keep(&self, job: Job) {
        let displaced = lock(&self.mailbox().job).replace(job);
        drop(displaced);
    }

    /// Completes `job` (if there is one) and makes the slot idle.
    fn finish(&self, job: Option<Job>, status: Status, body: &[u8]) {
        if let Some(job) = job {
            job.txn.complete(status, body);
        }
        self.queues.give_back(self.index);
    }

    /// The requests of one live connection, until it ends.
    async fn serve(&self, stream: Stream, up: Up<'_>) -> Ended {
        let mut up = Some(up);
        let settings = &self.queues.target.settings;
        let counters = &self.queues.target.counters;
        let mut conn = HttpConnection::new(stream, settings.max_frame_bytes);
        // Whether the connection has been open before the request at hand: only such a
        // request may find it closed by the peer, and may be sent again for that.
        let mut reused = false;
        // The request timeout of every request on this connection (see `within`).
        let timer = tokio::time::sleep_until(tokio::time::Instant::now());
        tokio::pin!(timer);
        loop {
            let job = loop {
                if let Some(job) = self.take_job() {
                    break job;
                }
                reused = true;
                self.mailbox().notify.notified().await;
            };
            if reused && !conn.still_open() {
                // The peer closed the connection while it was idle: the request goes out on
                // the next one, opened at once.
                self.keep(job);
                return lost("the peer closed the idle connection");
            }
            let may_resend = reused && settings.resend_after_idle_close;
            reused = true;
            let Job { txn, request } = job;
            let deadline = txn.deadline();
            let mut txn = Some(txn);
            // The reply completes its transaction while it lies in the read buffer. One
            // that closes the connection first takes the connection off the `connected`
            // count, so that a completion reading the statistics sees it closed.
            let trip = conn.round_trip(&request, counters, |reply| {
                let status = if (200..300).contains(&reply.status) { Status::Ok } else { Status::Http };
                if reply.close {
                    up.take();
                }
                if let Some(txn) = txn.take() {
                    txn.complete(status, reply.body);
                }
                reply.close
            });
            let outcome = within(timer.as_mut(), deadline, trip).await;
            // Still here unless a reply completed it.
            let job = txn.map(|txn| Job { txn, request });
            match outcome {
                Some(Ok(false)) => {
                    self.queues.give_back(self.index);
                    continue;
                }
                Some(Ok(true)) => {
                    drop(conn);
                    self.queues.give_back(self.index);
                    return lost("the peer closed the connection after its reply");
                }
                None => {
                    // The reply may still come; this connection can no longer be trusted.
                    drop((conn, up));
                    let text = format!("no reply within {} ms", settings.request_timeout.as_millis());
                    self.finish(job, Status::Timeout, text.as_bytes());
                    return lost(text);
                }
                Some(Err(failure)) => {
                    drop((conn, up));
                    match job {
                        // A keep-alive connection the peer closed as the request went out:
                        // send it again, once, on a new connection (never reused for it).
                        Some(job) if failure.closed_before_reply && may_resend => self.keep(job),
                        job => self.finish(job, failure.status, failure.reason.as_bytes()),
                    }
                    return lost(failure.reason);
                }
            }
        }
    }
}

/// Awaits `work` until `deadline`; `None` if the deadline passed first.
///
/// A connection's requests share one `timer` rather than each registering its own with the
/// runtime (and deregistering it when the reply comes in microseconds). It is moved only
/// when it would fire after this deadline, or when it fires for an earlier request's: one
/// peer has one request timeout, so deadlines grow from request to request and the timer is
/// moved about once per timeout, not once per request.
async fn within<F: Future>(mut timer: Pin<&mut Sleep>, deadline: Instant, work: F) -> Option<F::Output> {
    let deadline = tokio::time::Instant::from_std(deadline);
    if timer.deadline() > deadline {
        timer.as_mut().reset(deadline);
    }
    tokio::pin!(work);
    loop {
        tokio::select! {
            biased;
            out = &mut work => return Some(out),
            () = &mut timer => {
                if tokio::time::Instant::now() >= deadline {
                    return None;
                }
                timer.as_mut().reset(deadline);
            }
        }
    }
}

/// An HTTP connection is established once connected: its end is never a refusal.
fn lost(reason: impl Into<String>) -> Ended {
    Ended { status: Status::Connect, reason: reason.into(), established: true }
}

impl Session for HttpSlot {
    fn has_work(&self) -> bool {
        lock(&self.mailbox().job).is_some()
    }

    fn work_arrived(&self) -> impl Future<Output = ()> + Send {
        self.mailbox().notify.notified()
    }

    fn is_closed(&self) -> bool {
        self.queues.closed.load(Ordering::Acquire)
    }

    fn connect_deadline(&self) -> Option<Instant> {
        lock(&self.mailbox().job).as_ref().map(|job| job.txn.deadline())
    }

    fn fail_work(&self, status: Status, reason: &str) {
        if let Some(job) = self.take_job() {
            self.finish(Some(job), status, reason.as_bytes());
        }
    }

    fn step_aside(&self) -> bool {
        if let Some(job) = self.take_job() {
            self.queues.requeue(job);
        }
        true
    }

    fn back_in_line(&self) {
        self.queues.give_back(self.index);
    }

    fn run(&self, stream: Stream, up: Up<'_>) -> impl Future<Output = Ended> + Send {
        self.serve(stream, up)
    }
}
