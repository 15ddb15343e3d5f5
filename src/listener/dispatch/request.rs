//! An incoming request, owned by the host until it answers it once.

use super::pending::PendingSlot;
use crate::listener::reply::{Replies, Route};
use crate::{Error, Status};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// A request received by the listener. Answer it with [`respond`](Self::respond) (or
/// [`respond_error`](Self::respond_error)) from any thread, in any order; a request dropped
/// unanswered is answered with a CANCELLED error so the peer is never left waiting.
pub struct Request {
    route: Route,
    body: Vec<u8>,
    replies: Arc<Replies>,
    answered: bool,
    /// Set while the request holds the serial lane: answering it lets the next one go.
    lane: Option<Arc<dyn OnAnswered>>,
    /// Holds its `max-pending` and `max-pending-per-connection` slots until answered.
    _pending: PendingSlot,
}

/// Told once a request is answered (the serial lane, to hand the host its next request).
pub(crate) trait OnAnswered: Send + Sync {
    fn answered(self: Arc<Self>);
}

fn gone() -> Error {
    Error::new(Status::Connect, "the requesting peer's connection is gone")
}

impl Request {
    pub(super) fn new(route: Route, body: Vec<u8>, replies: Arc<Replies>, pending: PendingSlot) -> Request {
        replies.handed_over();
        Request { route, body, replies, answered: false, lane: None, _pending: pending }
    }

    /// The transaction id the peer gave the request (for HTTP, the request's position on
    /// its connection, from 1).
    pub fn txid(&self) -> u64 {
        match self.route {
            Route::Frame { txid } => txid,
            Route::Http { seq, .. } => seq + 1,
        }
    }

    /// The request body (a Kea command as JSON); empty after [`take_body`](Self::take_body).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Moves the body out, so the caller can hold it independently of the request.
    pub fn take_body(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.body)
    }

    /// `lane` is told when this request is answered (or dropped unanswered).
    pub(super) fn on_answer(&mut self, lane: Arc<dyn OnAnswered>) {
        self.lane = Some(lane);
    }

    fn answered(&mut self) {
        self.answered = true;
        self.replies.answered();
        if let Some(lane) = self.lane.take() {
            lane.answered();
        }
    }

    /// Sends `body` as the reply. CONNECT if the requesting connection is gone.
    pub fn respond(mut self, body: &[u8]) -> Result<(), Error> {
        if u32::try_from(body.len()).is_err() {
            let _ = self.respond_status(Status::Internal, "reply too large to send");
            return Err(Error::invalid("reply body exceeds 4 GiB"));
        }
        self.replies.counters().responses.fetch_add(1, Relaxed);
        let sent = self.replies.reply(self.route, body).map_err(|_| gone());
        self.answered();
        sent
    }

    /// Answers with an error: a hamux peer's callback gets `status` and `message`; an HTTP
    /// peer gets Kea's `[ { "result": 1, "text": message } ]`.
    pub fn respond_error(mut self, status: Status, message: &str) -> Result<(), Error> {
        self.respond_status(status, message)
    }

    fn respond_status(&mut self, status: Status, message: &str) -> Result<(), Error> {
        self.replies.counters().error_responses.fetch_add(1, Relaxed);
        let sent = self.replies.fail(self.route, status, message).map_err(|_| gone());
        self.answered();
        sent
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        if !self.answered {
            let _ = self.respond_status(Status::Cancelled, "the listener dropped the request unanswered");
        }
    }
}
