//! The `kea` scenario: the same HTTP load (the hamux client, `--http-connections`
//! connections, the same bodies, the same seconds) first against a real kea-dhcp4's HA
//! listener, which this starts and stops, then against the hamux listener of this
//! process; and the ratio of their round trips per second.

use crate::bench::{run_load, Load};
use crate::kea::{self, Standby};
use crate::report::Row;
use serde_json::{json, Value};

/// What the hamux HTTP listener should reach, as a multiple of Kea's round trips/s.
pub const TARGET_RATIO: f64 = 5.0;

pub struct KeaRun {
    pub version: String,
    pub connections: usize,
    /// hamux listener round trips/s over Kea's.
    pub ratio: f64,
}

pub enum KeaOutcome {
    /// kea-dhcp4 is not installed: why.
    Skipped(String),
    Ran(KeaRun),
}

/// Runs the comparison, appending the rows `kea-http` and `hamux-http` to `rows`.
pub fn run(hamux_url: &str, load: &Load, rows: &mut Vec<Row>) -> Result<KeaOutcome, String> {
    if let Some(why) = kea::missing() {
        return Ok(KeaOutcome::Skipped(why));
    }
    let n = load.http_connections;
    let version = kea::version();
    let kea_row = {
        let kea = Standby::start(&load.subnet)?;
        let cpu_before = kea.cpu();
        let mut row = run_load(&kea.url(), "kea-http", n, n, load, false)?;
        // Kea runs in its own process: count its CPU too, as the hamux row counts the
        // listener's (Kea's from a little earlier: it includes the warm-up).
        row.result.cpu += kea.cpu().saturating_sub(cpu_before);
        row
    }; // kea-dhcp4 stopped here, before the hamux run
    let hamux_row = run_load(hamux_url, "hamux-http", n, n, load, false)?;
    let ratio = hamux_row.rate() / kea_row.rate().max(1e-9);
    rows.extend([kea_row, hamux_row]);
    Ok(KeaOutcome::Ran(KeaRun { version, connections: n, ratio }))
}

/// The lines under the table.
pub fn summary(run: &KeaRun) -> String {
    format!(
        "kea-http: the hamux HTTP client ({} connections) against kea-dhcp4 {} (HA dedicated listener, \
         http-listener-threads {}; CPU µs/rt adds kea-dhcp4's CPU); hamux-http: the same load against \
         this process's hamux listener.\nhamux listener / Kea listener: {:.2}× the round trips/s (target \
         ≥ {TARGET_RATIO}×: {}).",
        run.connections,
        run.version,
        kea::LISTENER_THREADS,
        run.ratio,
        if run.ratio >= TARGET_RATIO { "met" } else { "NOT met" },
    )
}

pub fn outcome_json(outcome: &KeaOutcome) -> Value {
    match outcome {
        KeaOutcome::Skipped(why) => json!({ "skipped": why }),
        KeaOutcome::Ran(run) => json!({
            "kea-dhcp4": run.version,
            "http-listener-threads": kea::LISTENER_THREADS,
            "connections": run.connections,
            "ratio": (run.ratio * 100.0).round() / 100.0,
            "target-ratio": TARGET_RATIO,
        }),
    }
}
