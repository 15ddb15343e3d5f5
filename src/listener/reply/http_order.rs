//! HTTP/1.1 answers leave in request order: those ready early wait here for their turn.

use super::encode;
use std::collections::BTreeMap;

/// An HTTP answer waiting for its turn. Encoded only when it leaves, because only then is
/// it known whether it is the connection's last (`Connection: close`).
pub(super) enum HttpAnswer {
    /// 200 with this JSON body.
    Json(Vec<u8>),
    /// Kea's HTTP-level error answer with this status.
    Refusal(u16),
}

impl HttpAnswer {
    pub(super) fn encode(&self, out: &mut Vec<u8>, close: bool) {
        match self {
            HttpAnswer::Json(body) => encode::http_json(out, body, close),
            HttpAnswer::Refusal(status) => encode::http_refusal(out, *status, close),
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

    /// Files the answer to request `seq`; `close`: the connection ends after it.
    pub(super) fn insert(&mut self, seq: u64, answer: HttpAnswer, close: bool) {
        self.ready.insert(seq, (answer, close));
    }

    /// The answer whose turn it is, if it is ready; it leaves now.
    pub(super) fn take_next(&mut self) -> Option<(HttpAnswer, bool)> {
        let taken = self.ready.remove(&self.next)?;
        self.next += 1;
        Some(taken)
    }

    /// Drops the answers still waiting (the connection closes before their turn).
    pub(super) fn clear(&mut self) {
        self.ready.clear();
    }
}
