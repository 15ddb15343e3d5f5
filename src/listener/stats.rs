//! Counters of one listener, read by `hamux_listener_stats`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[derive(Default)]
pub struct ListenerCounters {
    pub(crate) accepted: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) over_limit: AtomicU64,
    pub(crate) handshake_timeouts: AtomicU64,
    pub(crate) tls_failures: AtomicU64,
    pub(crate) idle_closed: AtomicU64,
    pub(crate) open: AtomicU64,
    pub(crate) protocol_errors: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) serial_requests: AtomicU64,
    pub(crate) responses: AtomicU64,
    pub(crate) error_responses: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
}

impl ListenerCounters {
    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Relaxed)
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "connections-accepted": self.accepted.load(Relaxed),
            "connections-refused": self.refused.load(Relaxed),
            "connections-over-limit": self.over_limit.load(Relaxed),
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
