//! `hamux bench --scenario kea-hub`: one real kea-dhcp4 with the hook as the central
//! passive-backup of N primaries (one relationship each, all on one listener), the
//! primaries simulated by hamux clients in this process ([`primaries`]). For each N the
//! same offered work — [`IN_FLIGHT`] updates in flight in all, closed loop, for
//! `--seconds`, renewing the same [`primaries::LEASES`] leases the backup already
//! holds — so that what changes with N is only how many relationships, subnets and
//! connections it serves; the figure that matters is the backup's CPU per acked update
//! (its process's utime + stime), whose growth from 1 to 64 primaries the issue wants
//! within 25 %. With `--window W` each primary has W in flight instead (W × N in all),
//! as each branch of a growing hub brings its own traffic: every connection then
//! carries the same number of updates at once whatever N, and what grows with N is the
//! total.
//!
//! Not in the default run and runs alone: it starts Kea, and takes the flock the Kea
//! tests and kea-e2e take, so it never measures beside them.

mod backup;
mod primaries;
mod report;

use crate::body::Body;
use crate::kea;
use backup::Backup;
use primaries::Until;
pub use report::Row;
use std::path::Path;
use std::time::Duration;
use testkit::perfdhcp::PerfdhcpTurn;

/// The primary counts swept when `--primaries` is not given.
pub const DEFAULT_PRIMARIES: [usize; 4] = [1, 4, 16, 64];
/// Updates in flight in all, whatever N: one per primary at N = 64.
pub const IN_FLIGHT: usize = 64;
/// Every primary has at least one update in flight.
pub const MAX_PRIMARIES: usize = IN_FLIGHT;

pub struct HubOptions {
    pub primaries: Vec<usize>,
    /// The measured period of each N.
    pub seconds: Duration,
    /// `--window`: updates in flight per primary (`None`: [`IN_FLIGHT`] in all).
    pub per_primary: Option<usize>,
    pub json: bool,
}

impl HubOptions {
    /// Updates in flight in all with `n` primaries.
    fn in_flight(&self, n: usize) -> usize {
        self.per_primary.map_or(IN_FLIGHT, |w| w * n)
    }
}

pub fn run(o: &HubOptions) -> Result<(), String> {
    if let Some(why) = kea::missing() {
        return Err(format!("kea-hub: {why}"));
    }
    let hook = kea::hook_library().map_err(|why| format!("kea-hub: {why}"))?;
    let _turn = PerfdhcpTurn::try_wait()?;
    // Bodies as Kea sends a lease, unpadded; the widest subnet-id sets the one size.
    let widest = o.primaries.iter().copied().max().unwrap_or(1);
    let body_size = Body::min_size(&backup::subnet(widest));
    if !o.json {
        println!(
            "hamux {} bench kea-hub: kea-dhcp4 {} as the passive-backup of N primaries (hamux clients in \
             this process, one relationship and subnet each), {} lease4-updates in flight, {:.1} s per \
             N, bodies {body_size} bytes",
            hamux::VERSION,
            kea::version(),
            match o.per_primary {
                Some(w) => format!("{w} per primary"),
                None => format!("{IN_FLIGHT} in all"),
            },
            o.seconds.as_secs_f64(),
        );
    }
    let mut rows = Vec::new();
    for &n in &o.primaries {
        rows.push(measure(n, &hook, o.seconds, o.in_flight(n), body_size)?);
    }
    if o.json {
        println!("{}", report::json(&rows));
    } else {
        print!("{}", report::table(&rows));
    }
    match rows.iter().map(Row::failures).sum::<u64>() {
        0 => Ok(()),
        n => Err(format!("kea-hub: {n} failures (see the failures column)")),
    }
}

/// One N on a fresh backup: warm-up, every lease sent once (the backup then holds them
/// all, whatever N), the measured run renewing them, then the lease check.
fn measure(
    n: usize,
    hook: &Path,
    seconds: Duration,
    in_flight: usize,
    body_size: usize,
) -> Result<Row, String> {
    let backup = Backup::start(n, hook).map_err(|e| format!("kea-hub: the backup of {n} primaries: {e}"))?;
    let subnets: Vec<_> = (1..=n).map(backup::subnet).collect();
    let fleet = primaries::start(&backup.url, &subnets, in_flight, body_size)
        .map_err(|e| format!("kea-hub: {n} primaries: {e}\n{}", backup.log()))?;
    let fill = primaries::run(
        &fleet,
        &backup.url,
        &format!("kea-hub {n}, leases"),
        Until::EveryLeaseOnce,
        body_size,
    )?;
    if fill.errors() > 0 {
        let first = fill.first_error.as_deref().unwrap_or("?");
        return Err(format!(
            "kea-hub: {n} primaries: {} updates of new leases failed; first: {first}",
            fill.errors()
        ));
    }
    let before = backup.cpu();
    let result =
        primaries::run(&fleet, &backup.url, &format!("kea-hub {n}"), Until::Elapsed(seconds), body_size)?;
    let backup_cpu = backup.cpu().saturating_sub(before);
    let backup_rss = backup.rss();
    let found = backup.leases_per_subnet()?;
    let expected: Vec<(u64, u64)> = fleet
        .iter()
        .zip(fill.per_primary.iter().zip(&result.per_primary))
        .map(|(p, (filled, renewed))| (p.subnet.id as u64, filled.leases.max(renewed.leases) + p.warm_leases))
        .collect();
    Ok(Row {
        primaries: n,
        in_flight,
        result,
        backup_cpu,
        backup_rss,
        leases: report::LeaseCheck::new(&expected, &found),
    })
}
