//! Counters one peer keeps, read by `hamux_client_stats`.

use super::latency::LatencyHistogram;
use crate::counter::Striped;
use crate::Status;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// Counters of one peer, updated lock-free from host and IO threads; those bumped per
/// request or per read/write are striped by thread (see [`Striped`]).
#[derive(Default)]
pub struct PeerCounters {
    /// Accepted and not yet completed (the in-flight limit is checked against this).
    pub(crate) in_flight: AtomicUsize,
    pub(crate) sent: Striped,
    completed: [Striped; Status::ALL.len()],
    connects: AtomicU64,
    pub(crate) connect_failures: AtomicU64,
    /// Of those, connects that failed for want of a file descriptor (EMFILE, ENFILE).
    pub(crate) out_of_descriptors: AtomicU64,
    disconnects: AtomicU64,
    /// Connections up now: connected and not yet lost (see [`connected`](Self::connected)).
    open: AtomicUsize,
    /// Goaway frames received: connections the peer drained and closed gracefully.
    pub(crate) goaways: AtomicU64,
    pub(crate) late_replies: AtomicU64,
    pub(crate) bytes_out: Striped,
    pub(crate) bytes_in: Striped,
    /// Requests a host thread wrote to an idle connection itself, waking no IO thread.
    pub(crate) direct_writes: Striped,
    latency: LatencyHistogram,
}

impl PeerCounters {
    pub(crate) fn record_completion(&self, status: Status, latency: Duration) {
        self.completed[status as usize].fetch_add(1, Relaxed);
        if status == Status::Ok {
            self.latency.record(latency);
        }
        self.in_flight.fetch_sub(1, Relaxed);
    }

    /// A connection to the peer is up: connected (and, for TLS, its handshake done).
    pub(crate) fn connection_opened(&self) {
        self.connects.fetch_add(1, Relaxed);
        self.open.fetch_add(1, Relaxed);
    }

    /// A connection counted by [`connection_opened`](Self::connection_opened) is lost.
    pub(crate) fn connection_closed(&self) {
        self.disconnects.fetch_add(1, Relaxed);
        self.open.fetch_sub(1, Relaxed);
    }

    /// Connections to the peer up now. The one idea of "up" the client has: the peer is
    /// up while this is not zero (the supervisor's rejoin and step-aside decisions, and
    /// the `connected` statistic, all read it).
    pub(crate) fn connected(&self) -> usize {
        self.open.load(Relaxed)
    }

    /// Transactions completed with `status` so far.
    pub fn completed(&self, status: Status) -> u64 {
        self.completed[status as usize].load(Relaxed)
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut completed = serde_json::Map::new();
        for status in Status::ALL {
            let n = self.completed(status);
            if n > 0 {
                completed.insert(status.label().to_string(), n.into());
            }
        }
        serde_json::json!({
            "in-flight": self.in_flight.load(Relaxed),
            "sent": self.sent.load(Relaxed),
            "completed": completed,
            "connected": self.connected(),
            "connects": self.connects.load(Relaxed),
            "connect-failures": self.connect_failures.load(Relaxed),
            "out-of-descriptors": self.out_of_descriptors.load(Relaxed),
            "disconnects": self.disconnects.load(Relaxed),
            "goaways": self.goaways.load(Relaxed),
            "late-replies": self.late_replies.load(Relaxed),
            "bytes-out": self.bytes_out.load(Relaxed),
            "bytes-in": self.bytes_in.load(Relaxed),
            "direct-writes": self.direct_writes.load(Relaxed),
            "latency-p50-us": self.latency.quantile_us(0.50),
            "latency-p99-us": self.latency.quantile_us(0.99),
        })
    }
}
