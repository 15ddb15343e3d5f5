//! `hamux bench`: scenario by scenario, a closed-loop client against a listener on
//! loopback in the same process, or with `--target` against a peer running elsewhere.

use crate::baseline::Baseline;
use crate::capi::Client;
use crate::compare::{self, KeaOutcome};
use crate::driver::{self, LoadSpec};
use crate::handler::{LeaseListener, ListenerSettings};
use crate::paired::Pair;
use crate::report::{self, Row};
use crate::subnet::Subnet;
use serde_json::{json, Value};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// The load settings shared by `bench` and `send`.
pub struct Load {
    pub duration: Duration,
    /// Connections and requests in flight over `hamux://`.
    pub connections: usize,
    pub window: usize,
    /// Connections over `http://`; as each carries one request at a time, also the window.
    pub http_connections: usize,
    pub body_size: usize,
    pub io_threads: usize,
    pub subnet: Subnet,
    /// `--tls`: TLS keys for the client's configuration (the peer URLs are then
    /// `hamuxs://` and `https://`).
    pub tls: Option<Value>,
}

pub struct BenchOptions {
    pub load: Load,
    pub handler_threads: usize,
    pub scenarios: Vec<Scenario>,
    /// Drive this peer instead of a listener in this process.
    pub target: Option<String>,
    pub json: bool,
    /// Run the run-to-completion loop after each `hamux://` scenario (not `--no-baseline`;
    /// never with `--target` or `--tls`, where it would not carry the same load).
    pub baseline: bool,
    /// Competing busy processes of `pipelined-loaded`.
    pub busy_processes: usize,
}

/// How a scenario reaches its listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Hamux,
    Http,
}

impl Transport {
    /// The transport of a peer URL, from its scheme.
    pub fn of(url: &str) -> Option<Transport> {
        let scheme = url.split_once("://")?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "hamux" => Some(Transport::Hamux),
            "http" => Some(Transport::Http),
            _ => None,
        }
    }
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
    /// HTTP/1.1 over `--http-connections` connections, one request on each at a time.
    Http,
    /// Pipelined while busy processes (one per core by default) compete for the CPUs.
    PipelinedLoaded,
    /// The HTTP load against a real kea-dhcp4 and against the hamux listener.
    Kea,
    /// Real kea-dhcp4 servers under DHCP load: no HA, Kea's HA, the hook (runs alone).
    KeaE2e,
    /// One kea-dhcp4 with the hook as the backup of N simulated primaries (runs alone;
    /// `scale::hub`).
    KeaHub,
    /// One client, N listeners: cost per delivered update against N (with `connections`
    /// only; `scale`).
    Peers,
    /// One listener holding N idle connections beside an active load (`scale`).
    Connections,
}

impl Scenario {
    /// Every scenario; those before `kea` run by default.
    pub const ALL: [Scenario; 11] = [
        Scenario::Pipelined,
        Scenario::PipelinedOneConn,
        Scenario::OneAtATime,
        Scenario::HeadOfLine,
        Scenario::Http,
        Scenario::PipelinedLoaded,
        Scenario::Kea,
        Scenario::KeaE2e,
        Scenario::KeaHub,
        Scenario::Peers,
        Scenario::Connections,
    ];
    const DEFAULT: usize = 6;

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Pipelined => "pipelined",
            Scenario::PipelinedOneConn => "pipelined-1conn",
            Scenario::OneAtATime => "one-at-a-time",
            Scenario::HeadOfLine => "head-of-line",
            Scenario::Http => "http",
            Scenario::PipelinedLoaded => "pipelined-loaded",
            Scenario::Kea => "kea",
            Scenario::KeaE2e => "kea-e2e",
            Scenario::KeaHub => "kea-hub",
            Scenario::Peers => "peers",
            Scenario::Connections => "connections",
        }
    }

    pub fn parse(name: &str) -> Result<Scenario, String> {
        Scenario::ALL.into_iter().find(|s| s.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
            format!("unknown scenario '{name}' (expected one of: {})", names.join(", "))
        })
    }

    fn transport(self) -> Transport {
        match self {
            Scenario::Http | Scenario::Kea | Scenario::KeaE2e => Transport::Http,
            _ => Transport::Hamux,
        }
    }

    /// Needs the listener in this process (its late answers, the side-by-side run, or the
    /// load on this machine).
    fn needs_own_listener(self) -> bool {
        matches!(
            self,
            Scenario::HeadOfLine
                | Scenario::PipelinedLoaded
                | Scenario::Kea
                | Scenario::KeaE2e
                | Scenario::KeaHub
                | Scenario::Peers
                | Scenario::Connections
        )
    }

    /// Has a run-to-completion loop counterpart: the plain `hamux://` loads and `http`
    /// (head-of-line's late answers are the listener's, so it has none).
    fn has_baseline(self) -> bool {
        matches!(
            self,
            Scenario::Pipelined
                | Scenario::PipelinedOneConn
                | Scenario::OneAtATime
                | Scenario::Http
                | Scenario::PipelinedLoaded
        )
    }

    /// Connections and window for this scenario under `load`.
    fn shape(self, load: &Load) -> (usize, usize) {
        match self {
            Scenario::Pipelined | Scenario::PipelinedLoaded => (load.connections, load.window),
            Scenario::PipelinedOneConn | Scenario::HeadOfLine => (1, load.window),
            Scenario::OneAtATime | Scenario::KeaE2e | Scenario::KeaHub => (1, 1),
            Scenario::Peers | Scenario::Connections => (load.connections, load.window),
            Scenario::Http | Scenario::Kea => (load.http_connections, load.http_connections),
        }
    }
}

/// The scenarios to run: those named (checked against the target), or by default every
/// scenario but `kea` and `kea-e2e` (without a target) or those the target's transport
/// can run.
pub fn select(named: Vec<Scenario>, target: Option<&str>) -> Result<Vec<Scenario>, String> {
    let Some(url) = target else {
        return Ok(if named.is_empty() { Scenario::ALL[..Scenario::DEFAULT].to_vec() } else { named });
    };
    let transport = Transport::of(url).ok_or_else(|| {
        format!("--target must be a hamux://HOST:PORT or http://HOST:PORT/ URL, got '{url}'")
    })?;
    let fits = |s: &Scenario| s.transport() == transport && !s.needs_own_listener();
    if named.is_empty() {
        return Ok(Scenario::ALL.into_iter().filter(fits).collect());
    }
    match named.iter().find(|s| !fits(s)) {
        Some(s) if s.needs_own_listener() => {
            Err(format!("scenario '{}' needs the listener in this process; drop --target", s.name()))
        }
        Some(s) => Err(format!("scenario '{}' does not use the transport of --target {url}", s.name())),
        None => Ok(named),
    }
}

/// The client configuration for `connections` connections carrying `window` requests.
pub fn client_config(load: &Load, connections: usize, window: usize) -> String {
    // At most `window` requests are in flight: hamux frees a request's slot before its
    // callback runs, so the callback's next send always fits.
    let max_in_flight = window.clamp(4096, 16 * 1024 * 1024);
    let mut config = json!({
        "io-threads": load.io_threads,
        "connections-per-peer": connections,
        "max-in-flight": max_in_flight,
    });
    if let (Some(tls), Some(config)) = (&load.tls, config.as_object_mut()) {
        config.extend(tls.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
    }
    config.to_string()
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
    let client = Client::new(&client_config(load, connections, window))?;
    let spec = LoadSpec {
        label: name,
        url,
        window,
        duration: load.duration,
        body_size: load.body_size,
        subnet: load.subnet,
        split_slow,
    };
    driver::warm_up(&client, &spec, connections)?;
    let result = driver::run(&client, &spec)?;
    Ok(Row::new(name, connections, window, result))
}

pub fn run(o: &BenchOptions) -> Result<(), String> {
    let load = &o.load;
    let listener = match o.target {
        Some(_) => None,
        None => Some(LeaseListener::start(&ListenerSettings {
            address: "127.0.0.1".into(),
            port: 0,
            io_threads: load.io_threads,
            handler_threads: o.handler_threads,
            max_pending: (load.window.max(load.http_connections) * 2).max(4096),
            max_connections: None,
            tls: load.tls.clone(),
        })?),
    };
    let wants_loop = o.baseline && o.target.is_none() && load.tls.is_none();
    let mut baseline = match wants_loop && o.scenarios.iter().any(|s| s.has_baseline()) {
        true => Some(Baseline::start(load.io_threads, load.body_size)?),
        false => None,
    };
    let s = if load.tls.is_some() { "s" } else { "" };
    let url = |t: Transport| match (&o.target, &listener) {
        (Some(target), _) => target.clone(),
        (None, Some(l)) if t == Transport::Hamux => format!("hamux{s}://127.0.0.1:{}", l.port()),
        (None, Some(l)) => format!("http{s}://127.0.0.1:{}/", l.port()),
        (None, None) => unreachable!("a listener runs when there is no target"),
    };
    if !o.json {
        println!("{}", header(o, baseline.is_some()));
    }
    let mut rows = Vec::new();
    let mut kea = None;
    for &scenario in &o.scenarios {
        let (connections, window) = scenario.shape(load);
        if scenario == Scenario::Kea {
            let outcome = compare::run(&url(Transport::Http), load, &mut rows)?;
            if let (KeaOutcome::Skipped(why), false) = (&outcome, o.json) {
                eprintln!("kea: skipped: {why}");
            }
            kea = Some(outcome);
            continue;
        }
        if rows.iter().any(|r| r.name == scenario.name()) {
            continue; // pipelined, already measured as pipelined-loaded's reference
        }
        let scenario_url = url(scenario.transport());
        let mut pair = Pair {
            url: &scenario_url,
            load,
            baseline: baseline.as_mut().filter(|_| scenario.has_baseline()),
        };
        if scenario == Scenario::PipelinedLoaded {
            let unloaded = Scenario::Pipelined.name();
            let row =
                pair.loaded(scenario.name(), (connections, window), o.busy_processes, &mut rows, unloaded)?;
            rows.push(row);
            continue;
        }
        if scenario.has_baseline() {
            rows.push(pair.scenario(scenario.name(), (connections, window))?);
            continue;
        }
        let hol = scenario == Scenario::HeadOfLine;
        let handler = listener.as_ref().map(|l| l.handler());
        if let Some(h) = handler {
            h.set_slow_mode(hol);
        }
        rows.push(run_load(&url(scenario.transport()), scenario.name(), connections, window, load, hol)?);
        if let Some(h) = handler {
            h.set_slow_mode(false);
        }
    }
    let own = listener.as_ref().map(|l| {
        let h = l.handler();
        (h.leases(), h.bad_commands(), h.respond_failures.load(Relaxed))
    });
    let looped = baseline.as_ref().map(|b| (b.store().len(), b.store().bad_commands.load(Relaxed)));
    if o.json {
        println!("{}", bench_json(o, &rows, own, looped, kea.as_ref()));
    } else {
        print!("{}", report::table(&rows));
        match own {
            Some((leases, bad, lost)) => println!(
                "CPU µs/rt: process CPU (client + listener) per round trip. Listener: {leases} leases \
                 stored, {bad} bad commands, {lost} answers refused."
            ),
            None => println!(
                "CPU µs/rt: this (client) process's CPU per round trip; the target's is not counted."
            ),
        }
        if let Some((leases, bad)) = looped {
            println!(
                "loop: the same load over a run-to-completion epoll loop with hamux's codecs (frames, \
                 or HTTP) and the same handler work, no library; vs loop = hamux's round trips/s as a share of the \
                 loop's. Loop: {leases} leases stored, {bad} bad commands."
            );
        }
        for row in &rows {
            if let Some(line) = report::under_load_summary(row) {
                println!("{line}");
            }
        }
        if let Some(KeaOutcome::Ran(ran)) = &kea {
            println!("{}", compare::summary(ran));
        }
    }
    report::check_errors(&rows)
}

fn header(o: &BenchOptions, with_loop: bool) -> String {
    let load = &o.load;
    let against = match &o.target {
        Some(t) => format!("target {t}"),
        None => format!("listener in this process, handler-threads {}", o.handler_threads),
    };
    let tls = if load.tls.is_some() { ", over mutual TLS (hamuxs://, https://)" } else { "" };
    let with_loop = match with_loop {
        true => "; each hamux:// run and the http run is followed by the run-to-completion loop's (loop)",
        false => "",
    };
    format!(
        "hamux {} bench: {:.1} s per scenario, body {} bytes, leases in {} (subnet-id {}), io-threads {}, {against}{tls}{with_loop}",
        hamux::VERSION,
        load.duration.as_secs_f64(),
        load.body_size,
        load.subnet,
        load.subnet.id,
        load.io_threads,
    )
}

fn bench_json(
    o: &BenchOptions,
    rows: &[Row],
    own: Option<(usize, u64, u64)>,
    looped: Option<(usize, u64)>,
    kea: Option<&KeaOutcome>,
) -> Value {
    let load = &o.load;
    let mut v = json!({
        "hamux-version": hamux::VERSION,
        "settings": {
            "seconds": load.duration.as_secs_f64(),
            "connections": load.connections,
            "window": load.window,
            "http-connections": load.http_connections,
            "body-size": load.body_size,
            "io-threads": load.io_threads,
            "handler-threads": o.handler_threads,
            "subnet": load.subnet.to_string(),
            "subnet-id": load.subnet.id,
            "tls": load.tls.is_some(),
            "baseline": looped.is_some(),
            "busy-processes": o.busy_processes,
        },
        "scenarios": rows.iter().map(report::row_json).collect::<Vec<_>>(),
    });
    if let Some(target) = &o.target {
        v["target"] = target.as_str().into();
    }
    if let Some((leases, bad, lost)) = own {
        v["listener"] = json!({ "leases": leases, "bad-commands": bad, "respond-failures": lost });
    }
    if let Some((leases, bad)) = looped {
        v["baseline"] = json!({ "leases": leases, "bad-commands": bad });
    }
    if let Some(kea) = kea {
        v["kea"] = compare::outcome_json(kea);
    }
    v
}
