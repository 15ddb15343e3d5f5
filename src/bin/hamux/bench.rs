//! `hamux bench`: a listener and a client on loopback in one process, scenario by scenario.

use crate::capi::Client;
use crate::driver::{self, LoadSpec};
use crate::handler::{LeaseListener, ListenerSettings};
use crate::report::{self, Row};
use serde_json::json;
use std::time::Duration;

/// The load settings shared by `bench` and `send`.
pub struct Load {
    pub duration: Duration,
    pub connections: usize,
    pub window: usize,
    pub body_size: usize,
    pub io_threads: usize,
}

pub struct BenchOptions {
    pub load: Load,
    pub handler_threads: usize,
    pub scenarios: Vec<Scenario>,
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// `--connections` connections, `--window` requests in flight.
    Pipelined,
    /// The same over one connection.
    PipelinedOneConn,
    /// One request at a time on one connection: the in-order baseline.
    OneAtATime,
    /// Pipelined on one connection, 1% of the requests answered 50 ms late.
    HeadOfLine,
}

impl Scenario {
    pub const ALL: [Scenario; 4] =
        [Scenario::Pipelined, Scenario::PipelinedOneConn, Scenario::OneAtATime, Scenario::HeadOfLine];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Pipelined => "pipelined",
            Scenario::PipelinedOneConn => "pipelined-1conn",
            Scenario::OneAtATime => "one-at-a-time",
            Scenario::HeadOfLine => "head-of-line",
        }
    }

    pub fn parse(name: &str) -> Result<Scenario, String> {
        Scenario::ALL.into_iter().find(|s| s.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
            format!("unknown scenario '{name}' (expected one of: {})", names.join(", "))
        })
    }

    /// Connections and window for this scenario under `load`.
    fn shape(self, load: &Load) -> (usize, usize) {
        match self {
            Scenario::Pipelined => (load.connections, load.window),
            Scenario::PipelinedOneConn | Scenario::HeadOfLine => (1, load.window),
            Scenario::OneAtATime => (1, 1),
        }
    }
}

/// The client configuration for `connections` connections carrying `window` requests.
pub fn client_config(io_threads: usize, connections: usize, window: usize) -> String {
    // At most `window` requests are in flight: hamux frees a request's slot before its
    // callback runs, so the callback's next send always fits.
    let max_in_flight = window.clamp(4096, 16 * 1024 * 1024);
    json!({
        "io-threads": io_threads,
        "connections-per-peer": connections,
        "max-in-flight": max_in_flight,
    })
    .to_string()
}

/// Runs one closed-loop scenario with a fresh client.
pub fn run_load(
    url: &str,
    name: &str,
    connections: usize,
    window: usize,
    load: &Load,
    split_slow: bool,
) -> Result<Row, String> {
    let client = Client::new(&client_config(load.io_threads, connections, window))?;
    driver::warm_up(&client, url, connections, load.body_size)?;
    let spec =
        LoadSpec { label: name, url, window, duration: load.duration, body_size: load.body_size, split_slow };
    let result = driver::run(&client, &spec)?;
    Ok(Row { name: name.to_string(), connections, window, result })
}

pub fn run(o: &BenchOptions) -> Result<(), String> {
    let load = &o.load;
    let listener = LeaseListener::start(&ListenerSettings {
        address: "127.0.0.1".into(),
        port: 0,
        io_threads: load.io_threads,
        handler_threads: o.handler_threads,
        max_pending: (load.window * 2).max(4096),
    })?;
    let url = format!("hamux://127.0.0.1:{}", listener.port());
    if !o.json {
        println!(
            "hamux {} bench: {:.1} s per scenario, body {} bytes, io-threads {} (client and listener), \
             handler-threads {}",
            hamux::VERSION,
            load.duration.as_secs_f64(),
            load.body_size,
            load.io_threads,
            o.handler_threads
        );
    }
    let mut rows = Vec::new();
    for &scenario in &o.scenarios {
        let (connections, window) = scenario.shape(load);
        let hol = scenario == Scenario::HeadOfLine;
        listener.handler().set_slow_mode(hol);
        rows.push(run_load(&url, scenario.name(), connections, window, load, hol)?);
        listener.handler().set_slow_mode(false);
    }
    let handler = listener.handler();
    let leases = handler.leases();
    let bad = handler.bad_commands.load(std::sync::atomic::Ordering::Relaxed);
    let lost = handler.respond_failures.load(std::sync::atomic::Ordering::Relaxed);
    if o.json {
        let v = json!({
            "hamux-version": hamux::VERSION,
            "settings": {
                "seconds": load.duration.as_secs_f64(),
                "connections": load.connections,
                "window": load.window,
                "body-size": load.body_size,
                "io-threads": load.io_threads,
                "handler-threads": o.handler_threads,
            },
            "scenarios": rows.iter().map(report::row_json).collect::<Vec<_>>(),
            "listener": { "leases": leases, "bad-commands": bad, "respond-failures": lost },
        });
        println!("{v}");
    } else {
        print!("{}", report::table(&rows));
        println!(
            "CPU µs/rt: process CPU (client + listener) per round trip. Listener: {leases} leases stored, \
             {bad} bad commands, {lost} answers refused."
        );
    }
    report::check_errors(&rows)
}
