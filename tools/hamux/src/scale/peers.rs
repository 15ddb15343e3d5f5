//! `--scenario peers`: one client, N listeners (in a child process), and per N two loads:
//! `spread` (each update to the one peer its lease picks) and `fan-out` (each update to
//! K peers, as Kea sends every lease update to every backup). Each peer has the same
//! number of requests in flight whatever N (`--window`), so what changes with N is the
//! number of peers and connections, not how full each connection is. With
//! `--total-in-flight` the total is held instead: the client's working set (transactions,
//! their completions, the tables they are in) stays the same whatever N, and what
//! changes is the peers and connections they are spread over.

use super::fan_out::{self, FanOutResult, FanOutSpec};
use super::listeners::{ListenerProcess, ListenerSpec};
use super::process_stats::{self, bytes};
use crate::bench::Load;
use crate::capi::Client;
use crate::driver::{self, LoadSpec};
use crate::progress::group;
use serde_json::{json, Value};
use std::time::Duration;

/// Connections per peer: the library's default, as a host that sets nothing gets.
const CONNECTIONS_PER_PEER: usize = 2;

pub struct PeerRow {
    pub peers: usize,
    pub fan_out: usize,
    pub chains: usize,
    pub result: FanOutResult,
    pub listener_cpu: Duration,
    pub client_rss: u64,
    pub listener_rss: u64,
}

impl PeerRow {
    pub fn rate(&self) -> f64 {
        self.result.delivered as f64 / self.result.elapsed.as_secs_f64()
    }

    fn per_update(&self, cpu: Duration) -> f64 {
        cpu.as_secs_f64() * 1e6 / self.result.delivered.max(1) as f64
    }

    pub fn client_us(&self) -> f64 {
        self.per_update(self.result.cpu)
    }

    pub fn listener_us(&self) -> f64 {
        self.per_update(self.listener_cpu)
    }

    fn variant(&self) -> String {
        if self.fan_out == 1 {
            "spread".into()
        } else {
            format!("fan-out {}", self.fan_out)
        }
    }
}

/// Runs both loads for each of `counts` peers; `fan_out` None: every peer;
/// `total_in_flight` None: `load.window` per peer.
pub fn run(
    load: &Load,
    counts: &[usize],
    fan_out: Option<usize>,
    total_in_flight: Option<usize>,
) -> Result<Vec<PeerRow>, String> {
    let mut rows = Vec::new();
    for &n in counts {
        let peers =
            ListenerProcess::start(&ListenerSpec { listeners: n, io_threads: 1, max_connections: 256 })?;
        let k = fan_out.unwrap_or(n).clamp(1, n);
        let mut variants = vec![1];
        if k > 1 {
            variants.push(k);
        }
        for k in variants {
            rows.push(run_one(load, &peers, k, total_in_flight)?);
        }
    }
    Ok(rows)
}

fn run_one(
    load: &Load,
    peers: &ListenerProcess,
    k: usize,
    total_in_flight: Option<usize>,
) -> Result<PeerRow, String> {
    let n = peers.urls.len();
    // Every peer has `window` requests in flight: window * n copies over k per update
    // (or the total held).
    let chains = total_in_flight.unwrap_or(load.window * n).div_ceil(k).max(1);
    let client = Client::new(
        &json!({
            "io-threads": load.io_threads,
            "connections-per-peer": CONNECTIONS_PER_PEER,
            "max-in-flight": (load.window * 4).max(4096).max(2 * chains * k),
        })
        .to_string(),
    )?;
    for url in &peers.urls {
        let spec = LoadSpec {
            label: "warm-up",
            url,
            window: 1,
            duration: Duration::ZERO,
            body_size: load.body_size,
            subnet: load.subnet,
            split_slow: false,
        };
        driver::warm_up(&client, &spec, CONNECTIONS_PER_PEER)?;
    }
    let label = format!("peers {n}, {}", if k == 1 { "spread".into() } else { format!("fan-out {k}") });
    let spec = FanOutSpec {
        label: &label,
        urls: &peers.urls,
        fan_out: k,
        chains,
        duration: load.duration,
        body_size: load.body_size,
        subnet: load.subnet,
    };
    let listener_before = peers.cpu();
    let result = fan_out::run(&client, &spec)?;
    let listener_cpu = peers.cpu().saturating_sub(listener_before);
    Ok(PeerRow {
        peers: n,
        fan_out: k,
        chains,
        result,
        listener_cpu,
        client_rss: process_stats::rss("self").unwrap_or(0),
        listener_rss: peers.rss(),
    })
}

pub fn table(rows: &[PeerRow]) -> String {
    let mut out = format!(
        "{:<6} {:<12} {:>8} {:>16} {:>12} {:>10} {:>10} {:>10} {:>11} {:>12} {:>7}\n",
        "peers",
        "load",
        "in flight",
        "delivered/s",
        "updates/s",
        "client µs",
        "peers µs",
        "p99",
        "client RSS",
        "peers RSS",
        "errors"
    );
    for r in rows {
        let updates = r.result.updates.count() as f64 / r.result.elapsed.as_secs_f64();
        out += &format!(
            "{:<6} {:<12} {:>8} {:>16} {:>12} {:>10.2} {:>10.2} {:>10} {:>11} {:>12} {:>7}\n",
            r.peers,
            r.variant(),
            group((r.chains * r.fan_out) as u64),
            group(r.rate() as u64),
            group(updates as u64),
            r.client_us(),
            r.listener_us(),
            format!("{:.2}ms", r.result.updates.quantile(0.99) as f64 / 1e6),
            bytes(r.client_rss as f64),
            bytes(r.listener_rss as f64),
            r.result.errors,
        );
    }
    for r in rows.iter().filter(|r| r.result.errors > 0) {
        out += &format!(
            "peers {} {}: {} errors; first: {}\n",
            r.peers,
            r.variant(),
            r.result.errors,
            r.result.first_error.as_deref().unwrap_or("?")
        );
    }
    out + &against_one_peer(rows)
}

/// The target: CPU per delivered update with the most peers against one. Each row of the
/// most peers is compared with the 1-peer row run last before it, so `--peers 1,64,1,64`
/// gives pairs run side by side (this VM's speed drifts by up to 2x from minute to
/// minute, more than the difference measured); with more than one pair, their median.
fn against_one_peer(rows: &[PeerRow]) -> String {
    let most = rows.iter().map(|r| r.peers).max().unwrap_or(1);
    let growth = |a: f64, b: f64| (a / b.max(1e-9) - 1.0) * 100.0;
    let mut out = String::new();
    let mut pairs: Vec<(String, f64)> = Vec::new();
    let mut one: Option<&PeerRow> = None;
    for r in rows {
        if r.peers == 1 {
            one = Some(r);
            continue;
        }
        let Some(one) = one.filter(|_| r.peers == most) else { continue };
        let client = growth(r.client_us(), one.client_us());
        pairs.push((r.variant(), client));
        out += &format!(
            "{} peers, {}: client CPU µs per delivered update {:.2} vs {:.2} with 1 peer ({:+.0} %); \
             client + peers {:.2} vs {:.2} ({:+.0} %)\n",
            r.peers,
            r.variant(),
            r.client_us(),
            one.client_us(),
            client,
            r.client_us() + r.listener_us(),
            one.client_us() + one.listener_us(),
            growth(r.client_us() + r.listener_us(), one.client_us() + one.listener_us()),
        );
    }
    let mut variants: Vec<&str> = Vec::new();
    for (variant, _) in &pairs {
        if !variants.contains(&variant.as_str()) {
            variants.push(variant);
        }
    }
    for variant in variants {
        let mut growths: Vec<f64> = pairs.iter().filter(|(v, _)| v == variant).map(|(_, g)| *g).collect();
        if growths.len() < 2 {
            continue;
        }
        growths.sort_by(f64::total_cmp);
        let median = median(&growths);
        let each: Vec<String> = growths.iter().map(|g| format!("{g:+.0}")).collect();
        out += &format!(
            "{most} peers, {variant}: client CPU per update over 1 peer, {} pairs: {} %; median {median:+.0} %\n",
            growths.len(),
            each.join(", ")
        );
    }
    out
}

/// The median of sorted `values` (not empty).
fn median(values: &[f64]) -> f64 {
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

pub fn json(rows: &[PeerRow]) -> Value {
    rows.iter()
        .map(|r| {
            json!({
                "peers": r.peers,
                "fan-out": r.fan_out,
                "in-flight": r.chains * r.fan_out,
                "seconds": (r.result.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
                "delivered-per-second": r.rate().round(),
                "updates": r.result.updates.count(),
                "delivered": r.result.delivered,
                "client-cpu-us-per-delivered": (r.client_us() * 100.0).round() / 100.0,
                "peers-cpu-us-per-delivered": (r.listener_us() * 100.0).round() / 100.0,
                "update-latency-us": { "p50": r.result.updates.quantile(0.5) / 1000, "p99": r.result.updates.quantile(0.99) / 1000 },
                "client-rss-bytes": r.client_rss,
                "peers-rss-bytes": r.listener_rss,
                "errors": r.result.errors,
                "first-error": r.result.first_error,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[1.0, 5.0, 9.0]), 5.0);
        assert_eq!(median(&[1.0, 3.0, 5.0, 9.0]), 4.0);
    }
}
