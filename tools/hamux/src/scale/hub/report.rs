//! What `--scenario kea-hub` prints: a row per N, the ratio the target is about
//! (backup CPU per update at the largest N over N = 1), and the lease check, whose
//! mismatches count as failures.

use super::super::process_stats::bytes;
use super::primaries::HubResult;
use crate::progress::group;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// The backup's leases against what the primaries sent, per subnet-id.
pub struct LeaseCheck {
    /// (subnet-id, distinct leases sent, leases the backup holds) where the two differ.
    pub mismatches: Vec<(u64, u64, u64)>,
    pub expected: u64,
    pub found: u64,
}

impl LeaseCheck {
    /// `expected`: (subnet-id, distinct leases its primary sent); `found`: the backup's
    /// count per subnet-id (a subnet no primary sent to must be absent).
    pub fn new(expected: &[(u64, u64)], found: &BTreeMap<u64, u64>) -> LeaseCheck {
        let mut mismatches: Vec<(u64, u64, u64)> = expected
            .iter()
            .map(|&(id, sent)| (id, sent, found.get(&id).copied().unwrap_or(0)))
            .filter(|&(_, sent, held)| sent != held)
            .collect();
        let extra = found.iter().filter(|(id, _)| !expected.iter().any(|(e, _)| e == *id));
        mismatches.extend(extra.map(|(&id, &held)| (id, 0, held)));
        LeaseCheck {
            mismatches,
            expected: expected.iter().map(|(_, n)| n).sum(),
            found: found.values().sum(),
        }
    }

    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// One N's figures.
pub struct Row {
    pub primaries: usize,
    /// Updates in flight in all.
    pub in_flight: usize,
    pub result: HubResult,
    /// The backup daemon's CPU during the run.
    pub backup_cpu: Duration,
    /// Its `VmRSS` after the run.
    pub backup_rss: u64,
    pub leases: LeaseCheck,
}

impl Row {
    pub fn rate(&self) -> f64 {
        self.result.acked() as f64 / self.result.elapsed.as_secs_f64()
    }

    fn per_update(&self, cpu: Duration) -> f64 {
        cpu.as_secs_f64() * 1e6 / self.result.acked().max(1) as f64
    }

    pub fn backup_us(&self) -> f64 {
        self.per_update(self.backup_cpu)
    }

    /// Updates not acked with result 0, and primaries whose leases the backup lacks.
    pub fn failures(&self) -> u64 {
        self.result.errors() + self.leases.mismatches.len() as u64
    }

    fn in_flight_per_primary(&self) -> String {
        let (low, high) = (self.in_flight / self.primaries, self.in_flight.div_ceil(self.primaries));
        if low == high {
            low.to_string()
        } else {
            format!("{low}-{high}")
        }
    }
}

/// Backup CPU per update at the largest N over N = 1, if both were run.
fn ratio(rows: &[Row]) -> Option<(&Row, f64)> {
    let one = rows.iter().find(|r| r.primaries == 1)?;
    let most = rows.iter().max_by_key(|r| r.primaries).filter(|r| r.primaries > 1)?;
    Some((most, most.backup_us() / one.backup_us().max(1e-9)))
}

pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<10} {:>13} {:>13} {:>18} {:>12} {:>10} {:>9} {:>12}\n",
        "primaries",
        "in flight/p.",
        "updates/s",
        "backup CPU µs/upd",
        "backup RSS",
        "p99",
        "failures",
        "leases",
    );
    for r in rows {
        let leases = match r.leases.passed() {
            true => format!("{} ok", group(r.leases.found)),
            false => format!("{} wrong", r.leases.mismatches.len()),
        };
        out += &format!(
            "{:<10} {:>13} {:>13} {:>18.1} {:>12} {:>10} {:>9} {:>12}\n",
            r.primaries,
            r.in_flight_per_primary(),
            group(r.rate() as u64),
            r.backup_us(),
            bytes(r.backup_rss as f64),
            format!("{:.2}ms", r.result.latency.quantile(0.99) as f64 / 1e6),
            r.failures(),
            leases,
        );
    }
    for r in rows {
        if r.result.errors() > 0 {
            let first = r.result.first_error.as_deref().unwrap_or("?");
            out += &format!(
                "{} primaries: {} updates not acked; first: {first}\n",
                r.primaries,
                r.result.errors()
            );
        }
        for (id, sent, held) in &r.leases.mismatches {
            out += &format!(
                "{} primaries: subnet {id}: the backup holds {held} leases, its primary sent {sent} distinct\n",
                r.primaries
            );
        }
    }
    if let Some((most, ratio)) = ratio(rows) {
        out += &format!(
            "{} primaries: backup CPU µs per acked update {:.1} vs {:.1} with 1 primary: ratio {ratio:.2} \
             (target: within 25 %, <= 1.25)\n",
            most.primaries,
            most.backup_us(),
            rows.iter().find(|r| r.primaries == 1).map_or(0.0, Row::backup_us),
        );
    }
    out
}

pub fn json(rows: &[Row]) -> Value {
    let list: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "primaries": r.primaries,
                "in-flight": r.in_flight,
                "seconds": (r.result.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
                "acked": r.result.acked(),
                "updates-per-second": r.rate().round(),
                "backup-cpu-us-per-update": (r.backup_us() * 100.0).round() / 100.0,
                "primaries-cpu-us-per-update": (r.per_update(r.result.cpu) * 100.0).round() / 100.0,
                "backup-rss-bytes": r.backup_rss,
                "update-latency-us": {
                    "p50": r.result.latency.quantile(0.5) / 1000,
                    "p99": r.result.latency.quantile(0.99) / 1000,
                },
                "errors": r.result.errors(),
                "first-error": r.result.first_error,
                "leases-expected": r.leases.expected,
                "leases-found": r.leases.found,
                "lease-check": if r.leases.passed() { "passed" } else { "failed" },
                "lease-mismatches": r.leases.mismatches.iter()
                    .map(|(id, sent, held)| json!({"subnet-id": id, "sent": sent, "held": held}))
                    .collect::<Vec<_>>(),
                "failures": r.failures(),
            })
        })
        .collect();
    json!({
        "hamux-version": hamux::VERSION,
        "kea-version": crate::kea::version(),
        "kea-hub": list,
        "backup-cpu-ratio": ratio(rows).map(|(most, ratio)| json!({
            "primaries": most.primaries,
            "ratio-to-one": (ratio * 1000.0).round() / 1000.0,
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subnet_with_other_leases_than_sent_is_a_mismatch() {
        let found = BTreeMap::from([(1, 10), (2, 9), (7, 1)]);
        let check = LeaseCheck::new(&[(1, 10), (2, 10), (3, 0)], &found);
        assert_eq!(check.mismatches, [(2, 10, 9), (7, 0, 1)]);
        assert_eq!((check.expected, check.found), (20, 20));
        assert!(!check.passed());
        assert!(LeaseCheck::new(&[(1, 10)], &BTreeMap::from([(1, 10)])).passed());
    }
}
