//! `--scenario connections`: one listener (in a child process) holding N idle `hamux://`
//! connections while an active client runs the pipelined load (`--connections`,
//! `--window`) beside them. Per N, in one go: the active load alone, then N idle
//! connections opened by child processes ([`IdleHolders`]; each connection carried two
//! requests, then nothing but its client's keep-alive pings), the same load again, and
//! what the idle connections cost their clients and the listener in resident memory. Each N gets a fresh listener process, so its memory
//! baseline is not what an earlier N left behind.

use super::idle_holders::IdleHolders;
use super::listeners::{ListenerProcess, ListenerSpec};
use super::process_stats::bytes;
use crate::bench::{client_config, Load};
use crate::capi::Client;
use crate::driver::{self, LoadSpec};
use crate::progress::group;
use crate::report::Row;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub struct ConnectionRow {
    pub idle: usize,
    /// The active load without the idle connections, then with them.
    pub alone: Row,
    pub beside_idle: Row,
    /// The listener process's CPU during each of the two runs.
    pub listener_cpu: (Duration, Duration),
    /// Resident memory of the idle connections' clients (the holder processes, summed)
    /// and of the listener process, before the idle connections were opened and with
    /// them open.
    pub client_rss: (u64, u64),
    pub listener_rss: (u64, u64),
    /// How long opening them took.
    pub open_time: Duration,
}

impl ConnectionRow {
    pub fn ratio(&self) -> f64 {
        self.beside_idle.rate() / self.alone.rate().max(1e-9)
    }

    fn per_idle((before, after): (u64, u64), idle: usize) -> f64 {
        (after as f64 - before as f64) / idle.max(1) as f64
    }

    pub fn client_per_idle(&self) -> f64 {
        Self::per_idle(self.client_rss, self.idle)
    }

    pub fn listener_per_idle(&self) -> f64 {
        Self::per_idle(self.listener_rss, self.idle)
    }
}

fn us_per(cpu: Duration, row: &Row) -> f64 {
    cpu.as_secs_f64() * 1e6 / row.result.completed().max(1) as f64
}

fn cpu_us(row: &Row) -> f64 {
    us_per(row.result.cpu, row)
}

/// Runs the active load once on `client`, returning the row and the listener's CPU.
fn active_run(
    client: &Client,
    url: &str,
    load: &Load,
    label: &str,
    peer: &ListenerProcess,
) -> Result<(Row, Duration), String> {
    let spec = LoadSpec {
        label,
        url,
        window: load.window,
        duration: load.duration,
        body_size: load.body_size,
        subnet: load.subnet,
        split_slow: false,
    };
    let before = peer.cpu();
    let result = driver::run(client, &spec)?;
    Ok((Row::new(label, load.connections, load.window, result), peer.cpu().saturating_sub(before)))
}

/// Per N of `counts`; `limit` is the descriptor limit (see [`IdleHolders`]).
pub fn run(load: &Load, counts: &[usize], limit: u64) -> Result<Vec<ConnectionRow>, String> {
    let mut rows = Vec::new();
    for &n in counts {
        let peer = ListenerProcess::start(&ListenerSpec {
            listeners: 1,
            io_threads: load.io_threads,
            max_connections: n + load.connections + 64,
        })?;
        let url = peer.urls[0].clone();
        let client = Client::new(&client_config(load, load.connections, load.window))?;
        let warm = LoadSpec {
            label: "warm-up",
            url: &url,
            window: 1,
            duration: Duration::ZERO,
            body_size: load.body_size,
            subnet: load.subnet,
            split_slow: false,
        };
        driver::warm_up(&client, &warm, load.connections)?;
        let (alone, alone_cpu) =
            active_run(&client, &url, load, &format!("{} idle: without", group(n as u64)), &peer)?;
        let listener_before = peer.rss();
        let opening = Instant::now();
        let idle = IdleHolders::open(&url, n, load.body_size, limit)?;
        let open_time = opening.elapsed();
        let listener_after = peer.rss();
        let (beside_idle, beside_cpu) =
            active_run(&client, &url, load, &format!("{} idle: with", group(n as u64)), &peer)?;
        let client_rss = idle.rss;
        drop(idle);
        drop(client);
        rows.push(ConnectionRow {
            idle: n,
            alone,
            beside_idle,
            listener_cpu: (alone_cpu, beside_cpu),
            client_rss,
            listener_rss: (listener_before, listener_after),
            open_time,
        });
    }
    Ok(rows)
}

pub fn table(rows: &[ConnectionRow]) -> String {
    let mut out = format!(
        "{:<7} {:>14} {:>14} {:>7} {:>17} {:>17} {:>12} {:>13} {:>9} {:>7}\n",
        "idle",
        "rt/s without",
        "rt/s with",
        "ratio",
        "client µs/rt",
        "listener µs/rt",
        "client/idle",
        "listener/idle",
        "opened in",
        "errors"
    );
    for r in rows {
        out += &format!(
            "{:<7} {:>14} {:>14} {:>6.0}% {:>17} {:>17} {:>12} {:>13} {:>8.1}s {:>7}\n",
            group(r.idle as u64),
            group(r.alone.rate() as u64),
            group(r.beside_idle.rate() as u64),
            r.ratio() * 100.0,
            format!("{:.2} → {:.2}", cpu_us(&r.alone), cpu_us(&r.beside_idle)),
            format!(
                "{:.2} → {:.2}",
                us_per(r.listener_cpu.0, &r.alone),
                us_per(r.listener_cpu.1, &r.beside_idle)
            ),
            bytes(r.client_per_idle()),
            bytes(r.listener_per_idle()),
            r.open_time.as_secs_f64(),
            r.alone.result.errors + r.beside_idle.result.errors,
        );
    }
    for r in rows {
        for row in [&r.alone, &r.beside_idle].into_iter().filter(|row| row.result.errors > 0) {
            let first = row.result.first_error.as_deref().unwrap_or("?");
            out += &format!("{}: {} errors; first: {first}\n", row.name, row.result.errors);
        }
    }
    out += "client/idle, listener/idle: resident memory (VmRSS) with the idle connections open minus \
            before, per idle connection, in the processes holding their clients and in the listener process.\n";
    out
}

pub fn json(rows: &[ConnectionRow]) -> Value {
    rows.iter()
        .map(|r| {
            json!({
                "idle-connections": r.idle,
                "without-idle": crate::report::row_json(&r.alone),
                "with-idle": crate::report::row_json(&r.beside_idle),
                "ratio": (r.ratio() * 1000.0).round() / 1000.0,
                "listener-cpu-us-per-round-trip": [
                    (us_per(r.listener_cpu.0, &r.alone) * 100.0).round() / 100.0,
                    (us_per(r.listener_cpu.1, &r.beside_idle) * 100.0).round() / 100.0,
                ],
                "client-rss-bytes": [r.client_rss.0, r.client_rss.1],
                "listener-rss-bytes": [r.listener_rss.0, r.listener_rss.1],
                "client-bytes-per-idle-connection": r.client_per_idle().round(),
                "listener-bytes-per-idle-connection": r.listener_per_idle().round(),
                "open-seconds": (r.open_time.as_secs_f64() * 1000.0).round() / 1000.0,
            })
        })
        .collect()
}
