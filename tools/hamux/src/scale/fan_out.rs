//! The closed loop over many peers: each chain keeps one update in flight, sent to
//! `fan_out` of the `urls` — the peer its lease picks and the ones after it — and sends
//! its next update once every copy is answered (as Kea's HA sends every lease update to
//! every backup, and parks the query until all of them acknowledge). With `fan_out` 1
//! each update goes to the one peer its lease picks.
//!
//! A chain's copies complete on any IO thread, concurrently: each counts itself off in
//! `left`, and the one that brings it to zero holds the chain (its state, the next send).
//! The sends of one round happen after the state was written, and the last completer
//! cannot run before the last send was made, so the state has one owner at a time.
//!
//! The body is written in a buffer of the sending thread's ([`RunBody`]), not of the
//! chain's.

use crate::body::{Body, RunBody};
use crate::capi::{self, Client};
use crate::driver::{chain_seed, xorshift, Drive, Leases, Reply};
use crate::histogram::Histogram;
use crate::recorder::Recorder;
use crate::subnet::Subnet;
use hamux::ffi::{hamux_client, hamux_client_send, hamux_status};
use std::cell::UnsafeCell;
use std::ffi::{c_void, CString};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct FanOutSpec<'a> {
    pub label: &'a str,
    pub urls: &'a [String],
    /// Peers every update goes to (1..=urls.len()).
    pub fan_out: usize,
    /// Chains (updates in flight); each peer then has `chains * fan_out / urls` in flight.
    pub chains: usize,
    pub duration: Duration,
    pub body_size: usize,
    pub subnet: Subnet,
}

pub struct FanOutResult {
    pub elapsed: Duration,
    /// This (the client's) process's CPU during the run.
    pub cpu: Duration,
    /// Copies answered with Kea's success.
    pub delivered: u64,
    /// Updates whose every copy was answered; their latency is the slowest copy's.
    pub updates: Histogram,
    pub errors: u64,
    pub first_error: Option<String>,
}

struct Shared {
    client: *mut hamux_client,
    body: RunBody,
    urls: Vec<CString>,
    fan_out: usize,
    stop: AtomicBool,
    running: AtomicUsize,
    latencies: Recorder,
    delivered: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Shared {
    fn record_error(&self, describe: impl FnOnce() -> String) {
        if self.errors.fetch_add(1, Ordering::Relaxed) == 0 {
            *self.first_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(describe());
        }
    }
}

struct ChainState {
    rng: u64,
    leases: Leases,
    sent_at: Instant,
}

/// One cache line: at 64 peers the 32,768 chains are cold when their replies come, and
/// what the bench's own state costs then should be one miss per update, not two.
#[repr(align(64))]
struct Chain {
    shared: *const Shared,
    state: UnsafeCell<ChainState>,
    /// Copies of the update in flight not yet answered (at most the peers).
    left: AtomicU32,
    /// A send of this round failed: the chain ends when its other copies are answered.
    ended: AtomicBool,
}

const _: () = assert!(std::mem::size_of::<Chain>() == 64);

/// Which peer lease `n` goes to first (a fixed mix, so leases spread evenly).
fn first_peer(n: u64, peers: usize) -> usize {
    (n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize % peers
}

impl Chain {
    /// Sends the next update to its peers; false if the chain ended (nothing in flight).
    ///
    /// # Safety
    /// The caller holds the chain (nothing of it in flight) and `shared` is alive.
    unsafe fn send_next(&self) -> bool {
        let shared = &*self.shared;
        let st = &mut *self.state.get();
        let n = st.leases.pick(xorshift(&mut st.rng));
        st.sent_at = Instant::now();
        shared.body.with_lease(n, |_, bytes| self.send_copies(shared, n, bytes))
    }

    /// Sends `bytes` to the chain's peers for lease `n`; false if the chain ended.
    ///
    /// # Safety
    /// As [`Chain::send_next`].
    unsafe fn send_copies(&self, shared: &Shared, n: u64, bytes: &[u8]) -> bool {
        let (ptr, len) = (bytes.as_ptr(), bytes.len());
        let (k, peers) = (shared.fan_out, shared.urls.len());
        let first = first_peer(n, peers);
        self.left.store(k as u32, Ordering::Release);
        let user_data = self as *const Chain as *mut c_void;
        for j in 0..k {
            // From the last successful send on, another thread may hold the chain: its
            // state is not touched again (the body was copied by hamux_client_send).
            let url = &shared.urls[(first + j) % peers];
            let status = hamux_client_send(
                shared.client,
                url.as_ptr(),
                ptr,
                len,
                Some(on_reply),
                user_data,
                std::ptr::null_mut(),
            );
            if status != hamux_status::Ok {
                shared.record_error(|| {
                    format!("hamux_client_send: {}: {}", capi::status_name(status), capi::last_error())
                });
                self.ended.store(true, Ordering::Relaxed);
                // The copies never sent are counted off here; if none is in flight, the
                // chain is ours again and ends now.
                return self.left.fetch_sub((k - j) as u32, Ordering::AcqRel) != (k - j) as u32;
            }
        }
        true
    }
}

unsafe extern "C" fn on_reply(
    user_data: *mut c_void,
    _: u64,
    status: hamux_status,
    body: *const u8,
    len: usize,
) {
    let now = Instant::now();
    // SAFETY: user_data is a chain of a live run.
    let chain = &*(user_data as *const Chain);
    let shared = &*chain.shared;
    let reply = Reply::new(status, body, len);
    if reply.acked() {
        shared.delivered.fetch_add(1, Ordering::Relaxed);
    } else {
        shared.record_error(|| reply.describe());
    }
    if chain.left.fetch_sub(1, Ordering::AcqRel) != 1 {
        return;
    }
    // The last copy: this thread holds the chain now.
    let st = &*chain.state.get();
    let latency = now.saturating_duration_since(st.sent_at).as_nanos() as u64;
    shared.latencies.with(|l| {
        l.fast.record(latency);
        l.last = Some(now);
    });
    if shared.stop.load(Ordering::Relaxed) || chain.ended.load(Ordering::Relaxed) || !chain.send_next() {
        shared.running.fetch_sub(1, Ordering::Release);
    }
}

/// Runs `spec` on `client`.
pub fn run(client: &Client, spec: &FanOutSpec<'_>) -> Result<FanOutResult, String> {
    let urls = spec
        .urls
        .iter()
        .map(|u| CString::new(u.as_str()).map_err(|_| "URL contains NUL".to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let template = Body::new(spec.body_size, &spec.subnet)?;
    let pool = template.pool();
    let shared = Shared {
        client: client.raw(),
        body: RunBody::new(template),
        urls,
        fan_out: spec.fan_out.clamp(1, spec.urls.len()),
        stop: AtomicBool::new(false),
        running: AtomicUsize::new(0),
        latencies: Recorder::new(),
        delivered: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        first_error: Mutex::new(None),
    };
    let start = Instant::now();
    let chains: Vec<Chain> = (0..spec.chains)
        .map(|i| Chain {
            shared: &shared,
            state: UnsafeCell::new(ChainState {
                rng: chain_seed(i),
                leases: Leases::of_chain(i as u64, spec.chains as u64, pool),
                sent_at: start,
            }),
            left: AtomicU32::new(0),
            ended: AtomicBool::new(false),
        })
        .collect();
    let drive = Drive { label: spec.label, duration: spec.duration, what: "updates" };
    // SAFETY: each chain is idle when started; `shared` and `chains` outlive the run
    // (`drive` waits until none runs).
    let (start, cpu) = drive.run(
        &chains,
        &shared.running,
        &shared.stop,
        |c| unsafe { c.send_next() },
        || shared.latencies.recorded(),
    );
    // SAFETY: no chain runs any more; every recording happened-before the final Release
    // decrement of `running` its chain made, which the Acquire load above saw.
    let latencies = unsafe { shared.latencies.collect() };
    Ok(FanOutResult {
        elapsed: latencies.elapsed_since(start),
        cpu,
        delivered: shared.delivered.load(Ordering::Relaxed),
        updates: latencies.fast,
        errors: shared.errors.load(Ordering::Relaxed),
        first_error: shared.first_error.into_inner().unwrap_or_else(|p| p.into_inner()),
    })
}

#[cfg(test)]
mod tests {
    use super::first_peer;

    #[test]
    fn leases_spread_evenly_over_the_peers() {
        for peers in [1usize, 4, 16, 64] {
            let mut count = vec![0u32; peers];
            for n in 0..100_000u64 {
                count[first_peer(n, peers)] += 1;
            }
            let (min, max) = (*count.iter().min().unwrap(), *count.iter().max().unwrap());
            assert!(max as f64 <= min as f64 * 1.1, "{peers} peers: {min}..{max}");
        }
    }
}
