//! Where a connection's replies go: frames in any order for `hamux://`, HTTP responses in
//! request order for HTTP/1.1. Everything a connection writes goes through its
//! [`Replies`], which alone knows how it is encoded and buffered.

mod encode;
mod http_order;

use crate::io::{write_loop, Outbox};
use crate::listener::drain::Drain;
use crate::listener::stats::ListenerCounters;
use crate::Status;
use http_order::{HttpAnswer, HttpOrder};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWrite;
use tokio::sync::Notify;

/// How a request is answered.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Route {
    /// A Response or Error frame with this txid.
    Frame { txid: u64 },
    /// The `seq`th HTTP response of the connection; `close` ends the connection after it.
    Http { seq: u64, close: bool },
}

/// The reply side of one connection, shared by its writer and every request it carries.
pub(crate) struct Replies {
    outbox: Outbox<()>,
    http_order: Mutex<HttpOrder>,
    /// Requests of this connection the host has not answered yet.
    outstanding: AtomicUsize,
    /// Notified when `outstanding` drops to zero (a closing connection waits for it).
    all_answered: Notify,
    /// The listener's shutdown state. Once it drains, an HTTP connection accepts no new
    /// request and the answer to its last accepted one carries `Connection: close` —
    /// decided when the answer leaves, so that an answer given just after the shutdown
    /// began is already the closing one.
    drain: Arc<Drain>,
    /// The listener's counters, reached through the connection rather than cloned into
    /// every request (one contended reference count less per request).
    counters: Arc<ListenerCounters>,
}

/// The requesting connection is gone.
pub(crate) struct Gone;

impl Replies {
    pub(crate) fn new(drain: Arc<Drain>, counters: Arc<ListenerCounters>) -> Replies {
        Replies {
            counters,
            outbox: Outbox::default(),
            http_order: Mutex::default(),
            outstanding: AtomicUsize::new(0),
            all_answered: Notify::new(),
            drain,
        }
    }

    pub(crate) fn counters(&self) -> &ListenerCounters {
        &self.counters
    }

    /// Counts one more request handed to the host on this connection.
    pub(crate) fn handed_over(&self) {
        self.outstanding.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an answer given (after it was queued in the outbox).
    pub(crate) fn answered(&self) {
        if self.outstanding.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.all_answered.notify_one();
        }
    }

    /// Whether the host still owes answers to requests of this connection.
    pub(crate) fn owed(&self) -> bool {
        self.outstanding.load(Ordering::Relaxed) > 0
    }

    /// Resolves once the host has answered every request handed over on this connection.
    pub(crate) async fn all_answered(&self) {
        while self.outstanding.load(Ordering::Acquire) > 0 {
            // A notification given before this wait began is kept as a permit, so the
            // answer that brings the count to zero is never missed.
            self.all_answered.notified().await;
        }
    }

    /// Writes what is queued to `writer` until the connection is closed and flushed, or
    /// writing fails; `on_written` sees how many bytes each write took.
    pub(crate) async fn write_to<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        on_written: impl FnMut(usize),
    ) -> std::io::Result<()> {
        write_loop(&self.outbox, writer, |_| {}, on_written).await
    }

    /// Takes no more replies: the writer flushes what is queued and the connection ends.
    /// Idempotent.
    pub(crate) fn close(&self) {
        self.outbox.close();
    }

    /// Sends a successful reply with `body`.
    pub(crate) fn reply(&self, route: Route, body: &[u8]) -> Result<(), Gone> {
        match route {
            Route::Frame { txid } => {
                self.outbox.push(None, |out| encode::response(out, txid, body)).map_err(|_| Gone)
            }
            Route::Http { seq, close } => self.http_in_order(seq, HttpAnswer::Json(body), close),
        }
    }

    /// Sends a failure: an Error frame, or for HTTP Kea's command-error answer
    /// (`[ { "result": 1, "text": ... } ]`, HTTP 200).
    pub(crate) fn fail(&self, route: Route, status: Status, message: &str) -> Result<(), Gone> {
        match route {
            Route::Frame { txid } => {
                self.outbox.push(None, |out| encode::error(out, txid, status, message)).map_err(|_| Gone)
            }
            Route::Http { seq, close } => {
                let body = encode::http_command_error(message);
                self.http_in_order(seq, HttpAnswer::Json(&body[..]), close)
            }
        }
    }

    /// `hamux://`: queues this side's hello, the session's first bytes.
    pub(crate) fn send_hello(&self) {
        let _ = self.outbox.push(None, encode::hello);
    }

    /// `hamux://`: answers a Ping, unless the peer is not reading what it was sent (see
    /// [`Outbox::push_pong`]).
    pub(crate) fn send_pong(&self, txid: u64, body: &[u8]) {
        self.outbox.push_pong(|out| encode::pong(out, txid, body));
    }

    /// `hamux://`: tells the peer the listener is going away (graceful shutdown).
    pub(crate) fn send_goaway(&self) {
        let _ = self.outbox.push(None, encode::goaway);
    }

    /// `hamux://`: queues a PROTOCOL Error frame telling the peer why the connection is
    /// being closed (`txid`: the request at fault, or 0).
    pub(crate) fn refuse_session(&self, txid: u64, why: &str) {
        let _ = self.outbox.push(None, |out| encode::error(out, txid, Status::Protocol, why));
    }

    /// Queues an HTTP-level refusal (`{ "result": 400, "text": "Bad Request" }`) as the
    /// `seq`th answer, after which the connection closes.
    pub(crate) fn refuse_http(&self, seq: u64, status: u16) {
        let _ = self.http_in_order(seq, HttpAnswer::Refusal(status), true);
    }

    fn http_lock(&self) -> std::sync::MutexGuard<'_, HttpOrder> {
        self.http_order.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers the next HTTP request before it is handed to the host; false while the
    /// listener shuts down (the request is then not accepted and the connection closes
    /// after the answers it owes).
    pub(crate) fn accept_http(&self) -> bool {
        let mut order = self.http_lock();
        // Under the lock: an answer leaving concurrently sees the same `accepted`.
        if self.drain.is_draining() {
            return false;
        }
        order.accept();
        true
    }

    /// Answers request `seq`, read while the listener shuts down and not handed to the
    /// host, with 503 and `Connection: close`, after the answers owed before it.
    pub(crate) fn refuse_http_draining(&self, seq: u64) {
        self.http_lock().accept();
        let _ = self.http_in_order(seq, HttpAnswer::Refusal(503), true);
    }

    /// Graceful shutdown of an HTTP connection: the answer to the last request accepted
    /// carries `Connection: close` and ends the connection; with none owed, it ends now.
    pub(crate) fn close_http_after_answers(&self) {
        let order = self.http_lock();
        if order.all_sent() {
            self.outbox.close();
        }
    }

    /// Sends the answer to request `seq` if its turn has come, with the answers that were
    /// ready behind it; otherwise it waits (copied) for the answers before it. With one
    /// request in flight, as Kea sends them, an answer always leaves at once, encoded
    /// straight from the host's body.
    fn http_in_order(&self, seq: u64, answer: HttpAnswer<&[u8]>, close: bool) -> Result<(), Gone> {
        let mut order = self.http_lock();
        if !order.is_next(seq) {
            if self.outbox.is_closed() {
                return Err(Gone);
            }
            order.insert(seq, answer.to_owned(), close);
            return Ok(());
        }
        if self.leave(&mut order, &answer, close)? {
            return Ok(());
        }
        while let Some((answer, close)) = order.take_next() {
            if self.leave(&mut order, &answer, close)? {
                break;
            }
        }
        Ok(())
    }

    /// Sends `answer`, whose turn it is; true if it ends the connection (`close`, or the
    /// last answer owed while the listener drains).
    fn leave<B: AsRef<[u8]>>(
        &self,
        order: &mut HttpOrder,
        answer: &HttpAnswer<B>,
        close: bool,
    ) -> Result<bool, Gone> {
        order.left();
        let close = close || (order.all_sent() && self.drain.is_draining());
        self.outbox.push(None, |out| answer.encode(out, close)).map_err(|_| Gone)?;
        if close {
            // Written, then the writer flushes and ends the connection.
            self.outbox.close();
            order.clear();
        }
        Ok(close)
    }
}
