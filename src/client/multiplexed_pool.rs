//! The connections to one `hamux://` peer: every connection carries many transactions, so
//! a submit only picks one. A connection is popped from a queue for a submit and pushed
//! straight back, so concurrent host threads spread over the connections without a lock.

use super::multiplexed::MultiplexedSession;
use super::supervisor::Supervisor;
use super::target::PeerTarget;
use super::transaction::Txn;
use crossbeam_queue::ArrayQueue;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::runtime::Handle;

pub(crate) struct MultiplexedPool {
    connections: Vec<Arc<Supervisor<MultiplexedSession>>>,
    pool: ArrayQueue<usize>,
    fallback: AtomicUsize,
}

impl MultiplexedPool {
    /// `connections-per-peer` connections, connection `i` on the IO thread `io(i)` gives.
    pub(crate) fn new(target: Arc<PeerTarget>, io: impl Fn(usize) -> Handle) -> MultiplexedPool {
        let n = target.settings.connections;
        let connections = (0..n)
            .map(|i| {
                Arc::new(Supervisor::new(target.clone(), io(i), MultiplexedSession::new(target.clone())))
            })
            .collect();
        let pool = ArrayQueue::new(n);
        for i in 0..n {
            let _ = pool.push(i);
        }
        MultiplexedPool { connections, pool, fallback: AtomicUsize::new(0) }
    }

    /// Hands the transaction to a connection; the connection starts on first use.
    pub(crate) fn submit(&self, txn: Txn, body: &[u8]) {
        match self.pool.pop() {
            Some(i) => {
                self.submit_to(self.live(i), txn, body);
                let _ = self.pool.push(i);
            }
            // Every connection is popped by other threads this instant; a multiplexed
            // connection can take more, so use one round robin rather than wait.
            None => {
                let i = self.fallback.fetch_add(1, Ordering::Relaxed) % self.connections.len();
                self.submit_to(self.live(i), txn, body);
            }
        }
    }

    fn submit_to(&self, i: usize, txn: Txn, body: &[u8]) {
        let connection = &self.connections[i];
        connection.session().submit(txn, body);
        connection.start();
    }

    /// Whether new requests belong elsewhere if another connection can take them: the
    /// peer asked this one to go away (Goaway), or it is avoided after a failed connect.
    fn is_avoided(&self, i: usize) -> bool {
        let connection = &self.connections[i];
        connection.session().is_draining() || connection.is_avoided()
    }

    /// `popped`, unless it is avoided: then another one that is not. If there is none,
    /// `popped` all the same: its request waits in the outbox for the connection that
    /// replaces a drained one, or fails at once if the peer is down.
    fn live(&self, popped: usize) -> usize {
        if !self.is_avoided(popped) {
            return popped;
        }
        let n = self.connections.len();
        (1..n).map(|k| (popped + k) % n).find(|&i| !self.is_avoided(i)).unwrap_or(popped)
    }

    /// Refuses new work and cancels what never left (done after the IO threads stopped).
    pub(crate) fn close(&self) {
        for c in &self.connections {
            drop(c.session().close());
        }
    }
}
