//! The kea-e2e figures: a table for people, one JSON object with `--json`, and the
//! ratios the hook's target is stated in.

use super::failover::Figures;
use super::perfdhcp::{self, Step};
use super::{slow_backup, HeadOfLine, Measured, HOL_RATE, LATENCY_RATE};
use crate::histogram::Histogram;
use crate::progress::group;
use serde_json::{json, Value};
use std::fmt::Write;
use std::time::Duration;

/// (3) ÷ (1): the hook's leases/s against Kea without HA.
pub const TARGET_VS_NO_HA: f64 = 0.9;
/// (3) ÷ (2): the hook's leases/s against Kea's own HA.
pub const TARGET_VS_KEA_HA: f64 = 2.5;

pub struct Report {
    pub version: String,
    pub seconds: Duration,
    pub measured: Vec<Measured>,
    pub hol: Vec<HeadOfLine>,
    /// The failover part's, if it ran.
    pub failover: Option<Figures>,
    pub elapsed: Duration,
    /// The share of the machine's CPU other processes (and steal) took meanwhile.
    pub others: f64,
}

/// More CPU than this taken by other work makes the figures unreliable.
const BUSY_MACHINE: f64 = 0.1;

/// "0.42 ms", "1.23 s".
pub(super) fn ms(ns: u64) -> String {
    match ns {
        n if n >= 1_000_000_000 => format!("{:.2} s", n as f64 / 1e9),
        n if n >= 100_000_000 => format!("{:.0} ms", n as f64 / 1e6),
        n => format!("{:.2} ms", n as f64 / 1e6),
    }
}

pub(super) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn leases(m: &Measured) -> f64 {
    m.saturation.best().map_or(0.0, Step::leases_per_second)
}

fn met(yes: bool) -> &'static str {
    if yes {
        "met"
    } else {
        "NOT met"
    }
}

impl Report {
    fn by_name(&self, name: &str) -> f64 {
        self.measured.iter().find(|m| m.name == name).map_or(0.0, leases)
    }

    /// (3) ÷ (1) and (3) ÷ (2).
    fn ratios(&self) -> (f64, f64) {
        let hook = self.by_name("hook-hamux");
        (hook / self.by_name("no-ha").max(1e-9), hook / self.by_name("kea-ha").max(1e-9))
    }

    /// The latencies of a head-of-line run: of the updates answered at once, and of those held.
    fn split(h: &HeadOfLine) -> (Histogram, Histogram) {
        (h.result.latencies(|ip| !h.held.contains(&ip)), h.result.latencies(|ip| h.held.contains(&ip)))
    }

    pub fn table(&self) -> String {
        let mut out = format!(
            "hamux {} bench kea-e2e: kea-dhcp4 {} on loopback, 2 threads, packet-queue-size 0, parked-packet-limit 0\n\
             leases/s: best perfdhcp step of {} s with at most {}% of DORAs unanswered (ACKs / {} s)\n\
             ACK latency: REQUEST -> ACK, own relay client, {} new clients/s for {:.1} s; \
             CPU µs/lease: kea-dhcp4's in that run, primary+backup\n\n",
            hamux::VERSION,
            self.version,
            perfdhcp::STEP_SECONDS,
            perfdhcp::MAX_FAILED * 100.0,
            perfdhcp::STEP_SECONDS,
            group(LATENCY_RATE as u64),
            self.seconds.as_secs_f64(),
        );
        if !self.measured.is_empty() {
            self.passive_backup_table(&mut out);
        }
        if let Some(failover) = &self.failover {
            failover.table(&mut out);
        }
        let _ = writeln!(
            out,
            "{:.0} s in all; other work on this machine took {:.0}% of its CPU meanwhile{}",
            self.elapsed.as_secs_f64(),
            self.others * 100.0,
            if self.others > BUSY_MACHINE {
                ": the figures are not reliable, run it again on a quiet machine"
            } else {
                ""
            }
        );
        out
    }

    fn passive_backup_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "{:<38} {:>9} {:>8} {:>10} {:>10} {:>15} {:>12}",
            "configuration", "leases/s", "at -r", "ACK p50", "ACK p99", "ACKed/offered", "CPU µs/lease"
        );
        for m in &self.measured {
            let best = m.saturation.best();
            let h = m.latency.latencies(|_| true);
            let bound = if m.saturation.generator_bound { "+" } else { "" };
            let _ = writeln!(
                out,
                "{:<38} {:>9} {:>8} {:>10} {:>10} {:>15} {:>12}",
                m.label,
                format!("{}{bound}", group(leases(m) as u64)),
                best.map_or("-".into(), |s| group(s.rate as u64)),
                ms(h.quantile(0.5)),
                ms(h.quantile(0.99)),
                format!("{}/{}", group(m.latency.acks), group(m.latency.offered)),
                match m.cpu_per_lease {
                    (p, b) if b.is_zero() => p.as_micros().to_string(),
                    (p, b) => format!("{}+{}", p.as_micros(), b.as_micros()),
                },
            );
        }
        let _ = writeln!(
            out,
            "\nhead-of-line: the backup (a hamux listener in this process) answers 1 update in {} after {} ms; \
             {} new clients/s for {:.1} s",
            slow_backup::EVERY,
            slow_backup::HOLD.as_millis(),
            group(HOL_RATE as u64),
            self.seconds.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "{:<38} {:>15} {:>12} {:>12} {:>17}",
            "configuration", "ACKed/offered", "p50 (99%)", "p99 (99%)", "held: ACKed, p50"
        );
        for h in &self.hol {
            let (fast, slow) = Self::split(h);
            let _ = writeln!(
                out,
                "{:<38} {:>15} {:>12} {:>12} {:>17}",
                h.label,
                format!("{}/{}", group(h.result.acks), group(h.result.offered)),
                ms(fast.quantile(0.5)),
                ms(fast.quantile(0.99)),
                format!("{}, {}", slow.count(), ms(slow.quantile(0.5))),
            );
        }
        let (vs_none, vs_kea) = self.ratios();
        let _ = writeln!(
            out,
            "\n(3) / (1) leases/s: {:.0}% (target >= {:.0}%: {})\n(3) / (2) leases/s: {:.2}x (target >= {}x: {})",
            vs_none * 100.0,
            TARGET_VS_NO_HA * 100.0,
            met(vs_none >= TARGET_VS_NO_HA),
            vs_kea,
            TARGET_VS_KEA_HA,
            met(vs_kea >= TARGET_VS_KEA_HA),
        );
        let _ = writeln!(out, "\nperfdhcp steps (-r: leases/s, % of DORAs unanswered):");
        for m in &self.measured {
            let steps: Vec<String> = m
                .saturation
                .steps
                .iter()
                .map(|s| format!("{}: {:.0} {:.1}%", s.rate, s.leases_per_second(), s.failed() * 100.0))
                .collect();
            let _ = writeln!(out, "  {}: {}", &m.label[..3], steps.join(", "));
        }
        if self.measured.iter().any(|m| m.saturation.generator_bound) {
            let _ =
                writeln!(out, "+: perfdhcp could not send more on these cores; the figure is a lower bound");
        }
    }

    pub fn json(&self) -> Value {
        let p = |h: &Histogram, q: f64| round2(h.quantile(q) as f64 / 1e6);
        let configurations: Vec<Value> = self
            .measured
            .iter()
            .map(|m| {
                let h = m.latency.latencies(|_| true);
                json!({
                    "name": m.name,
                    "label": m.label,
                    "leases-per-second": leases(m).round(),
                    "saturation-rate": m.saturation.best().map(|s| s.rate),
                    "generator-bound": m.saturation.generator_bound,
                    "steps": m.saturation.steps.iter().map(|s| json!({
                        "rate": s.rate, "sent": s.sent, "acks": s.acks, "failed": round2(s.failed() * 100.0) / 100.0,
                    })).collect::<Vec<_>>(),
                    "latency": {
                        "rate": LATENCY_RATE, "offered": m.latency.offered, "acks": m.latency.acks,
                        "naks": m.latency.naks, "p50-ms": p(&h, 0.5), "p99-ms": p(&h, 0.99),
                        "primary-cpu-us-per-lease": m.cpu_per_lease.0.as_micros() as u64,
                        "backup-cpu-us-per-lease": m.cpu_per_lease.1.as_micros() as u64,
                    },
                })
            })
            .collect();
        let hol: Vec<Value> = self
            .hol
            .iter()
            .map(|h| {
                let (fast, slow) = Self::split(h);
                json!({
                    "name": h.name,
                    "label": h.label,
                    "rate": HOL_RATE,
                    "offered": h.result.offered,
                    "acks": h.result.acks,
                    "fast": {"acks": fast.count(), "p50-ms": p(&fast, 0.5), "p99-ms": p(&fast, 0.99)},
                    "held": {"acks": slow.count(), "p50-ms": p(&slow, 0.5)},
                })
            })
            .collect();
        let (vs_none, vs_kea) = self.ratios();
        json!({
            "hamux-version": hamux::VERSION,
            "scenario": "kea-e2e",
            "kea-dhcp4": self.version,
            "settings": {
                "seconds": self.seconds.as_secs_f64(),
                "step-seconds": perfdhcp::STEP_SECONDS,
                "exit-wait-us": perfdhcp::EXIT_WAIT_US,
                "max-failed": perfdhcp::MAX_FAILED,
                "perfdhcp-clients": perfdhcp::CLIENTS,
                "hold-every": slow_backup::EVERY,
                "hold-ms": slow_backup::HOLD.as_millis() as u64,
            },
            "configurations": configurations,
            "head-of-line": hol,
            "failover": self.failover.as_ref().map(Figures::json),
            "ratios": {
                "hook-vs-no-ha": round2(vs_none),
                "target-hook-vs-no-ha": TARGET_VS_NO_HA,
                "hook-vs-kea-ha": round2(vs_kea),
                "target-hook-vs-kea-ha": TARGET_VS_KEA_HA,
            },
            "elapsed-seconds": self.elapsed.as_secs_f64().round(),
            "others-cpu-share": round2(self.others),
        })
    }
}
