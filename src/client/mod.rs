//! The client: host threads send commands to peer URLs and get one completion each.

mod backoff;
mod config;
mod failed_write;
mod http;
mod http_connection;
mod latency;
mod multiplexed;
mod multiplexed_pool;
mod peer;
mod stats;
mod supervisor;
mod target;
mod transaction;

pub use config::{ClientConfig, PeerSettings};
pub use transaction::{Completion, Reply};

use crate::io::{IoThreads, PollQueue};
use crate::{Callbacks, Error, PeerUrl, Status};
use peer::Peer;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use transaction::{Deferred, Txn};

/// Peers by URL, looked up on every send: FNV-1a, as a URL is short and chosen by the
/// host itself (no flooding attacker picks the keys), so SipHash's cost buys nothing.
type PeerMap = HashMap<String, Arc<Peer>, BuildHasherDefault<UrlHasher>>;

#[derive(Default)]
struct UrlHasher(u64);

impl Hasher for UrlHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A hamux client. Cheap to share between threads (`&Client` is all `send` needs).
pub struct Client {
    config: ClientConfig,
    /// Poll mode: completions wait here for [`dispatch`](Client::dispatch).
    deferred: Option<Arc<PollQueue<Deferred>>>,
    peers: RwLock<PeerMap>,
    io: Mutex<IoThreads>,
    closed: AtomicBool,
    next_txid: AtomicU64,
    next_thread: AtomicUsize,
}

impl Client {
    /// Parses `config_json` (see [`ClientConfig`]) and starts the IO threads.
    pub fn new(config_json: &str) -> Result<Client, Error> {
        Client::with_config(ClientConfig::parse(config_json)?)
    }

    pub fn with_config(config: ClientConfig) -> Result<Client, Error> {
        let io = IoThreads::start(config.io_threads, "hamux-client-io")?;
        let deferred = match config.callbacks {
            Callbacks::Threads => None,
            Callbacks::Poll => Some(Arc::new(
                PollQueue::new()
                    .map_err(|e| Error::new(Status::Internal, format!("cannot create eventfd: {e}")))?,
            )),
        };
        let client = Client {
            deferred,
            peers: RwLock::new(PeerMap::default()),
            io: Mutex::new(io),
            closed: AtomicBool::new(false),
            next_txid: AtomicU64::new(1),
            next_thread: AtomicUsize::new(0),
            config,
        };
        for (url, settings) in client.config.peers.clone() {
            let parsed = PeerUrl::parse(&url)?;
            client.add_peer(url, parsed, settings)?;
        }
        Ok(client)
    }

    fn add_peer(&self, key: String, url: PeerUrl, settings: PeerSettings) -> Result<Arc<Peer>, Error> {
        let first = self.next_thread.fetch_add(settings.connections, Ordering::Relaxed);
        let io = self.io.lock().unwrap_or_else(|p| p.into_inner());
        let peer = Arc::new(Peer::new(url, settings, &io, first)?);
        drop(io);
        let mut peers = self.peers.write().unwrap_or_else(|p| p.into_inner());
        Ok(peers.entry(key).or_insert(peer).clone())
    }

    fn peer(&self, url: &str) -> Result<Arc<Peer>, Error> {
        if let Some(peer) = self.peers.read().unwrap_or_else(|p| p.into_inner()).get(url) {
            return Ok(peer.clone());
        }
        let parsed = PeerUrl::parse(url)?;
        self.add_peer(url.to_string(), parsed, self.config.defaults.clone())
    }

    /// Queues `body` (a JSON object) for `url`; never blocks on the network.
    ///
    /// On `Ok(txid)` `completion` will run exactly once. The txid is also written to
    /// `txid_out` before the request is queued, so a completion that runs before `send`
    /// returns still finds it there. On `Err` the completion is dropped without running.
    pub fn send(
        &self,
        url: &str,
        body: &[u8],
        completion: Completion,
        txid_out: Option<&mut u64>,
    ) -> Result<u64, Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::new(Status::Shutdown, "client is shutting down"));
        }
        check_json_object(body)?;
        let peer = self.peer(url)?;
        let max = peer.settings().max_frame_bytes;
        if body.len() > max {
            return Err(Error::invalid(format!(
                "body of {} bytes exceeds max-frame-bytes ({max})",
                body.len()
            )));
        }
        if !peer.try_reserve() {
            return Err(Error::new(
                Status::Busy,
                format!("{} requests in flight to {url} (max-in-flight)", peer.settings().max_in_flight),
            ));
        }
        if self.closed.load(Ordering::Acquire) {
            peer.unreserve();
            return Err(Error::new(Status::Shutdown, "client is shutting down"));
        }
        let txid = self.next_txid.fetch_add(1, Ordering::Relaxed);
        if let Some(out) = txid_out {
            *out = txid;
        }
        let now = Instant::now();
        let mut txn =
            Txn::new(txid, now, now + peer.settings().request_timeout, completion, peer.counters().clone());
        if let Some(queue) = &self.deferred {
            txn = txn.deferred_to(queue.clone());
        }
        peer.submit(txn, body);
        Ok(txid)
    }

    /// Poll mode: the descriptor that is readable while completions wait for
    /// [`dispatch`](Self::dispatch); `None` in threads mode.
    pub fn poll_fd(&self) -> Option<std::os::fd::RawFd> {
        self.deferred.as_ref().map(|q| q.fd())
    }

    /// Poll mode: runs up to `max` waiting completions on this thread; returns how many.
    pub fn dispatch(&self, max: usize) -> usize {
        let Some(queue) = &self.deferred else { return 0 };
        let ready = queue.take(max);
        let n = ready.len();
        for completion in ready {
            completion();
        }
        n
    }

    /// Requests accepted and not yet completed, over all peers.
    pub fn in_flight(&self) -> usize {
        let peers = self.peers.read().unwrap_or_else(|p| p.into_inner());
        peers.values().map(|p| p.counters().in_flight.load(Ordering::Acquire)).sum()
    }

    /// Statistics as a JSON object (documented in the README).
    pub fn stats_json(&self) -> String {
        let peers = self.peers.read().unwrap_or_else(|p| p.into_inner());
        let mut list: Vec<serde_json::Value> = peers.values().map(|p| p.to_json()).collect();
        list.sort_by(|a, b| a["url"].as_str().cmp(&b["url"].as_str()));
        serde_json::json!({
            "in-flight": peers.values().map(|p| p.counters().in_flight.load(Ordering::Relaxed)).sum::<usize>(),
            "peers": list,
        })
        .to_string()
    }

    /// Stops accepting sends, waits up to `drain-timeout-ms` for replies, cancels the rest
    /// and stops the IO threads. Every completion has run when this returns. Idempotent.
    pub fn shutdown(&self) {
        self.closed.store(true, Ordering::Release);
        let deadline = Instant::now() + self.config.drain_timeout;
        while self.in_flight() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        // Dropping the runtimes drops the connection tasks and with them every transaction
        // on the wire: each completes with CANCELLED on its own IO thread.
        self.io.lock().unwrap_or_else(|p| p.into_inner()).shutdown();
        // Closing cancels what never left; those completions run after the map's lock.
        let peers: Vec<Arc<Peer>> =
            self.peers.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for peer in peers {
            peer.close();
        }
        // Poll mode: what completed (or was cancelled) and was never dispatched runs now,
        // on the freeing thread — the host's own.
        if let Some(queue) = &self.deferred {
            while !queue.is_empty() {
                self.dispatch(usize::MAX);
            }
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Accepts exactly one JSON object (Kea commands are objects), in one pass without
/// building a tree (`codec::check_is_object`, the listener's check but for the command).
fn check_json_object(body: &[u8]) -> Result<(), Error> {
    match crate::codec::check_is_object(body) {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_an_object() => Err(Error::invalid("body must be a JSON object (a Kea command)")),
        Err(e) => Err(Error::invalid(format!("body is not valid JSON: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_object_check() {
        assert!(check_json_object(br#" {"command": "x"} "#).is_ok());
        for bad in [&b"[1]"[..], b"", b"{", b"{} x", b"\"s\"", b"{\"a\":}"] {
            assert_eq!(check_json_object(bad).unwrap_err().status, Status::Invalid);
        }
    }
}
