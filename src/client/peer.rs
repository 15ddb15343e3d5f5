//! One peer URL: its connections (multiplexed or HTTP) and its counters.

use super::http::HttpPool;
use super::multiplexed::MultiplexedConnection;
use super::stats::PeerCounters;
use super::target::PeerTarget;
use super::transaction::Txn;
use super::PeerSettings;
use crate::io::IoThreads;
use crate::url::Scheme;
use crate::{Error, PeerUrl};
use crossbeam_queue::ArrayQueue;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// How a peer's connections are shared between transactions.
enum Connections {
    /// `hamux://`: every connection carries many transactions; a connection is popped from
    /// the queue for a submit and pushed straight back, so concurrent host threads spread
    /// over the connections without a lock.
    Multiplexed(Box<MultiplexedPool>),
    /// `http://`: one transaction per connection at a time.
    Http(Arc<HttpPool>),
}

struct MultiplexedPool {
    connections: Vec<Arc<MultiplexedConnection>>,
    pool: ArrayQueue<usize>,
    fallback: AtomicUsize,
}

impl MultiplexedPool {
    /// `popped`, unless its peer is draining that connection (Goaway) or it is backing off
    /// after a failed connect: then another one that is neither. If there is none,
    /// `popped` all the same: its request waits in the outbox for the connection that
    /// replaces a drained one, or fails at once if the peer is down.
    fn live(&self, popped: usize) -> usize {
        if !self.connections[popped].is_avoided() {
            return popped;
        }
        let n = self.connections.len();
        (1..n).map(|k| (popped + k) % n).find(|&i| !self.connections[i].is_avoided()).unwrap_or(popped)
    }
}

/// The connections to one peer URL. Each connection is pinned to one IO thread, assigned
/// round robin.
pub(crate) struct Peer {
    target: Arc<PeerTarget>,
    connections: Connections,
}

impl Peer {
    pub(crate) fn new(
        url: PeerUrl,
        settings: PeerSettings,
        io: &IoThreads,
        first_thread: usize,
    ) -> Result<Peer, Error> {
        let scheme = url.scheme;
        let target = Arc::new(PeerTarget::new(url, settings)?);
        let n = target.settings.connections;
        let connections = match scheme {
            Scheme::Hamux => {
                let connections = (0..n)
                    .map(|i| {
                        Arc::new(MultiplexedConnection::new(target.clone(), io.handle(first_thread + i)))
                    })
                    .collect();
                let pool = ArrayQueue::new(n);
                for i in 0..n {
                    let _ = pool.push(i);
                }
                Connections::Multiplexed(Box::new(MultiplexedPool {
                    connections,
                    pool,
                    fallback: AtomicUsize::new(0),
                }))
            }
            Scheme::Http => {
                Connections::Http(Arc::new(HttpPool::new(target.clone(), |i| io.handle(first_thread + i))))
            }
        };
        Ok(Peer { target, connections })
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

    /// Hands the transaction to a connection.
    pub(crate) fn submit(&self, txn: Txn, body: &[u8]) {
        self.target.counters.sent.fetch_add(1, Ordering::Relaxed);
        match &self.connections {
            Connections::Multiplexed(m) => match m.pool.pop() {
                Some(i) => {
                    m.connections[m.live(i)].submit(txn, body);
                    let _ = m.pool.push(i);
                }
                // Every connection is popped by other threads this instant; a multiplexed
                // connection can take more, so use one round robin rather than wait.
                None => {
                    let i = m.fallback.fetch_add(1, Ordering::Relaxed) % m.connections.len();
                    m.connections[m.live(i)].submit(txn, body);
                }
            },
            Connections::Http(pool) => pool.submit(txn, body),
        }
    }

    /// Refuses new work and cancels what never left (done after the IO threads stopped).
    pub(crate) fn close(&self) {
        match &self.connections {
            Connections::Multiplexed(m) => {
                for c in &m.connections {
                    drop(c.close());
                }
            }
            Connections::Http(pool) => pool.close(),
        }
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut v = self.target.counters.to_json();
        let connected = match &self.connections {
            Connections::Multiplexed(m) => m.connections.iter().filter(|c| c.is_connected()).count(),
            Connections::Http(pool) => pool.connected(),
        };
        v["url"] = self.target.url.to_string().into();
        v["connections"] = self.target.settings.connections.into();
        v["connected"] = connected.into();
        v
    }
}
