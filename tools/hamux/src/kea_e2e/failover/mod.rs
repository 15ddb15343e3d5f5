//! The failover part of `hamux bench --scenario kea-e2e`: an HA pair of kea-dhcp4 with
//! Kea's `libdhcp_ha` beside the same pair with the hook over `hamux://`, with the same
//! timers ([`pair::timers`]), in hot-standby and in load-balancing:
//!
//! - leases/s: ACK latency at a fixed rate, then the saturation search, both with the
//!   bench's DORA client relaying every message to both servers, as a relay with two
//!   helper addresses does (perfdhcp sends to one server only, and load-balancing
//!   needs both);
//! - failover time (hot-standby): from SIGKILL of the primary to the standby's first ACK;
//! - lease sync: the time a fresh primary takes to sync [`SYNC_LEASES`] leases from its
//!   partner and serve in hot-standby.

mod leases;
mod pair;
pub mod report;
mod takeover;

use super::dora::{self, DoraResult, DoraSpec};
use super::perfdhcp::{self, Saturation, Step};
use super::servers::Replicator;
use super::{dhcp, LATENCY_RATE, WARMUP};
use pair::{Mode, Pair};
use serde_json::json;
use std::ops::RangeFrom;
use std::path::Path;
use std::time::{Duration, Instant};

/// Leases the sync run's partner holds.
pub const SYNC_LEASES: u32 = 100_000;
/// Failovers timed per library. How long a failover takes depends on when in the
/// heartbeat's period the primary dies (`max-response-delay` runs from the last answered
/// heartbeat), so the kills are spread over one `heartbeat-delay`: the k-th comes
/// [`FAILOVER_SETTLE`] + k/n of a `heartbeat-delay` after both serve in hot-standby.
pub const FAILOVER_SAMPLES: usize = 5;
const FAILOVER_SETTLE: Duration = Duration::from_secs(2);
/// The answers of a saturation step counted after its last DISCOVER (perfdhcp's `-W`).
const STEP_DRAIN: Duration = Duration::from_micros(perfdhcp::EXIT_WAIT_US as u64);
/// The latency run's.
const LATENCY_DRAIN: Duration = Duration::from_secs(3);

/// The two HA libraries compared, each at both ends of its pair.
pub const REPLICATORS: [(&str, Replicator); 2] =
    [("kea-ha", Replicator::KeaHa), ("hook-hamux", Replicator::Hook)];

/// One pair's leases/s.
pub struct Throughput {
    pub mode: &'static str,
    pub name: &'static str,
    pub latency: DoraResult,
    /// Each daemon's CPU per lease in the latency run, server1's first.
    pub cpu_per_lease: [Duration; 2],
    pub saturation: Saturation,
}

/// One library's failover and sync figures.
pub struct Recovery {
    pub name: &'static str,
    /// SIGKILL of the hot-standby primary → the standby's first ACK, sorted; the primary
    /// restarted and back in hot-standby between two.
    pub failover: Vec<Duration>,
    /// The fresh primary's launch → it serves in hot-standby, having synced.
    pub to_hot_standby: Duration,
    /// The sync itself, as the library logged it.
    pub sync_logged: Option<Duration>,
    /// The leases the primary holds afterwards.
    pub synced: u64,
}

pub struct Figures {
    pub throughput: Vec<Throughput>,
    pub recovery: Vec<Recovery>,
}

/// Runs every pair; `runs` hands out the DORA runs' client sets.
pub fn run(hook: &Path, seconds: Duration, runs: &mut RangeFrom<u8>) -> Result<Figures, String> {
    let mut figures = Figures { throughput: Vec::new(), recovery: Vec::new() };
    for (name, replicator) in REPLICATORS {
        let mut failover = None;
        for mode in [Mode::HotStandby, Mode::LoadBalancing] {
            let mut pair = Pair::start(replicator, mode, hook)?;
            figures.throughput.push(throughput(name, mode, &pair, seconds, runs)?);
            if mode == Mode::HotStandby {
                failover = Some(failovers(name, &mut pair, runs)?);
            }
        }
        let failover = failover.expect("a hot-standby pair ran");
        eprintln!("kea-e2e: {name}: syncing {SYNC_LEASES} leases ...");
        figures.recovery.push(sync(name, replicator, hook, failover)?);
    }
    Ok(figures)
}

/// [`FAILOVER_SAMPLES`] failovers of a hot-standby pair, sorted.
fn failovers(name: &str, pair: &mut Pair, runs: &mut RangeFrom<u8>) -> Result<Vec<Duration>, String> {
    let period = Duration::from_millis(pair::timers()["heartbeat-delay"].as_u64().unwrap_or(1000));
    let mut samples = Vec::new();
    for k in 0..FAILOVER_SAMPLES {
        if k > 0 {
            eprintln!("kea-e2e: {name} hot-standby: restarting the primary ...");
            pair.servers[0].launch()?;
            for server in &pair.servers {
                server.wait_for(Mode::HotStandby.name(), Duration::from_secs(120))?;
            }
        }
        std::thread::sleep(FAILOVER_SETTLE + period * k as u32 / FAILOVER_SAMPLES as u32);
        eprintln!("kea-e2e: {name} hot-standby: killing the primary ...");
        samples.push(takeover::first_ack(pair, next(runs))?);
    }
    samples.sort();
    Ok(samples)
}

fn next(runs: &mut RangeFrom<u8>) -> u8 {
    runs.next().expect("fewer than 256 DORA runs")
}

fn throughput(
    name: &'static str,
    mode: Mode,
    pair: &Pair,
    seconds: Duration,
    runs: &mut RangeFrom<u8>,
) -> Result<Throughput, String> {
    let label = format!("{name} {}", mode.name());
    eprintln!("kea-e2e: {label}: ACK latency at {LATENCY_RATE}/s ...");
    let cpu = pair.cpu();
    let spec = DoraSpec {
        servers: pair.dhcp(),
        rate: LATENCY_RATE,
        warmup: WARMUP,
        duration: seconds,
        drain: LATENCY_DRAIN,
        run: next(runs),
    };
    let latency = dora::run(&spec)?;
    let (after, leases) = (pair.cpu(), (latency.acks + latency.warm_acks).max(1) as u32);
    let cpu_per_lease = [0, 1].map(|k| (after[k] - cpu[k]) / leases);
    let step = |rate: u32| -> Result<Step, String> {
        let spec = DoraSpec {
            servers: pair.dhcp(),
            rate: rate as f64,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(perfdhcp::STEP_SECONDS as u64),
            drain: STEP_DRAIN,
            run: next(runs),
        };
        let r = dora::run(&spec)?;
        let s = Step { rate, sent: r.on_time, acks: r.acks };
        eprintln!(
            "kea-e2e: {label}: {rate}/s: {} of {} ACKed ({:.1}% failed), {:.0} leases/s",
            s.acks,
            r.offered,
            s.failed() * 100.0,
            s.leases_per_second()
        );
        Ok(s)
    };
    let saturation = perfdhcp::search(step, || settle(pair))?;
    Ok(Throughput { mode: mode.name(), name, latency, cpu_per_lease, saturation })
}

/// After an overloaded step: waits (up to 10 s) until one of the pair completes a DORA
/// (the same client offered to both: the one whose scope it is in answers).
fn settle(pair: &Pair) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut xid = 0xfd00_0000u32;
    while Instant::now() < deadline {
        xid += 1;
        if pair.dhcp().iter().any(|&server| dhcp::dora_once(server, xid)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The partner alone with [`SYNC_LEASES`] leases until it is in partner-down, then a
/// fresh primary: waiting → syncing → ready → hot-standby.
fn sync(
    name: &'static str,
    replicator: Replicator,
    hook: &Path,
    failover: Vec<Duration>,
) -> Result<Recovery, String> {
    let file = std::env::temp_dir().join(format!("hamux-e2e-{}-{name}-leases.csv", std::process::id()));
    leases::write_file(&file, SYNC_LEASES)?;
    let outcome = (|| {
        let mut pair = Pair::new(replicator, Mode::HotStandby, hook, &json!({}), Some(&file))?;
        pair.servers[1].launch()?;
        pair.servers[1].wait_for("partner-down", Duration::from_secs(60))?;
        let held = leases::count(&pair.servers[1])?;
        if held != SYNC_LEASES as u64 {
            return Err(format!(
                "{} loaded {held} of the {SYNC_LEASES} leases of {}",
                pair::PARTNER,
                file.display()
            ));
        }
        let start = Instant::now();
        pair.servers[0].launch()?;
        pair.servers[0].wait_for("hot-standby", Duration::from_secs(300))?;
        let to_hot_standby = start.elapsed();
        let synced = leases::count(&pair.servers[0])?;
        let sync_logged = leases::logged_sync_time(&pair.servers[0].log());
        Ok(Recovery { name, failover, to_hot_standby, sync_logged, synced })
    })();
    let _ = std::fs::remove_file(&file);
    outcome
}
