//! HTTP/1.1 answers leave in request order: those ready early wait here for their turn.

use super::encode;
use std::collections::BTreeMap;

/// An HTTP answer. Encoded only when it leaves, because only then is it known whether it
/// is the connection's last (`Connection: close`). `B` is the JSON body: borrowed from the
/// host while the answer leaves at once (its turn had come), owned while it waits.
pub(super) enum HttpAnswer<B = Vec<u8>> {
    /// 200 with this JSON body.
    Json(B),
    /// Kea's HTTP-level error answer with this status.
    Refusal(u16),
}

impl<B: AsRef<[u8]>> HttpAnswer<B> {
    pub(super) fn encode(&self, out: &mut Vec<u8>, close: bool) {
        match self {
            HttpAnswer::Json(body) => encode::http_json(out, body.as_ref(), close),
            HttpAnswer::Refusal(status) => encode::http_refusal(out, *status, close),
        }
    }

    /// The answer with a body of its own, to wait for its turn.
    pub(super) fn to_owned(&self) -> HttpAnswer {
        match self {
            HttpAnswer::Json(body) => HttpAnswer::Json(body.as_ref().to_vec()),
            HttpAnswer::Refusal(status) => HttpAnswer::Refusal(*status),
        }
    }
}

/// Where one connection's answers stand.
#[derive(Default)]
pub(super) struct HttpOrder {
    /// The next answer to leave.
    next: u64,
    /// Requests accepted so far (handed to the host, or refused while draining).
    accepted: u64,
    /// Answers ready before their turn, with whether each ends the connection.
    ready: BTreeMap<u64, (HttpAnswer, bool)>,
}

impl HttpOrder {
    /// Counts one more request whose answer the connection owes.
    pub(super) fn accept(&mut self) {
        self.accepted += 1;
    }

    /// Whether every request accepted so far has had its answer leave.
    pub(super) fn all_sent(&self) -> bool {
        self.next == self.accepted
    }

    /// Whether the answer to request `seq` is the next to leave.
    pub(super) fn is_next(&self, seq: u64) -> bool {
        seq == self.next
    }

    /// Files the answer to request `seq`, ready before its turn; `close`: the connection
    /// ends after it.
    pub(super) fn insert(&mut self, seq: u64, answer: HttpAnswer, close: bool) {
        self.ready.insert(seq, (answer, close));
    }

    /// The answer whose turn it is, if it waits ready here.
    pub(super) fn take_next(&mut self) -> Option<(HttpAnswer, bool)> {
        self.ready.remove(&self.next)
    }

    /// The answer whose turn it was has left: the next one's turn.
    pub(super) fn left(&mut self) {
        self.next += 1;
    }

    /// Drops the answers still waiting (the connection closes before their turn).
    pub(super) fn clear(&mut self) {
        self.ready.clear();
    }
}
