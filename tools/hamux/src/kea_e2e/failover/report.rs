//! The failover part's figures: rows of the kea-e2e table, a member of its JSON object,
//! and the hook's ratios to Kea's HA measured in the same run.

use super::super::perfdhcp::{self, Step};
use super::super::report::{self, round2};
use super::{pair, Figures, Recovery, Throughput, STEP_DRAIN, SYNC_LEASES};
use crate::histogram::Histogram;
use crate::progress::group;
use serde_json::{json, Value};
use std::fmt::Write;
use std::time::Duration;

fn leases(t: &Throughput) -> f64 {
    t.saturation.best().map_or(0.0, Step::leases_per_second)
}

/// A duration as the kea-e2e table writes one.
fn ms(d: Duration) -> String {
    report::ms(d.as_nanos() as u64)
}

/// Sorted failover times as their mean and range: `2.47 s (2.08 s-2.90 s)`. The mean,
/// not the median: the kills are spread evenly over a heartbeat period, and a failover
/// takes `max-response-delay` minus the time since the last answered heartbeat, so the
/// mean is the failover time averaged over when the primary dies.
fn failover_range(sorted: &[Duration]) -> String {
    match sorted {
        [] => "-".into(),
        [one] => ms(*one),
        _ => {
            let mean = sorted.iter().sum::<Duration>() / sorted.len() as u32;
            format!("{} ({}-{})", ms(mean), ms(sorted[0]), ms(sorted[sorted.len() - 1]))
        }
    }
}

impl Figures {
    fn throughput_of(&self, name: &str, mode: &str) -> f64 {
        self.throughput.iter().find(|t| t.name == name && t.mode == mode).map_or(0.0, leases)
    }

    /// The hook's leases/s ÷ Kea's HA's, per mode.
    fn ratio(&self, mode: &str) -> f64 {
        self.throughput_of("hook-hamux", mode) / self.throughput_of("kea-ha", mode).max(1e-9)
    }

    fn recovery_of(&self, name: &str) -> Option<&Recovery> {
        self.recovery.iter().find(|r| r.name == name)
    }

    /// Kea's HA's sync time ÷ the hook's: above 1, the hook syncs faster.
    fn sync_speedup(&self) -> Option<f64> {
        let kea = self.recovery_of("kea-ha")?.to_hot_standby.as_secs_f64();
        Some(kea / self.recovery_of("hook-hamux")?.to_hot_standby.as_secs_f64().max(1e-9))
    }

    pub fn table(&self, out: &mut String) {
        let t = pair::timers();
        let _ = writeln!(
            out,
            "\nfailover: an HA pair, both with Kea's HA (http://) or both with the hook (hamux://); \
             heartbeat-delay {} ms, max-response-delay {} ms, max-unacked-clients 0\n\
             own relay client sending every message to both servers; leases/s: best step of {} s \
             with at most {}% of DORAs unanswered ({} ms wait); CPU µs/lease: server1's + server2's \
             in the ACK latency run",
            t["heartbeat-delay"],
            t["max-response-delay"],
            perfdhcp::STEP_SECONDS,
            perfdhcp::MAX_FAILED * 100.0,
            STEP_DRAIN.as_millis(),
        );
        let _ = writeln!(
            out,
            "{:<28} {:>9} {:>8} {:>10} {:>10} {:>15} {:>12}",
            "pair", "leases/s", "at rate", "ACK p50", "ACK p99", "ACKed/offered", "CPU µs/lease"
        );
        for x in &self.throughput {
            let h: Histogram = x.latency.latencies(|_| true);
            let bound = if x.saturation.generator_bound { "+" } else { "" };
            let _ = writeln!(
                out,
                "{:<28} {:>9} {:>8} {:>10} {:>10} {:>15} {:>12}",
                format!("{} {}", x.name, x.mode),
                format!("{}{bound}", group(leases(x) as u64)),
                x.saturation.best().map_or("-".into(), |s| group(s.rate as u64)),
                report::ms(h.quantile(0.5)),
                report::ms(h.quantile(0.99)),
                format!("{}/{}", group(x.latency.acks), group(x.latency.offered)),
                format!("{}+{}", x.cpu_per_lease[0].as_micros(), x.cpu_per_lease[1].as_micros()),
            );
        }
        for mode in ["hot-standby", "load-balancing"] {
            let _ = writeln!(out, "hook / Kea HA leases/s, {mode}: {:.2}x", self.ratio(mode));
        }
        let _ = writeln!(
            out,
            "\n{:<12} {:>34} {:>32} {:>14} {:>10}",
            "library",
            "failover (kill -> ACK): mean (range)",
            format!("sync {} leases -> hot-standby", group(SYNC_LEASES as u64)),
            "sync (logged)",
            "synced"
        );
        for r in &self.recovery {
            let _ = writeln!(
                out,
                "{:<12} {:>34} {:>32} {:>14} {:>10}",
                r.name,
                failover_range(&r.failover),
                ms(r.to_hot_standby),
                r.sync_logged.map_or("-".into(), ms),
                group(r.synced),
            );
        }
        if let Some(speedup) = self.sync_speedup() {
            let _ = writeln!(out, "Kea HA's sync time / the hook's: {speedup:.2}x");
        }
        let _ = writeln!(out, "\nsteps (rate: leases/s, % unanswered):");
        for x in &self.throughput {
            let steps: Vec<String> = x
                .saturation
                .steps
                .iter()
                .map(|s| format!("{}: {:.0} {:.1}%", s.rate, s.leases_per_second(), s.failed() * 100.0))
                .collect();
            let _ = writeln!(out, "  {} {}: {}", x.name, x.mode, steps.join(", "));
        }
    }

    pub fn json(&self) -> Value {
        let p = |h: &Histogram, q: f64| round2(h.quantile(q) as f64 / 1e6);
        let throughput: Vec<Value> = self
            .throughput
            .iter()
            .map(|x| {
                let h = x.latency.latencies(|_| true);
                json!({
                    "name": x.name,
                    "mode": x.mode,
                    "leases-per-second": leases(x).round(),
                    "saturation-rate": x.saturation.best().map(|s| s.rate),
                    "generator-bound": x.saturation.generator_bound,
                    "steps": x.saturation.steps.iter().map(|s| json!({
                        "rate": s.rate, "sent": s.sent, "acks": s.acks,
                    })).collect::<Vec<_>>(),
                    "latency": {
                        "offered": x.latency.offered, "acks": x.latency.acks,
                        "p50-ms": p(&h, 0.5), "p99-ms": p(&h, 0.99),
                        "cpu-us-per-lease": x.cpu_per_lease.map(|d| d.as_micros() as u64),
                    },
                })
            })
            .collect();
        let recovery: Vec<Value> = self
            .recovery
            .iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "failover-ms": r.failover.iter().map(|d| d.as_millis() as u64).collect::<Vec<_>>(),
                    "sync-leases": SYNC_LEASES,
                    "sync-to-hot-standby-ms": r.to_hot_standby.as_millis() as u64,
                    "sync-logged-ms": r.sync_logged.map(|d| d.as_millis() as u64),
                    "synced": r.synced,
                })
            })
            .collect();
        json!({
            "timers": pair::timers(),
            "throughput": throughput,
            "recovery": recovery,
            "ratios": {
                "hook-vs-kea-ha-hot-standby": round2(self.ratio("hot-standby")),
                "hook-vs-kea-ha-load-balancing": round2(self.ratio("load-balancing")),
                "kea-ha-sync-time-vs-hook": self.sync_speedup().map(round2),
            },
        })
    }
}
