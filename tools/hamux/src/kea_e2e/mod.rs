//! `hamux bench --scenario kea-e2e`: real kea-dhcp4 servers on loopback, driven by DHCP
//! clients, in four configurations — no HA; Kea's `libdhcp_ha` passive-backup with
//! wait-backup-ack to a Kea backup; the hook (`libdhcp_hamux.so`) over `hamux://` to a
//! backup with the hook; the hook over `http://` to a Kea HA backup — then the two
//! replicating ones against a backup that answers 1% of the updates 500 ms late.
//!
//! Per configuration: ACK latency at a fixed [`LATENCY_RATE`] with the bench's own DORA
//! client ([`dora`]), then leases/s at saturation with perfdhcp ([`perfdhcp`]). The
//! latency run comes first, on a fresh server, so no backlog of an overloaded step is
//! in it. Everything runs under the flock the Kea tests take, as perfdhcp and the client
//! bind the relay's port.

mod dhcp;
mod dora;
mod failover;
mod machine;
mod perfdhcp;
mod report;
mod servers;
mod slow_backup;

use crate::kea;
use dora::{DoraResult, DoraSpec};
use perfdhcp::Saturation;
use servers::{Backup, Replicator};
use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};
use testkit::perfdhcp::{self as kit_perfdhcp, PerfdhcpTurn};

pub struct Options {
    pub json: bool,
    /// The measured period of each fixed-rate run.
    pub seconds: Duration,
    /// Which parts run.
    pub parts: Parts,
}

/// `--part`: the passive-backup configurations and the head-of-line runs, the failover
/// pairs ([`failover`]), or both.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Parts {
    All,
    PassiveBackup,
    Failover,
}

impl Parts {
    pub fn parse(text: &str) -> Result<Parts, String> {
        match text {
            "all" => Ok(Parts::All),
            "passive-backup" => Ok(Parts::PassiveBackup),
            "failover" => Ok(Parts::Failover),
            other => Err(format!("--part {other}: one of all, passive-backup, failover")),
        }
    }

    fn passive_backup(self) -> bool {
        self != Parts::Failover
    }

    fn failover(self) -> bool {
        self != Parts::PassiveBackup
    }
}

/// New clients/s of the latency runs.
pub const LATENCY_RATE: f64 = 2000.0;
/// New clients/s of the head-of-line runs.
pub const HOL_RATE: f64 = 1000.0;
pub const WARMUP: Duration = Duration::from_millis(500);
/// Answers up to 3 s after the last DISCOVER count: a DHCP client's first retransmission
/// (RFC 2131) would come after about 4 s.
const DRAIN: Duration = Duration::from_secs(3);

/// One configuration's figures.
pub struct Measured {
    pub name: &'static str,
    pub label: &'static str,
    pub latency: DoraResult,
    /// The primary's and the backup's CPU per lease during the latency run (warm-up
    /// included): on two shared cores, what the leases/s follow.
    pub cpu_per_lease: (Duration, Duration),
    pub saturation: Saturation,
}

/// A head-of-line run's figures; `held`: the addresses whose update the backup held.
pub struct HeadOfLine {
    pub name: &'static str,
    pub label: &'static str,
    pub result: DoraResult,
    pub held: HashSet<Ipv4Addr>,
}

const CONFIGURATIONS: [(&str, &str, Option<Replicator>, Backup); 4] = [
    ("no-ha", "(1) kea-dhcp4, no HA", None, Backup::None),
    ("kea-ha", "(2) Kea HA -> Kea backup, http://", Some(Replicator::KeaHa), Backup::Kea(Replicator::KeaHa)),
    (
        "hook-hamux",
        "(3) hook -> hook backup, hamux://",
        Some(Replicator::Hook),
        Backup::Kea(Replicator::Hook),
    ),
    (
        "hook-http",
        "(4) hook -> Kea HA backup, http://",
        Some(Replicator::Hook),
        Backup::Kea(Replicator::KeaHa),
    ),
];

const HEAD_OF_LINE: [(&str, &str, Replicator); 2] = [
    ("kea-ha", "(2) Kea HA -> slow backup, http://", Replicator::KeaHa),
    ("hook-hamux", "(3) hook -> slow backup, hamux://", Replicator::Hook),
];

pub fn run(o: &Options) -> Result<(), String> {
    if let Some(why) = kea::missing() {
        return Err(format!("kea-e2e: {why}"));
    }
    kit_perfdhcp::installed().map_err(|why| format!("kea-e2e: {why}"))?;
    let hook = kea::hook_library().map_err(|why| format!("kea-e2e: {why}"))?;
    kit_perfdhcp::add_relay_address().map_err(|why| format!("kea-e2e: {why}"))?;
    let _turn = PerfdhcpTurn::try_wait()?;
    let started = Instant::now();
    let before = machine::sample();
    let mut runs = 0u8..;
    let (mut measured, mut hol) = (Vec::new(), Vec::new());
    if o.parts.passive_backup() {
        for (name, label, primary, backup) in CONFIGURATIONS {
            let setup = servers::start(primary, backup, &hook)?;
            measured.push(measure(name, label, &setup, o.seconds, runs.next().expect("endless"))?);
        }
        for (name, label, primary) in HEAD_OF_LINE {
            hol.push(head_of_line(name, label, primary, &hook, o.seconds, runs.next().expect("endless"))?);
        }
    }
    let failover = match o.parts.failover() {
        true => Some(failover::run(&hook, o.seconds, &mut runs)?),
        false => None,
    };
    let report = report::Report {
        version: kea::version(),
        seconds: o.seconds,
        measured,
        hol,
        failover,
        elapsed: started.elapsed(),
        others: machine::others_share(&before, &machine::sample()),
    };
    if o.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.table());
    }
    Ok(())
}

/// ACK latency at [`LATENCY_RATE`] on the fresh servers, then the saturation search.
fn measure(
    name: &'static str,
    label: &'static str,
    setup: &servers::Setup,
    seconds: Duration,
    run: u8,
) -> Result<Measured, String> {
    eprintln!("kea-e2e: {label}: ACK latency at {LATENCY_RATE}/s ...");
    let (primary_cpu, backup_cpu) = setup.cpu();
    let latency = dora::run(&spec(setup.dhcp, LATENCY_RATE, seconds, run))?;
    let leases = (latency.acks + latency.warm_acks).max(1) as u32;
    let (p, b) = setup.cpu();
    let cpu_per_lease = ((p - primary_cpu) / leases, (b - backup_cpu) / leases);
    let port = setup.dhcp.port();
    let step = |rate: u32| -> Result<perfdhcp::Step, String> {
        let s = perfdhcp::step(port, rate)?;
        eprintln!(
            "kea-e2e: {label}: perfdhcp -r {rate}: {} of {} ACKed ({:.1}% failed), {:.0} leases/s",
            s.acks,
            s.sent,
            s.failed() * 100.0,
            s.leases_per_second()
        );
        Ok(s)
    };
    let saturation = perfdhcp::search(step, || settle(setup.dhcp))?;
    Ok(Measured { name, label, latency, cpu_per_lease, saturation })
}

/// A primary replicating with `primary` to a fresh slow backup, at [`HOL_RATE`].
fn head_of_line(
    name: &'static str,
    label: &'static str,
    primary: Replicator,
    hook: &Path,
    seconds: Duration,
    run: u8,
) -> Result<HeadOfLine, String> {
    let slow = slow_backup::SlowBackup::start()?;
    let setup = servers::start(Some(primary), Backup::Listener(slow.port()), hook)?;
    eprintln!(
        "kea-e2e: {label}: {HOL_RATE}/s, 1 update in {} held {:?} ...",
        slow_backup::EVERY,
        slow_backup::HOLD
    );
    let result = dora::run(&spec(setup.dhcp, HOL_RATE, seconds, run))?;
    drop(setup); // Kea first: its connections close before the listener drains
    Ok(HeadOfLine { name, label, result, held: slow.held() })
}

fn spec(server: SocketAddr, rate: f64, duration: Duration, run: u8) -> DoraSpec {
    DoraSpec { servers: vec![server], rate, warmup: WARMUP, duration, drain: DRAIN, run }
}

/// After an overloaded step: waits (up to 10 s) until the server completes a DORA within
/// 200 ms per answer again, i.e. its queue has drained.
fn settle(dhcp: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !servers::serves(dhcp) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
}
