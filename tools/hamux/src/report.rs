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
    /// The same load over the run-to-completion loop, run right after.
    pub baseline: Option<Box<Row>>,
    /// Run while busy processes competed for the CPUs (`pipelined-loaded`).
    pub under_load: Option<UnderLoad>,
}

/// What a run under competing load is compared with: the same load unloaded.
#[derive(Clone, Copy)]
pub struct Reference {
    pub rate: f64,
    pub p99_ns: u64,
    pub cpu_us_per_rt: f64,
}

impl Reference {
    pub fn of(row: &Row) -> Reference {
        Reference {
            rate: row.rate(),
            p99_ns: all_latencies(&row.result).quantile(0.99),
            cpu_us_per_rt: row.cpu_us_per_rt(),
        }
    }
}

/// The competing load a row ran under.
pub struct UnderLoad {
    /// Busy processes, one core's worth each.
    pub processes: usize,
    /// Their process ids (gone when the row is reported).
    pub pids: Vec<u32>,
    /// CPUs they used on average during this row's run.
    pub busy_cpus: f64,
    /// The same load without them.
    pub unloaded: Reference,
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
    pub fn new(name: &str, connections: usize, window: usize, result: LoadResult) -> Row {
        Row { name: name.to_string(), connections, window, result, baseline: None, under_load: None }
    }

    /// Round trips per second.
    pub fn rate(&self) -> f64 {
        self.result.completed() as f64 / self.result.elapsed.as_secs_f64()
    }

    /// This row's round trips/s as a share of its loop's.
    pub fn ratio_to_baseline(&self) -> Option<f64> {
        self.baseline.as_ref().map(|b| self.rate() / b.rate().max(1e-9))
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

const HEADER: [&str; 11] = [
    "scenario",
    "conns",
    "window",
    "round trips/s",
    "p50",
    "p99",
    "p99.9",
    "CPU µs/rt",
    "completed",
    "errors",
    "vs loop",
];

/// One table line from its cells.
fn line(c: [&str; 11]) -> String {
    let text = format!(
        "{:<18} {:>5} {:>6} {:>13} {:>8} {:>8} {:>8} {:>9} {:>11} {:>7} {:>7}",
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10]
    );
    text.trim_end().to_string() + "\n"
}

/// The cells of a row (or of a latency class of it, `label` then naming it).
fn cells(row: &Row, label: &str, lat: &Histogram, whole: bool) -> [String; 11] {
    let r = &row.result;
    let p = percentiles(lat);
    let whole_only = |v: String| if whole { v } else { String::new() };
    [
        label.to_string(),
        whole_only(row.connections.to_string()),
        whole_only(row.window.to_string()),
        whole_only(group(row.rate() as u64)),
        duration(p.p50),
        duration(p.p99),
        duration(p.p999),
        whole_only(format!("{:.2}", row.cpu_us_per_rt())),
        group(lat.count()),
        whole_only(r.errors.to_string()),
        whole_only(row.ratio_to_baseline().map_or(String::new(), |x| format!("{:.0} %", x * 100.0))),
    ]
}

fn push(out: &mut String, c: [String; 11]) {
    *out += &line(c.each_ref().map(String::as_str));
}

/// The table, as printed to stdout: a row per scenario, its loop's figures under it.
pub fn table(rows: &[Row]) -> String {
    let mut out = line(HEADER);
    for row in rows {
        let r = &row.result;
        push(&mut out, cells(row, &row.name, &all_latencies(r), true));
        if r.slow.count() > 0 {
            let n = r.completed().max(1) as f64;
            for (label, lat) in [("fast", &r.fast), ("slow", &r.slow)] {
                let share = format!("  └ {label} ({:.1}%)", lat.count() as f64 * 100.0 / n);
                push(&mut out, cells(row, &share, lat, false));
            }
        }
        if let Some(b) = &row.baseline {
            push(&mut out, cells(b, "  └ loop", &all_latencies(&b.result), true));
        }
    }
    for row in rows.iter().flat_map(|r| std::iter::once(r).chain(r.baseline.as_deref())) {
        if row.result.errors > 0 {
            let first = row.result.first_error.as_deref().unwrap_or("?");
            out += &format!("{}: {} errors; first: {first}\n", row.name, row.result.errors);
        }
    }
    out
}

/// For a row run under competing load: what share of its unloaded round trips/s hamux
/// kept, and the loop beside it.
pub fn under_load_summary(row: &Row) -> Option<String> {
    let load = row.under_load.as_ref()?;
    let kept = |r: &Row, u: &UnderLoad| {
        let now = Reference::of(r);
        format!(
            "kept {:.0} % of its unloaded round trips/s ({} → {}; p99 {} → {}; CPU µs/rt {:.2} → {:.2}; \
             the busy processes took {:.2} CPUs)",
            now.rate * 100.0 / u.unloaded.rate.max(1e-9),
            group(u.unloaded.rate as u64),
            group(now.rate as u64),
            duration(u.unloaded.p99_ns),
            duration(now.p99_ns),
            u.unloaded.cpu_us_per_rt,
            now.cpu_us_per_rt,
            u.busy_cpus,
        )
    };
    let mut text = format!(
        "{}: {} busy processes competed for the CPUs; hamux {}",
        row.name,
        load.processes,
        kept(row, load)
    );
    if let Some((b, u)) = row.baseline.as_deref().and_then(|b| Some((b, b.under_load.as_ref()?))) {
        text += &format!("; the loop {}", kept(b, u));
    }
    Some(text + ".")
}

/// `Err` naming the failures if any request of `rows` failed (the exit status shows it).
pub fn check_errors(rows: &[Row]) -> Result<(), String> {
    let all = || rows.iter().flat_map(|r| std::iter::once(r).chain(r.baseline.as_deref()));
    let failed: u64 = all().map(|r| r.result.errors).sum();
    if failed == 0 {
        return Ok(());
    }
    let total: u64 = all().map(|r| r.result.errors + r.result.completed()).sum();
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
    if let Some(load) = &row.under_load {
        v["busy-processes"] = load.processes.into();
        v["busy-cpus"] = ((load.busy_cpus * 100.0).round() / 100.0).into();
        if !load.pids.is_empty() {
            v["busy-pids"] = load.pids.clone().into();
        }
        v["ratio-to-unloaded"] = ratio(row.rate() / load.unloaded.rate.max(1e-9));
        v["unloaded"] = json!({
            "round-trips-per-second": load.unloaded.rate.round(),
            "latency-us": { "p99": (load.unloaded.p99_ns as f64 / 100.0).round() / 10.0 },
            "cpu-us-per-round-trip": (load.unloaded.cpu_us_per_rt * 100.0).round() / 100.0,
        });
    }
    if let (Some(b), Some(x)) = (&row.baseline, row.ratio_to_baseline()) {
        v["baseline"] = row_json(b);
        v["ratio-to-baseline"] = ratio(x);
    }
    v
}

/// A ratio with three decimals.
fn ratio(x: f64) -> Value {
    ((x * 1000.0).round() / 1000.0).into()
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
