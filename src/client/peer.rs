//! One peer URL: its pool of connections and its counters.

use super::connection::{Connection, PeerTarget};
use super::stats::PeerCounters;
use super::transaction::Txn;
use super::PeerSettings;
use crate::io::IoThreads;
use crate::PeerUrl;
use crossbeam_queue::ArrayQueue;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The connections to one peer URL.
///
/// Connections are kept in a lock-free queue and popped for a submit and pushed back, like
/// Kea's lease-manager connection pool, so concurrent host threads spread over them
/// without a lock. Each connection is pinned to one IO thread, assigned round robin.
pub(crate) struct Peer {
    target: Arc<PeerTarget>,
    connections: Vec<Arc<Connection>>,
    pool: ArrayQueue<usize>,
    fallback: AtomicUsize,
}

impl Peer {
    pub(crate) fn new(url: PeerUrl, settings: PeerSettings, io: &IoThreads, first_thread: usize) -> Peer {
        let target = Arc::new(PeerTarget { url, settings, counters: Arc::new(PeerCounters::default()) });
        let n = target.settings.connections;
        let connections: Vec<Arc<Connection>> =
            (0..n).map(|i| Arc::new(Connection::new(target.clone(), io.handle(first_thread + i)))).collect();
        let pool = ArrayQueue::new(n);
        for i in 0..n {
            let _ = pool.push(i);
        }
        Peer { target, connections, pool, fallback: AtomicUsize::new(0) }
    }

    pub(crate) fn settings(&self) -> &PeerSettings {
        &self.target.settings
    }

    pub(crate) fn counters(&self) -> &Arc<PeerCounters> {
        &self.target.counters
    }

    /// Reserves an in-flight slot; false if the peer is at `max-in-flight`.
    pub(crate) fn try_reserve(&self) -> bool {
        let counters = &self.target.counters;
        if counters.in_flight.fetch_add(1, Ordering::AcqRel) >= self.target.settings.max_in_flight {
            counters.in_flight.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Gives back a slot reserved by [`try_reserve`](Self::try_reserve) but not used.
    pub(crate) fn unreserve(&self) {
        self.target.counters.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// Hands the transaction to a connection popped from the pool, then pushes it back.
    pub(crate) fn submit(&self, txn: Txn, body: &[u8]) {
        self.target.counters.sent.fetch_add(1, Ordering::Relaxed);
        match self.pool.pop() {
            Some(i) => {
                self.connections[i].submit(txn, body);
                let _ = self.pool.push(i);
            }
            // Every connection is popped by other threads this instant; a multiplexed
            // connection can take more, so use one round robin rather than wait.
            None => {
                let i = self.fallback.fetch_add(1, Ordering::Relaxed) % self.connections.len();
                self.connections[i].submit(txn, body);
            }
        }
    }

    /// Refuses new work and cancels what never left (done after the IO threads stopped).
    pub(crate) fn close(&self) {
        for c in &self.connections {
            drop(c.close());
        }
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut v = self.target.counters.to_json();
        let connected = self.connections.iter().filter(|c| c.is_connected()).count();
        v["url"] = self.target.url.to_string().into();
        v["connections"] = self.connections.len().into();
        v["connected"] = connected.into();
        v
    }
}
