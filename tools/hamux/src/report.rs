//! The results: a table for people, one JSON object with `--json`.

use crate::driver::LoadResult;
use crate::histogram::Histogram;
use crate::progress::group;
use serde_json::{json, Value};

/// One scenario's outcome.
pub struct Row {
    pub name: String,
    pub connections: usize,
    pub window: usize,
    pub result: LoadResult,
}

/// Latency percentiles in nanoseconds.
#[derive(Clone, Copy, Default)]
struct Percentiles {
    p50: u64,
    p99: u64,
    p999: u64,
    max: u64,
}

fn percentiles(h: &Histogram) -> Percentiles {
    Percentiles { p50: h.quantile(0.50), p99: h.quantile(0.99), p999: h.quantile(0.999), max: h.max() }
}

/// Every latency of a row, fast and slow.
fn all_latencies(r: &LoadResult) -> Histogram {
    let mut all = r.fast.clone();
    all.merge(&r.slow);
    all
}

impl Row {
    /// Round trips per second.
    pub fn rate(&self) -> f64 {
        self.result.completed() as f64 / self.result.elapsed.as_secs_f64()
    }

    fn cpu_us_per_rt(&self) -> f64 {
        self.result.cpu.as_secs_f64() * 1e6 / self.result.completed().max(1) as f64
    }
}

/// `123µs`, `1.23ms`, `2.5s`.
fn duration(ns: u64) -> String {
    let us = ns as f64 / 1e3;
    if us < 10.0 {
        format!("{us:.1}µs")
    } else if us < 1000.0 {
        format!("{us:.0}µs")
    } else if us < 1e6 {
        format!("{:.2}ms", us / 1e3)
    } else {
        format!("{:.2}s", us / 1e6)
    }
}

/// The table, as printed to stdout.
pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<18} {:>5} {:>6} {:>13} {:>8} {:>8} {:>8} {:>9} {:>11} {:>7}\n",
        "scenario",
        "conns",
        "window",
        "round trips/s",
        "p50",
        "p99",
        "p99.9",
        "CPU µs/rt",
        "completed",
        "errors"
    );
    let line =
        |name: &str, conns: String, window: String, rate: String, p: Percentiles, cpu: String, n, e| {
            format!(
                "{:<18} {:>5} {:>6} {:>13} {:>8} {:>8} {:>8} {:>9} {:>11} {:>7}\n",
                name,
                conns,
                window,
                rate,
                duration(p.p50),
                duration(p.p99),
                duration(p.p999),
                cpu,
                group(n),
                e
            )
        };
    for row in rows {
        let r = &row.result;
        out += &line(
            &row.name,
            row.connections.to_string(),
            row.window.to_string(),
            group(row.rate() as u64),
            percentiles(&all_latencies(r)),
            format!("{:.2}", row.cpu_us_per_rt()),
            r.completed(),
            r.errors.to_string(),
        );
        if r.slow.count() > 0 {
            let n = r.completed().max(1) as f64;
            for (label, lat) in [("fast", &r.fast), ("slow", &r.slow)] {
                let share = format!("  └ {label} ({:.1}%)", lat.count() as f64 * 100.0 / n);
                out += &line(
                    &share,
                    String::new(),
                    String::new(),
                    String::new(),
                    percentiles(lat),
                    String::new(),
                    lat.count(),
                    String::new(),
                );
            }
        }
    }
    for row in rows.iter().filter(|r| r.result.errors > 0) {
        let first = row.result.first_error.as_deref().unwrap_or("?");
        out += &format!("{}: {} errors; first: {first}\n", row.name, row.result.errors);
    }
    out
}

/// `Err` naming the failures if any request of `rows` failed (the exit status shows it).
pub fn check_errors(rows: &[Row]) -> Result<(), String> {
    let failed: u64 = rows.iter().map(|r| r.result.errors).sum();
    if failed == 0 {
        return Ok(());
    }
    let total: u64 = rows.iter().map(|r| r.result.errors + r.result.completed()).sum();
    Err(format!("{failed} of {total} requests failed (see the errors column)"))
}

fn latency_json(h: &Histogram) -> Value {
    let p = percentiles(h);
    let us = |ns: u64| (ns as f64 / 100.0).round() / 10.0;
    json!({ "p50": us(p.p50), "p99": us(p.p99), "p99.9": us(p.p999), "max": us(p.max) })
}

/// One scenario as JSON (latencies in microseconds).
pub fn row_json(row: &Row) -> Value {
    let r = &row.result;
    let mut v = json!({
        "name": row.name,
        "connections": row.connections,
        "window": row.window,
        "seconds": (r.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        "round-trips-per-second": row.rate().round(),
        "latency-us": latency_json(&all_latencies(r)),
        "cpu-us-per-round-trip": (row.cpu_us_per_rt() * 100.0).round() / 100.0,
        "completed": r.completed(),
        "errors": r.errors,
    });
    if let Some(e) = &r.first_error {
        v["first-error"] = e.as_str().into();
    }
    if r.slow.count() > 0 {
        for (label, lat) in [("fast", &r.fast), ("slow", &r.slow)] {
            v[label] = json!({ "completed": lat.count(), "latency-us": latency_json(lat) });
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(4_500), "4.5µs");
        assert_eq!(duration(123_400), "123µs");
        assert_eq!(duration(1_234_000), "1.23ms");
        assert_eq!(duration(2_500_000_000), "2.50s");
    }
}
