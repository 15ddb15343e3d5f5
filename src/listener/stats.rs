//! Counters of one listener, read by `hamux_listener_stats`.

use crate::counter::Striped;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters of one listener. Those bumped per request or per read/write are striped by
/// thread, so the IO threads do not share their cache lines.
#[derive(Default)]
pub struct ListenerCounters {
    pub(crate) accepted: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) over_limit: AtomicU64,
    /// Accepts that failed for want of a file descriptor (EMFILE, ENFILE); the listener
    /// retries every 50 ms meanwhile (the accept loop's backoff), so this
    /// counts attempts, not connections.
    pub(crate) out_of_descriptors: AtomicU64,
    pub(crate) handshake_timeouts: AtomicU64,
    pub(crate) tls_failures: AtomicU64,
    pub(crate) idle_closed: AtomicU64,
    pub(crate) open: AtomicU64,
    pub(crate) protocol_errors: AtomicU64,
    pub(crate) requests: Striped,
    pub(crate) serial_requests: Striped,
    pub(crate) responses: Striped,
    pub(crate) error_responses: Striped,
    pub(crate) bytes_in: Striped,
    pub(crate) bytes_out: Striped,
}

impl ListenerCounters {
    /// Accepts that failed for want of a file descriptor so far.
    pub fn out_of_descriptors(&self) -> u64 {
        self.out_of_descriptors.load(Relaxed)
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Relaxed)
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "connections-accepted": self.accepted.load(Relaxed),
            "connections-refused": self.refused.load(Relaxed),
            "connections-over-limit": self.over_limit.load(Relaxed),
            "out-of-descriptors": self.out_of_descriptors.load(Relaxed),
            "handshake-timeouts": self.handshake_timeouts.load(Relaxed),
            "tls-failures": self.tls_failures.load(Relaxed),
            "idle-closed": self.idle_closed.load(Relaxed),
            "connections-open": self.open.load(Relaxed),
            "protocol-errors": self.protocol_errors.load(Relaxed),
            "requests": self.requests.load(Relaxed),
            "serial-requests": self.serial_requests.load(Relaxed),
            "responses": self.responses.load(Relaxed),
            "error-responses": self.error_responses.load(Relaxed),
            "bytes-in": self.bytes_in.load(Relaxed),
            "bytes-out": self.bytes_out.load(Relaxed),
        })
    }
}
