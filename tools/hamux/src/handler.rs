//! The listener side: a C request callback that parses each `lease4-update`, stores the
//! lease in a sharded in-memory map and answers like Kea. In head-of-line mode 1% of the
//! requests are answered 50 ms later from a delay thread.

use crate::capi;
use crate::lease::{self, LeaseUpdate};
use crate::subnet::is_slow_address;
use hamux::ffi::{hamux_request, hamux_request_respond, hamux_status};
use std::collections::{HashMap, VecDeque};
use std::ffi::c_void;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How late the head-of-line handler answers its slow requests.
pub const SLOW_DELAY: Duration = Duration::from_millis(50);

const UPDATED: &[u8] = b"[ { \"result\": 0, \"text\": \"IPv4 lease updated.\" } ]";
const ADDED: &[u8] = b"[ { \"result\": 0, \"text\": \"IPv4 lease added.\" } ]";

/// Listener settings the binary exposes.
pub struct ListenerSettings {
    pub address: String,
    pub port: u16,
    pub io_threads: usize,
    pub handler_threads: usize,
    pub max_pending: usize,
    /// TLS keys (`cert-file`, `key-file`, `trust-anchor`) to add to the configuration.
    pub tls: Option<serde_json::Value>,
}

/// A hamux listener whose requests go to a [`Handler`].
pub struct LeaseListener {
    // Declared first so it is dropped first: no callback runs once the handler goes.
    listener: capi::Listener,
    handler: Box<Handler>,
}

impl LeaseListener {
    pub fn start(s: &ListenerSettings) -> Result<LeaseListener, String> {
        let handler = Box::new(Handler::new()?);
        let mut config = serde_json::json!({
            "address": s.address,
            "port": s.port,
            "io-threads": s.io_threads,
            "handler-threads": s.handler_threads,
            "max-pending": s.max_pending,
            // One client drives the benchmark: its connections may share the whole limit.
            "max-pending-per-connection": s.max_pending,
        });
        if let (Some(tls), Some(config)) = (&s.tls, config.as_object_mut()) {
            config.extend(tls.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
        }
        let user_data = &*handler as *const Handler as *mut c_void;
        // SAFETY: the handler is boxed (stable address) and outlives the listener (field
        // order); on_request answers every request it gets.
        let listener = unsafe { capi::Listener::new(&config.to_string(), Some(on_request), user_data)? };
        Ok(LeaseListener { listener, handler })
    }

    pub fn port(&self) -> u16 {
        self.listener.port()
    }

    pub fn listener(&self) -> &capi::Listener {
        &self.listener
    }

    pub fn handler(&self) -> &Handler {
        &self.handler
    }
}

/// State shared by the handler threads.
pub struct Handler {
    store: LeaseStore,
    slow_mode: AtomicBool,
    delay: DelayLine,
    /// Answers `hamux_request_respond` refused (the peer's connection was gone).
    pub respond_failures: AtomicU64,
    /// Commands that were not valid `lease4-update`s (answered with result 1).
    pub bad_commands: AtomicU64,
}

impl Handler {
    fn new() -> Result<Handler, String> {
        Ok(Handler {
            store: LeaseStore::new(),
            slow_mode: AtomicBool::new(false),
            delay: DelayLine::start()?,
            respond_failures: AtomicU64::new(0),
            bad_commands: AtomicU64::new(0),
        })
    }

    /// Head-of-line mode: leases whose address ends in `.100` (1% in a /8) are answered late.
    pub fn set_slow_mode(&self, on: bool) {
        self.slow_mode.store(on, Relaxed);
    }

    pub fn leases(&self) -> usize {
        self.store.len()
    }

    fn respond(&self, request: *mut hamux_request, answer: &[u8]) {
        // SAFETY: `request` is a handle hamux gave us, answered exactly once here.
        let status = unsafe { hamux_request_respond(request, answer.as_ptr(), answer.len()) };
        if status != hamux_status::Ok {
            self.respond_failures.fetch_add(1, Relaxed);
        }
    }
}

/// The `hamux_request_cb`: runs on hamux handler threads, several at a time.
unsafe extern "C" fn on_request(
    user_data: *mut c_void,
    request: *mut hamux_request,
    body: *const u8,
    len: usize,
) {
    // SAFETY: user_data is the Handler that outlives the listener; body is valid for the call.
    let handler = &*(user_data as *const Handler);
    let body = if body.is_null() { &[][..] } else { std::slice::from_raw_parts(body, len) };
    match lease::parse(body) {
        Ok(lease) => {
            let slow = handler.slow_mode.load(Relaxed) && is_slow_address(lease.ip);
            let answer = if handler.store.upsert(&lease) { ADDED } else { UPDATED };
            if slow {
                handler.delay.hold(request, answer);
            } else {
                handler.respond(request, answer);
            }
        }
        Err(text) => {
            handler.bad_commands.fetch_add(1, Relaxed);
            let answer = serde_json::json!([{ "result": 1, "text": text }]).to_string();
            handler.respond(request, answer.as_bytes());
        }
    }
}

/// A stored lease (what Kea's memfile keeps, roughly).
#[allow(dead_code)] // stored for realism; only counted
struct Lease {
    hw: [u8; 6],
    client_id: String,
    subnet_id: u32,
    valid_lft: u32,
    expire: i64,
    hostname: String,
    fqdn_fwd: bool,
    fqdn_rev: bool,
    state: u32,
}

/// Multiplicative hashing of IPv4 addresses (a u32 key needs no SipHash).
#[derive(Default)]
struct IpHasher(u64);

impl Hasher for IpHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u32(b as u32 ^ (self.0 as u32).rotate_left(8));
        }
    }
    fn write_u32(&mut self, n: u32) {
        let h = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 29);
    }
}

const SHARDS: usize = 64;

#[repr(align(64))]
struct Shard(Mutex<HashMap<u32, Lease, BuildHasherDefault<IpHasher>>>);

/// Leases by address, in 64 independently locked shards.
struct LeaseStore {
    shards: Box<[Shard]>,
}

impl LeaseStore {
    fn new() -> LeaseStore {
        let per_shard = (crate::subnet::POOL as usize).div_ceil(SHARDS);
        let shards = (0..SHARDS)
            .map(|_| Shard(Mutex::new(HashMap::with_capacity_and_hasher(per_shard, Default::default()))))
            .collect();
        LeaseStore { shards }
    }

    fn shard(&self, ip: u32) -> &Shard {
        &self.shards[(ip.wrapping_mul(0x9e37_79b9) >> 26) as usize % SHARDS]
    }

    /// Inserts or updates; true when the lease is new. An update reuses the strings.
    fn upsert(&self, u: &LeaseUpdate<'_>) -> bool {
        let mut map = self.shard(u.ip).0.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(&u.ip) {
            Some(l) => {
                l.hw = u.hw;
                l.client_id.clear();
                l.client_id.push_str(&u.client_id);
                l.hostname.clear();
                l.hostname.push_str(&u.hostname);
                (l.subnet_id, l.valid_lft, l.expire) = (u.subnet_id, u.valid_lft, u.expire);
                (l.fqdn_fwd, l.fqdn_rev, l.state) = (u.fqdn_fwd, u.fqdn_rev, u.state);
                false
            }
            None => {
                let lease = Lease {
                    hw: u.hw,
                    client_id: u.client_id.to_string(),
                    subnet_id: u.subnet_id,
                    valid_lft: u.valid_lft,
                    expire: u.expire,
                    hostname: u.hostname.to_string(),
                    fqdn_fwd: u.fqdn_fwd,
                    fqdn_rev: u.fqdn_rev,
                    state: u.state,
                };
                map.insert(u.ip, lease);
                true
            }
        }
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.0.lock().unwrap_or_else(|p| p.into_inner()).len()).sum()
    }
}

/// A request held for a late answer.
struct Held {
    due: Instant,
    request: *mut hamux_request,
    answer: &'static [u8],
}

// SAFETY: a hamux_request may be answered from any thread (hamux.h).
unsafe impl Send for Held {}

/// A thread answering held requests when they are due. All delays are equal, so requests
/// fall due in the order they arrive and a FIFO is enough.
struct DelayLine {
    tx: Option<Sender<Held>>,
    thread: Option<JoinHandle<()>>,
}

impl DelayLine {
    fn start() -> Result<DelayLine, String> {
        let (tx, rx) = mpsc::channel::<Held>();
        let thread = std::thread::Builder::new()
            .name("bench-delay".into())
            .spawn(move || {
                let mut queue: VecDeque<Held> = VecDeque::new();
                let answer = |h: Held| {
                    // SAFETY: each held request is answered exactly once, here.
                    unsafe { hamux_request_respond(h.request, h.answer.as_ptr(), h.answer.len()) };
                };
                loop {
                    let next = match queue.front() {
                        None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                        Some(h) => rx.recv_timeout(h.due.saturating_duration_since(Instant::now())),
                    };
                    match next {
                        Ok(held) => queue.push_back(held),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                    let now = Instant::now();
                    while queue.front().is_some_and(|h| h.due <= now) {
                        answer(queue.pop_front().expect("front exists"));
                    }
                }
                // Shutting down: answer what is left at once rather than leave it hanging.
                queue.into_iter().for_each(answer);
            })
            .map_err(|e| format!("cannot start the delay thread: {e}"))?;
        Ok(DelayLine { tx: Some(tx), thread: Some(thread) })
    }

    fn hold(&self, request: *mut hamux_request, answer: &'static [u8]) {
        let held = Held { due: Instant::now() + SLOW_DELAY, request, answer };
        if let Err(mpsc::SendError(held)) = self.tx.as_ref().expect("open until drop").send(held) {
            // SAFETY: the delay thread is gone (cannot happen before drop): answer now.
            unsafe { hamux_request_respond(held.request, held.answer.as_ptr(), held.answer.len()) };
        }
    }
}

impl Drop for DelayLine {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
