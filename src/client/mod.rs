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
mod peer_cache;
mod reply_lookahead;
mod stats;
mod supervisor;
mod target;
mod tick;
mod transaction;
mod txids;
mod txn_table;

pub use config::{ClientConfig, PeerSettings};
pub use transaction::{Callback, Completion, RawCallback, Reply};

use crate::io::{IoThreads, PollQueue};
use crate::{Callbacks, Error, PeerUrl, Status};
use peer::Peer;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use transaction::{Deferred, Txn};

fn url_hash(url: &str) -> u64 {
    let mut hasher = UrlHasher::default();
    hasher.write(url.as_bytes());
    hasher.finish()
}

/// Peers by URL, looked up on a thread's first send to each (then [`peer_cache`]).
type PeerMap = HashMap<String, Arc<Peer>, BuildHasherDefault<UrlHasher>>;

/// A URL is short and chosen by the host itself (no flooding attacker picks the keys), so
/// SipHash's cost buys nothing: eight bytes at a time, multiplied, then mixed.
#[derive(Default)]
struct UrlHasher(u64);

impl Hasher for UrlHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut h = self.0 ^ (bytes.len() as u64).wrapping_mul(K);
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
            h = (h ^ w).wrapping_mul(K).rotate_left(29);
        }
        let mut last = [0u8; 8];
        last[..words.remainder().len()].copy_from_slice(words.remainder());
        h ^= u64::from_le_bytes(last);
        // MurmurHash3's finalizer: every input bit reaches the low bits (the cache's way).
        h = (h ^ (h >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h = (h ^ (h >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        self.0 = h ^ (h >> 33);
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
    /// Unique in the process, across reloads of the library ([`new_client_id`]): what the
    /// threads' caches of peers and txids are keyed by.
    id: u64,
}

/// A new client id: unique in the process, also across an unload and a reload of this
/// library (Kea dlcloses and dlopens its hooks on every reconfiguration). Threads' caches
/// of peers and txids are keyed by it; were the statics to start again while a thread's
/// storage kept the entries of the clients before (what dlclose does with either is the
/// platform's business), a counter from 1 would give a new client an old one's id. So an
/// id is the monotonic clock in nanoseconds when the client is made, at least one above
/// the last one this copy of the library gave; never 0 (an empty cache entry).
fn new_client_id() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    let nanos = (now.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(now.tv_nsec as u64);
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let id = nanos.max(last + 1);
        match LAST.compare_exchange_weak(last, id, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return id,
            Err(seen) => last = seen,
        }
    }
}

impl Client {
    /// Parses `config_json` (see [`ClientConfig`]) and starts the IO threads.
    pub fn new(config_json: &str) -> Result<Client, Error> {
        Client::with_config(ClientConfig::parse(config_json)?)
    }

    pub fn with_config(config: ClientConfig) -> Result<Client, Error> {
        tick::Tick::start();
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
            id: new_client_id(),
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
        let peer = Arc::new(Peer::new(&key, url, settings, &io, first)?);
        drop(io);
        let mut peers = self.peers.write().unwrap_or_else(|p| p.into_inner());
        Ok(peers.entry(key).or_insert(peer).clone())
    }

    /// The peer for `url`, created with the default settings on first use. Found in the
    /// thread's [`peer_cache`] but for the first send of a thread to a peer.
    fn peer(&self, url: &str) -> Result<&Peer, Error> {
        let hash = url_hash(url);
        // SAFETY: this client remembers only peers of its map, which holds each (an Arc,
        // never removed) until the client is dropped; `&self` outlives the reference.
        if let Some(peer) = unsafe { peer_cache::find(self.id, hash, url) } {
            return Ok(peer);
        }
        let existing = self.peers.read().unwrap_or_else(|p| p.into_inner()).get(url).cloned();
        let peer = match existing {
            Some(peer) => peer,
            None => self.add_peer(url.to_string(), PeerUrl::parse(url)?, self.config.defaults.clone())?,
        };
        peer_cache::remember(self.id, hash, &peer);
        // SAFETY: as above: the map keeps this Arc's peer alive as long as `self`.
        Ok(unsafe { &*Arc::as_ptr(&peer) })
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
        completion: impl Into<Callback>,
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
        let txid = txids::next(self.id, &self.next_txid);
        if let Some(out) = txid_out {
            *out = txid;
        }
        let now = multiplexed::reply_read_at().unwrap_or_else(Instant::now);
        let mut txn =
            Txn::new(txid, now, peer.settings().request_timeout, completion, peer.counters().clone());
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
    fn a_thread_finds_each_clients_own_peer_again() {
        let (a, b) = (Client::new("{}").unwrap(), Client::new("{}").unwrap());
        let url = "hamux://127.0.0.1:9";
        let first = a.peer(url).unwrap() as *const Peer;
        assert_eq!(a.peer(url).unwrap() as *const Peer, first, "a second lookup found another peer");
        let of_b = b.peer(url).unwrap() as *const Peer;
        assert_ne!(of_b, first, "client b got client a's peer");
        assert_eq!(a.peer(url).unwrap() as *const Peer, first);
        assert_eq!(b.peer(url).unwrap() as *const Peer, of_b);
        // Another URL, and the map's own answer on another thread.
        let other = a.peer("hamux://127.0.0.1:10").unwrap();
        assert_eq!(other.key(), "hamux://127.0.0.1:10");
        let from_map =
            std::thread::scope(|s| s.spawn(|| a.peer(url).unwrap() as *const Peer as usize).join());
        assert_eq!(from_map.unwrap(), first as usize);
    }

    #[test]
    fn a_thread_keeps_a_hubs_64_peers_in_its_cache() {
        let client = Client::new("{}").unwrap();
        let urls: Vec<String> = (0..64).map(|i| format!("hamux://10.0.{i}.1:8001")).collect();
        // A fresh thread: its cache holds only what this test puts there.
        let missed: Vec<String> = std::thread::scope(|s| {
            s.spawn(|| {
                for url in &urls {
                    client.peer(url).unwrap();
                }
                urls.iter()
                    // SAFETY: the peers are the client's, alive while it is.
                    .filter(|url| unsafe { peer_cache::find(client.id, url_hash(url), url) }.is_none())
                    .cloned()
                    .collect()
            })
            .join()
            .unwrap()
        });
        assert!(missed.is_empty(), "not in the cache after one send each: {missed:?}");
    }

    #[test]
    fn client_ids_start_from_the_clock_so_a_reloaded_library_gives_no_old_one() {
        let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: as in new_client_id.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
        let before = now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64;
        let ids: Vec<u64> = (0..1000).map(|_| new_client_id()).collect();
        assert!(ids[0] >= before, "id {} is below the clock ({before}): a counter from 1 again?", ids[0]);
        assert!(ids.windows(2).all(|w| w[1] > w[0]), "ids not strictly increasing");
    }

    #[test]
    fn urls_that_differ_in_the_port_spread_over_the_cache() {
        let ways: std::collections::HashSet<u64> = (40000..40064)
            .map(|port| {
                let mut h = UrlHasher::default();
                h.write(format!("hamux://127.0.0.1:{port}").as_bytes());
                h.finish() % 64
            })
            .collect();
        assert!(ways.len() >= 32, "64 URLs took only {} of 64 ways", ways.len());
    }

    #[test]
    fn json_object_check() {
        assert!(check_json_object(br#" {"command": "x"} "#).is_ok());
        for bad in [&b"[1]"[..], b"", b"{", b"{} x", b"\"s\"", b"{\"a\":}"] {
            assert_eq!(check_json_object(bad).unwrap_err().status, Status::Invalid);
        }
    }
}
