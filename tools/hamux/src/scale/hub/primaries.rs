//! The simulated primaries of `--scenario kea-hub`: hamux clients in this process, each
//! configured as the hook configures the client of a Kea primary with two DHCP threads
//! (its own IO threads, two connections to its backup), each sending only leases of its
//! own subnet, in the `lease4-update` commands the hook sends (`body.rs`: the lease's
//! fields with `expire` for `cltt`, `force-create`, `origin: ha-partner`, `service`).
//!
//! The closed loop: a fixed number of chains in all, spread evenly over the primaries;
//! each chain keeps one update in flight and sends its next from the reply's callback
//! ([`Drive`] starts, stops and waits). A chain walks its own share of [`LEASES`] leases
//! in order and wraps around, so the distinct addresses it sent are `min(sent, owned)`:
//! what the backup must then hold. Run first [`Until::EveryLeaseOnce`], then for the
//! measured time, every N gets the same work whatever its throughput: the same updates
//! in flight, renewing the same number of leases the backup already holds (had the
//! measured run created leases until it wrapped, a faster N would renew a larger share).

use crate::body::Body;
use crate::capi::{self, Client};
use crate::driver::{self, Drive, Leases, LoadSpec, Reply};
use crate::histogram::Histogram;
use crate::recorder::Recorder;
use crate::subnet::Subnet;
use hamux::ffi::{hamux_client, hamux_client_send, hamux_status};
use serde_json::json;
use std::cell::UnsafeCell;
use std::ffi::{c_void, CString};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Leases the chains own in all, whatever N and the updates in flight (1,000 each with
/// 64 in flight): every N fills the backup with as many and renews as many.
pub const LEASES: u64 = 64_000;

/// Connections to the backup: the hook's `connections-per-peer` on a Kea primary with
/// `thread-pool-size` 2 (one per DHCP thread, as libdhcp_ha's client threads).
const CONNECTIONS: usize = 2;

/// One simulated primary.
pub struct Primary {
    client: Client,
    pub subnet: Subnet,
    /// Its share of the updates in flight.
    pub chains: usize,
    /// Leases each of its chains owns (its subnet holds `chains` times as many).
    pub leases_per_chain: u64,
    /// Leases its warm-up updated (outside the chains' leases).
    pub warm_leases: u64,
}

/// Chains of primary `k` (from 0) of `primaries` sharing `in_flight` chains evenly.
pub fn share(in_flight: usize, primaries: usize, k: usize) -> usize {
    in_flight / primaries + usize::from(k < in_flight % primaries)
}

/// Starts a client for each of `subnets` with its share of `in_flight`, and warms each
/// one's connections to `url` up, so connects happen before the clock starts.
pub fn start(
    url: &str,
    subnets: &[Subnet],
    in_flight: usize,
    body_size: usize,
) -> Result<Vec<Primary>, String> {
    let config = json!({"connections-per-peer": CONNECTIONS}).to_string();
    let mut primaries = Vec::new();
    for (k, &subnet) in subnets.iter().enumerate() {
        let client = Client::new(&config)?;
        let spec = LoadSpec {
            label: "warm-up",
            url,
            window: 1,
            duration: Duration::ZERO,
            body_size,
            subnet,
            split_slow: false,
        };
        let warm_leases = driver::warm_up(&client, &spec, CONNECTIONS)?;
        let leases_per_chain = (LEASES / in_flight.max(1) as u64).max(1);
        primaries.push(Primary {
            client,
            subnet,
            chains: share(in_flight, subnets.len(), k),
            leases_per_chain,
            warm_leases,
        });
    }
    Ok(primaries)
}

/// One primary's part of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Distinct leases it sent (the warm-up's not counted).
    pub leases: u64,
    pub acked: u64,
    pub errors: u64,
}

pub struct HubResult {
    /// From the start to the last reply.
    pub elapsed: Duration,
    /// This process's CPU (the primaries') during the run.
    pub cpu: Duration,
    /// The acked updates' latency, send to callback.
    pub latency: Histogram,
    pub first_error: Option<String>,
    pub per_primary: Vec<Tally>,
}

impl HubResult {
    pub fn acked(&self) -> u64 {
        self.per_primary.iter().map(|t| t.acked).sum()
    }

    pub fn errors(&self) -> u64 {
        self.per_primary.iter().map(|t| t.errors).sum()
    }
}

/// How long the chains run.
#[derive(Clone, Copy, Debug)]
pub enum Until {
    /// Until each chain has sent each of its leases once (at most a minute).
    EveryLeaseOnce,
    /// For this long, each chain walking its leases round and round.
    Elapsed(Duration),
}

/// The longest [`Until::EveryLeaseOnce`] may take: 64,000 updates at 1,000/s.
const FILL_LIMIT: Duration = Duration::from_secs(64);

struct Shared {
    url: CString,
    /// [`Until::EveryLeaseOnce`]: a chain stops once it sent each of its leases.
    once: bool,
    stop: AtomicBool,
    running: AtomicUsize,
    latencies: Recorder,
}

/// A chain's state, owned by whichever thread holds its update in flight.
struct Walk {
    body: Body,
    leases: Leases,
    /// Updates sent so far; the next one is for lease `sent % leases.owned()`.
    sent: u64,
    sent_at: Instant,
    acked: u64,
    errors: u64,
    first_error: Option<String>,
}

impl Walk {
    fn fail(&mut self, describe: impl FnOnce() -> String) {
        self.errors += 1;
        self.first_error.get_or_insert_with(describe);
    }
}

/// One update in flight of one primary; aligned so that chains on different IO threads
/// share no cache line.
#[repr(align(128))]
struct Chain {
    shared: *const Shared,
    client: *mut hamux_client,
    primary: usize,
    walk: UnsafeCell<Walk>,
}

impl Chain {
    /// Sends the chain's next update through its primary's client; false if it could
    /// not (nothing in flight then).
    ///
    /// # Safety
    /// The caller holds the chain (nothing of it in flight) and `shared` is alive.
    unsafe fn send_next(&self) -> bool {
        let w = &mut *self.walk.get();
        w.body.set_lease(w.leases.pick(w.sent % w.leases.owned()));
        w.sent += 1;
        w.sent_at = Instant::now();
        let (ptr, len) = (w.body.bytes().as_ptr(), w.body.bytes().len());
        let user_data = self as *const Chain as *mut c_void;
        // From here on the reply's callback may hold the chain: `w` is not touched again
        // unless the send failed.
        let url = (*self.shared).url.as_ptr();
        let status =
            hamux_client_send(self.client, url, ptr, len, Some(on_reply), user_data, std::ptr::null_mut());
        if status != hamux_status::Ok {
            w.sent -= 1;
            w.fail(|| format!("hamux_client_send: {}: {}", capi::status_name(status), capi::last_error()));
        }
        status == hamux_status::Ok
    }
}

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
    let w = &mut *chain.walk.get();
    let reply = Reply::new(status, body, len);
    let acked = reply.acked();
    if acked {
        w.acked += 1;
    } else {
        w.fail(|| reply.describe());
    }
    let latency = now.saturating_duration_since(w.sent_at).as_nanos() as u64;
    shared.latencies.with(|l| {
        if acked {
            l.fast.record(latency);
        }
        l.last = Some(now);
    });
    let done = shared.once && w.sent >= w.leases.owned();
    if shared.stop.load(Ordering::Relaxed) || done || !chain.send_next() {
        shared.running.fetch_sub(1, Ordering::Release);
    }
}

/// Runs every primary's chains against `url` until `until` says.
pub fn run(
    primaries: &[Primary],
    url: &str,
    label: &str,
    until: Until,
    body_size: usize,
) -> Result<HubResult, String> {
    let (once, duration) = match until {
        Until::EveryLeaseOnce => (true, FILL_LIMIT),
        Until::Elapsed(duration) => (false, duration),
    };
    let shared = Shared {
        url: CString::new(url).map_err(|_| "URL contains NUL".to_string())?,
        once,
        stop: AtomicBool::new(false),
        running: AtomicUsize::new(0),
        latencies: Recorder::new(),
    };
    let start = Instant::now();
    let mut chains = Vec::new();
    for (p, primary) in primaries.iter().enumerate() {
        let template = Body::new(body_size, &primary.subnet)?;
        let pool = primary.chains as u64 * primary.leases_per_chain;
        for c in 0..primary.chains {
            chains.push(Chain {
                shared: &shared,
                client: primary.client.raw(),
                primary: p,
                walk: UnsafeCell::new(Walk {
                    body: template.clone(),
                    leases: Leases::of_chain(c as u64, primary.chains as u64, pool),
                    sent: 0,
                    sent_at: start,
                    acked: 0,
                    errors: 0,
                    first_error: None,
                }),
            });
        }
    }
    let drive = Drive { label, duration, what: "updates" };
    // SAFETY: each chain is idle when started; `shared`, `chains` and the clients outlive
    // the run (`drive` waits until none runs).
    let (start, cpu) = drive.run(
        &chains,
        &shared.running,
        &shared.stop,
        |c| unsafe { c.send_next() },
        || shared.latencies.recorded(),
    );
    // SAFETY: no chain runs any more; every recording happened-before the final Release
    // decrement of `running` its chain made, which the Acquire load in `drive` saw.
    let latencies = unsafe { shared.latencies.collect() };
    let mut per_primary = vec![Tally::default(); primaries.len()];
    let mut first_error = None;
    for chain in chains {
        let primary = chain.primary;
        let w = chain.walk.into_inner();
        let t = &mut per_primary[primary];
        t.leases += w.sent.min(w.leases.owned());
        t.acked += w.acked;
        t.errors += w.errors;
        first_error = first_error.or(w.first_error);
    }
    Ok(HubResult {
        elapsed: latencies.elapsed_since(start),
        cpu,
        latency: latencies.fast,
        first_error,
        per_primary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_in_flight_spread_evenly_over_the_primaries() {
        for (in_flight, n) in [(64, 1), (64, 3), (64, 4), (64, 64)] {
            let shares: Vec<usize> = (0..n).map(|k| share(in_flight, n, k)).collect();
            assert_eq!(shares.iter().sum::<usize>(), in_flight);
            assert!(shares.iter().max().unwrap() - shares.iter().min().unwrap() <= 1, "{shares:?}");
        }
        // Each chain owns its share of the leases whatever its primary's share.
        for (chains, per_chain) in [(1u64, 1000), (21, 1000), (22, 1000), (64, 1000), (2048, LEASES / 2048)] {
            for c in 0..chains {
                assert_eq!(Leases::of_chain(c, chains, chains * per_chain).owned(), per_chain);
            }
        }
    }
}
