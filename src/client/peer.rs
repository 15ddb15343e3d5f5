//! One peer URL: its connections (multiplexed or HTTP) and its counters.

use super::config::PeerSettings;
use super::http::HttpPool;
use super::multiplexed_pool::MultiplexedPool;
use super::stats::PeerCounters;
use super::target::PeerTarget;
use super::transaction::Txn;
use crate::io::IoThreads;
use crate::url::Scheme;
use crate::{Error, PeerUrl};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// How a peer's connections are shared between transactions.
enum Connections {
    /// `hamux://`: every connection carries many transactions. (Boxed: its lock-free
    /// queue is cache-padded, large next to the HTTP pool.)
    Multiplexed(Box<MultiplexedPool>),
    /// `http://`: one transaction per connection at a time.
    Http(HttpPool),
}

/// The connections to one peer URL. Each connection is pinned to one IO thread, assigned
/// round robin.
pub(crate) struct Peer {
    /// The URL as the host wrote it: the client's key for this peer.
    key: Box<str>,
    target: Arc<PeerTarget>,
    connections: Connections,
}

impl Peer {
    pub(crate) fn new(
        key: &str,
        url: PeerUrl,
        settings: PeerSettings,
        io: &IoThreads,
        first_thread: usize,
    ) -> Result<Peer, Error> {
        let scheme = url.scheme;
        let target = Arc::new(PeerTarget::new(url, settings)?);
        let thread = |i: usize| (io.handle(first_thread + i), io.slot(first_thread + i));
        let connections = match scheme {
            Scheme::Hamux => Connections::Multiplexed(Box::new(MultiplexedPool::new(target.clone(), thread))),
            Scheme::Http => Connections::Http(HttpPool::new(target.clone(), |i| io.handle(first_thread + i))),
        };
        Ok(Peer { key: key.into(), target, connections })
    }

    pub(crate) fn key(&self) -> &str {
        &self.key
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
            Connections::Multiplexed(pool) => pool.submit(txn, body),
            Connections::Http(pool) => pool.submit(txn, body),
        }
    }

    /// Refuses new work and cancels what never left (done after the IO threads stopped).
    pub(crate) fn close(&self) {
        match &self.connections {
            Connections::Multiplexed(pool) => pool.close(),
            Connections::Http(pool) => pool.close(),
        }
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut v = self.target.counters.to_json();
        v["url"] = self.target.url.to_string().into();
        v["connections"] = self.target.settings.connections.into();
        v
    }
}
