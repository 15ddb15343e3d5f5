//! The closed-loop client, driven through the C ABI.
//!
//! `window` chains each keep one request in flight: a chain's response callback (on a hamux
//! IO thread) records the latency and sends the chain's next request from inside the
//! callback. A chain is touched by one thread at a time — whoever sent its request, then
//! the IO thread running its callback — so its state needs no lock; hamux's own hand-over
//! of the request orders the accesses. Latencies go to the callback thread's own
//! histograms ([`Recorder`]), which also count them for the progress line. The only other
//! shared write is the count of chains still running, whose final decrements (Release)
//! publish everything recorded to the main thread (Acquire).

use crate::body::{Body, RunBody};
use crate::capi::{self, Client};
use crate::cpu;
use crate::histogram::Histogram;
use crate::progress::Progress;
use crate::recorder::Recorder;
use crate::subnet::{is_slow_address, Subnet};
use hamux::ffi::{hamux_client, hamux_client_send, hamux_status};
use std::cell::UnsafeCell;
use std::ffi::{c_void, CString};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One closed-loop run.
pub struct LoadSpec<'a> {
    pub label: &'a str,
    pub url: &'a str,
    pub window: usize,
    pub duration: Duration,
    pub body_size: usize,
    pub subnet: Subnet,
    /// Classify latencies of leases the listener answers late (head-of-line).
    pub split_slow: bool,
}

/// What a run measured. Latencies are in nanoseconds; `slow` only for head-of-line.
pub struct LoadResult {
    pub elapsed: Duration,
    pub cpu: Duration,
    pub fast: Histogram,
    pub slow: Histogram,
    pub errors: u64,
    pub first_error: Option<String>,
}

impl LoadResult {
    pub fn completed(&self) -> u64 {
        self.fast.count() + self.slow.count()
    }
}

/// What every chain of a run shares (read-only on the hot path, but for `running`).
struct Shared {
    client: *mut hamux_client,
    url: CString,
    body: RunBody,
    stop: AtomicBool,
    /// Chains that still have a request in flight.
    running: AtomicUsize,
    latencies: Recorder,
}

/// A chain's state, owned by whichever thread holds its in-flight request.
struct ChainState {
    rng: u64,
    leases: Leases,
    /// The lease in flight is one the head-of-line handler answers late.
    slow: bool,
    sent_at: Instant,
    completed: u64,
    errors: u64,
    first_error: Option<String>,
}

/// One window slot. Aligned so chains served by different IO threads share no cache line.
#[repr(align(128))]
struct Chain {
    shared: *const Shared,
    split_slow: bool,
    state: UnsafeCell<ChainState>,
}

/// The next number of a chain's xorshift64 generator (cheap, and good enough to spread
/// leases).
pub fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// A distinct, non-zero xorshift seed for chain `i`.
pub fn chain_seed(i: usize) -> u64 {
    (0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d)) | 1
}

/// How every successful Kea answer starts: what the client checks in a reply.
pub const REPLY_OK_PREFIX: &[u8] = b"[ { \"result\": 0,";

/// A reply as a `hamux_response_cb` is given it, judged the one way every closed loop
/// judges it.
pub struct Reply<'a> {
    status: hamux_status,
    body: &'a [u8],
}

impl Reply<'_> {
    /// # Safety
    /// `body` is NULL or points to `len` bytes that stay readable while the reply lives
    /// (the callback's duration).
    pub unsafe fn new<'a>(status: hamux_status, body: *const u8, len: usize) -> Reply<'a> {
        let body = if body.is_null() { &[][..] } else { std::slice::from_raw_parts(body, len) };
        Reply { status, body }
    }

    /// Delivered, and Kea's answer with result 0.
    pub fn acked(&self) -> bool {
        self.status == hamux_status::Ok && self.body.starts_with(REPLY_OK_PREFIX)
    }

    /// The status and the answer's first 300 bytes, for an error message.
    pub fn describe(&self) -> String {
        let shown = &self.body[..self.body.len().min(300)];
        format!("{}: {}", capi::status_name(self.status), String::from_utf8_lossy(shown))
    }
}

impl Chain {
    /// Sends the chain's next request. On `false` nothing is in flight any more.
    ///
    /// # Safety
    /// The caller holds the chain (no request of it in flight) and `shared` is alive.
    unsafe fn send_next(&self) -> bool {
        let shared = &*self.shared;
        let st = &mut *self.state.get();
        let n = st.leases.pick(xorshift(&mut st.rng));
        let user_data = self as *const Chain as *mut c_void;
        let status = shared.body.with_lease(n, |ip, body| {
            st.slow = self.split_slow && is_slow_address(ip);
            st.sent_at = Instant::now();
            // From here on the callback may run on another thread before send returns:
            // `st` is not touched again unless the send failed.
            hamux_client_send(
                shared.client,
                shared.url.as_ptr(),
                body.as_ptr(),
                body.len(),
                Some(on_reply),
                user_data,
                std::ptr::null_mut(),
            )
        });
        if status == hamux_status::Ok {
            return true;
        }
        st.record_error(|| {
            format!("hamux_client_send: {}: {}", capi::status_name(status), capi::last_error())
        });
        false
    }
}

/// The leases one chain picks from. When the pool has a lease for every chain, chains own
/// disjoint leases, so no lease is ever updated by two requests at once (Kea refuses that
/// with "ResourceBusy"): chain `c` of `C` owns the blocks `c`, `c + C`, `c + 2C`, ... of
/// `unit` consecutive leases. Blocks of 100 when the pool allows keep the head-of-line
/// share (leases `n` with `n % 100 == 0`) at 1% in every chain. A pool smaller than the
/// window is shared by all chains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leases {
    first: u32,
    stride: u32,
    /// Blocks owned.
    count: u32,
    unit: u32,
}

impl Leases {
    /// Chain `chain`'s share of `chains` over `pool` leases (at most `u32::MAX`: a
    /// subnet's pool is at most [`POOL`](crate::subnet::POOL)). Four `u32`s: with 32,768
    /// chains in flight (64 peers) each chain's state is one cold cache line when its
    /// reply comes, not two.
    pub fn of_chain(chain: u64, chains: u64, pool: u64) -> Leases {
        let pool = pool.min(u32::MAX as u64) as u32;
        let (chain, chains) = (chain as u32, chains.min(u32::MAX as u64) as u32);
        let unit = if pool / 100 >= chains { 100 } else { 1 };
        let blocks = pool / unit;
        if chains <= blocks {
            Leases { first: chain, stride: chains, count: (blocks - chain).div_ceil(chains), unit }
        } else {
            Leases { first: 0, stride: 1, count: pool, unit: 1 }
        }
    }

    /// How many leases the chain owns: `pick(i)` for `i` in `0..owned()` names each of
    /// them once, in order.
    pub fn owned(&self) -> u64 {
        self.count as u64 * self.unit as u64
    }

    pub fn pick(&self, random: u64) -> u64 {
        let (first, stride, unit) = (self.first as u64, self.stride as u64, self.unit as u64);
        let x = random % self.owned();
        (first + x / unit * stride) * unit + x % unit
    }
}

impl ChainState {
    fn record_error(&mut self, describe: impl FnOnce() -> String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(describe());
        }
    }
}

/// The `hamux_response_cb` of every benchmark request.
unsafe extern "C" fn on_reply(
    user_data: *mut c_void,
    _txid: u64,
    status: hamux_status,
    body: *const u8,
    len: usize,
) {
    let now = Instant::now();
    // SAFETY: user_data is a chain of a live run, and this callback holds it now.
    let chain = &*(user_data as *const Chain);
    let shared = &*chain.shared;
    let st = &mut *chain.state.get();
    let reply = Reply::new(status, body, len);
    if reply.acked() {
        let latency = now.saturating_duration_since(st.sent_at).as_nanos() as u64;
        let slow = st.slow;
        shared.latencies.with(|l| {
            if slow {
                l.slow.record(latency);
            } else {
                l.fast.record(latency);
            }
            l.last = Some(now);
        });
        st.completed += 1;
    } else {
        st.record_error(|| reply.describe());
        shared.latencies.with(|l| l.last = Some(now));
    }
    if shared.stop.load(Ordering::Relaxed) || !chain.send_next() {
        shared.running.fetch_sub(1, Ordering::Release);
    }
}

/// The part of a run every closed-loop load shares: start the chains, report progress
/// for `duration`, stop them and wait for the requests still in flight.
pub struct Drive<'a> {
    pub label: &'a str,
    pub duration: Duration,
    /// What a chain sends, for the abort message ("requests", "updates").
    pub what: &'a str,
}

impl Drive<'_> {
    /// Starts every chain (`start` false: it could not start, and counts as ended),
    /// runs until `duration` is over or no chain runs, then sets `stop` and waits, 30 s
    /// at most, until none runs (each decrements `running` when it ends; past 30 s the
    /// process aborts, as the callbacks still reference the chains). Returns when the
    /// run started and the CPU it used.
    pub fn run<C>(
        &self,
        chains: &[C],
        running: &AtomicUsize,
        stop: &AtomicBool,
        start: impl Fn(&C) -> bool,
        completed: impl Fn() -> u64,
    ) -> (Instant, Duration) {
        let mut progress = Progress::new(self.label, self.duration);
        let cpu_start = cpu::used();
        let began = Instant::now();
        for chain in chains {
            running.fetch_add(1, Ordering::AcqRel);
            if !start(chain) {
                running.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let deadline = began + self.duration;
        loop {
            let now = Instant::now();
            if now >= deadline || running.load(Ordering::Acquire) == 0 {
                break;
            }
            progress.update(now - began, completed());
            std::thread::sleep((deadline - now).min(Duration::from_millis(100)));
        }
        stop.store(true, Ordering::Relaxed);
        // Wait for what is still in flight (bounded by hamux's request timeout).
        let give_up = Instant::now() + Duration::from_secs(30);
        while running.load(Ordering::Acquire) > 0 {
            if Instant::now() > give_up {
                eprintln!(
                    "hamux: {} {} never completed; aborting",
                    running.load(Ordering::Acquire),
                    self.what
                );
                std::process::abort();
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        let cpu = cpu::used().saturating_sub(cpu_start);
        progress.finish(began.elapsed(), completed());
        (began, cpu)
    }
}

/// Runs `spec` on `client` and returns what it measured.
pub fn run(client: &Client, spec: &LoadSpec<'_>) -> Result<LoadResult, String> {
    let url = CString::new(spec.url).map_err(|_| "URL contains NUL".to_string())?;
    let template = Body::new(spec.body_size, &spec.subnet)?;
    let pool = template.pool();
    let shared = Shared {
        client: client.raw(),
        url,
        body: RunBody::new(template),
        stop: AtomicBool::new(false),
        running: AtomicUsize::new(0),
        latencies: Recorder::new(),
    };
    let start = Instant::now();
    let chains: Vec<Chain> = (0..spec.window)
        .map(|i| Chain {
            shared: &shared,
            split_slow: spec.split_slow,
            state: UnsafeCell::new(ChainState {
                rng: chain_seed(i),
                leases: Leases::of_chain(i as u64, spec.window as u64, pool),
                slow: false,
                sent_at: start,
                completed: 0,
                errors: 0,
                first_error: None,
            }),
        })
        .collect();

    let drive = Drive { label: spec.label, duration: spec.duration, what: "requests" };
    // SAFETY: each chain is idle when started; `shared` and `chains` outlive the run
    // (`drive` waits until none runs).
    let (start, cpu) = drive.run(
        &chains,
        &shared.running,
        &shared.stop,
        |c| unsafe { c.send_next() },
        || shared.latencies.recorded(),
    );

    // SAFETY: no chain runs any more, and each callback's recording happened-before its
    // chain's final Release decrement of `running`, which the Acquire load above saw.
    let latencies = unsafe { shared.latencies.collect() };
    let mut result = LoadResult {
        elapsed: latencies.elapsed_since(start),
        cpu,
        fast: latencies.fast,
        slow: latencies.slow,
        errors: 0,
        first_error: None,
    };
    for chain in chains {
        let st = chain.state.into_inner();
        result.errors += st.errors;
        result.first_error = result.first_error.or(st.first_error);
    }
    Ok(result)
}

/// Sends two requests per connection (and waits for them) so connects happen before the
/// clock starts; fails with the first error, e.g. an unreachable peer. Returns how many
/// leases it updated: the pool's last ones, each once (a peer that keeps leases has them
/// too).
pub fn warm_up(client: &Client, spec: &LoadSpec<'_>, connections: usize) -> Result<u64, String> {
    struct Pending {
        left: AtomicUsize,
        error: std::sync::Mutex<Option<String>>,
    }
    unsafe extern "C" fn done(ud: *mut c_void, _: u64, status: hamux_status, body: *const u8, len: usize) {
        let p = &*(ud as *const Pending);
        if status != hamux_status::Ok {
            let text = String::from_utf8_lossy(std::slice::from_raw_parts(body, len)).into_owned();
            let mut e = p.error.lock().unwrap_or_else(|e| e.into_inner());
            e.get_or_insert_with(|| format!("{}: {text}", capi::status_name(status)));
        }
        p.left.fetch_sub(1, Ordering::Release);
    }
    let pending = Pending { left: AtomicUsize::new(0), error: std::sync::Mutex::new(None) };
    let url = spec.url;
    let c_url = CString::new(url).map_err(|_| "URL contains NUL".to_string())?;
    let mut body = Body::new(spec.body_size, &spec.subnet)?;
    let pool = body.pool();
    let mut send_error = None;
    let mut sent = 0;
    // Distinct leases (as many as the pool has), so that no two updates of one lease are
    // in flight at once.
    for n in 0..(connections as u64 * 2).min(pool) {
        body.set_lease(pool - 1 - n);
        pending.left.fetch_add(1, Ordering::AcqRel);
        let ud = &pending as *const Pending as *mut c_void;
        let b = body.bytes();
        // SAFETY: `pending` outlives every callback: we wait for all of them below.
        let status = unsafe {
            hamux_client_send(
                client.raw(),
                c_url.as_ptr(),
                b.as_ptr(),
                b.len(),
                Some(done),
                ud,
                std::ptr::null_mut(),
            )
        };
        if status != hamux_status::Ok {
            pending.left.fetch_sub(1, Ordering::AcqRel);
            send_error =
                Some(format!("hamux_client_send: {}: {}", capi::status_name(status), capi::last_error()));
            break;
        }
        sent += 1;
    }
    // Callbacks reference `pending`: wait for every one before it goes out of scope.
    while pending.left.load(Ordering::Acquire) > 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    match send_error.or(pending.error.into_inner().unwrap_or_else(|e| e.into_inner())) {
        Some(e) => Err(format!("{url}: {e}")),
        None => Ok(sent),
    }
}

#[cfg(test)]
mod tests {
    use super::Leases;

    #[test]
    fn chains_own_disjoint_leases_when_the_pool_allows() {
        for (chains, pool) in
            [(16u64, 254u64), (512, 100_000), (3, 100_000), (1000, 100_000), (1001, 100_000)]
        {
            let mut owner = std::collections::HashMap::new();
            for chain in 0..chains {
                let leases = Leases::of_chain(chain, chains, pool);
                // Every value of `random` modulo count * unit: all the leases the chain owns.
                let owned: Vec<u64> = (0..leases.owned()).map(|r| leases.pick(r)).collect();
                for &n in &owned {
                    assert!(n < pool, "{chains} {pool}: {n}");
                    assert_eq!(*owner.entry(n).or_insert(chain), chain, "{chains} {pool}: {n} shared");
                }
                if pool / 100 >= chains {
                    let slow = owned.iter().filter(|&&n| n % 100 == 0).count();
                    assert_eq!(slow * 100, owned.len(), "{chains} {pool}: 1% slow in chain {chain}");
                }
            }
            assert!(owner.len() as u64 >= pool * 9 / 10, "{chains} {pool}: {} used", owner.len());
        }
        assert_eq!(Leases::of_chain(3, 512, 254), Leases { first: 0, stride: 1, count: 254, unit: 1 });
    }
}
