//! `hamux bench --soak SECONDS [--faults]`: a long closed-loop run against a `hamux
//! listen` child process that proves every accepted request gets exactly one callback.
//! With `--faults` the peer is killed (SIGKILL) and stopped gracefully (SIGTERM) at random
//! and restarted on the same port, and a second thread opens garbage connections to it,
//! all while the load runs. At the end the load stops, the peer is left up, in-flight
//! requests get a generous drain, and the tally is checked: lost (accepted, never called
//! back) and duplicated (called back twice) must both be 0.

use crate::bench::Load;
use crate::capi::Client;
use crate::faults::{self, Dice, FaultCounts, Phases};
use crate::garbage;
use crate::progress::group;
use crate::soak_load::SoakLoad;
use crate::tally::{Tally, BAD_REPLY};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};
use testkit::peer_process::PeerSpec;
use testkit::process::peak_rss;

pub struct SoakOptions {
    pub duration: Duration,
    pub faults: bool,
    pub seed: Option<u64>,
    pub load: Load,
    pub handler_threads: usize,
}

/// Each request's deadline; a SIGKILLed peer's connections are reset by the kernel, so
/// requests fail with CONNECT long before this.
const REQUEST_TIMEOUT_MS: u64 = 5000;
/// How long the final drain waits for the last callbacks: far beyond any deadline.
const FINAL_DRAIN: Duration = Duration::from_secs(60);
/// How long a chain whose request failed waits before it sends again.
const PARK: Duration = Duration::from_millis(10);

fn client_config(load: &Load) -> String {
    json!({
        "io-threads": load.io_threads,
        "connections-per-peer": load.connections,
        "max-in-flight": load.window.max(4096),
        "request-timeout-ms": REQUEST_TIMEOUT_MS,
        "connect-timeout-ms": 1000,
    })
    .to_string()
}

pub fn run(o: &SoakOptions) -> Result<(), String> {
    let seed = o.seed.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    // The peer is this very binary, run as `hamux listen`.
    let hamux = std::env::current_exe().map_err(|e| format!("cannot find the hamux binary: {e}"))?;
    let spec = PeerSpec { hamux, io_threads: o.load.io_threads, handler_threads: o.handler_threads };
    let counts = FaultCounts::default();
    let phases = Phases { stop_faults: AtomicBool::new(false), drained: AtomicBool::new(false) };
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        let fault_thread = s.spawn(|| {
            let mut dice = Dice::new(seed);
            let ran = faults::run(&spec, o.faults, &mut dice, &phases, &counts, port_tx);
            if let Err(e) = &ran {
                eprintln!("soak: {e}");
            }
            ran
        });
        let Ok(port) = port_rx.recv() else {
            return Err(fault_thread.join().map_or_else(
                |_| "the fault thread panicked".into(),
                |r| r.err().unwrap_or_else(|| "the peer did not start".into()),
            ));
        };
        let ran = soak_against(port, o, seed, &phases, &counts, s);
        phases.stop_faults.store(true, Relaxed);
        phases.drained.store(true, Relaxed);
        let stopped = fault_thread.join().map_err(|_| "the fault thread panicked".to_string());
        let summary = ran?;
        println!("{}", summary.line);
        stopped??;
        summary.verdict()
    })
}

/// Runs the load against the peer at `port` and the garbage injector; returns the summary
/// once the final drain is over (the client freed).
fn soak_against<'scope>(
    port: u16,
    o: &'scope SoakOptions,
    seed: u64,
    phases: &'scope Phases,
    counts: &'scope FaultCounts,
    s: &'scope std::thread::Scope<'scope, '_>,
) -> Result<Summary, String> {
    let url = format!("hamux://127.0.0.1:{port}");
    eprintln!(
        "soak: {:.0} s against 'hamux listen' at {url}, {} connections, window {}, faults {}, seed {seed}",
        o.duration.as_secs_f64(),
        o.load.connections,
        o.load.window,
        if o.faults { "on" } else { "off" },
    );
    let client = Client::new(&client_config(&o.load))?;
    let load = SoakLoad::new(client, &url, o.load.window, o.load.body_size, &o.load.subnet)?;
    let garbage_thread = o
        .faults
        .then(|| s.spawn(move || garbage::run(port, seed ^ 0x5555, &phases.stop_faults, &counts.garbage)));
    let started = Instant::now();
    load.start();
    drive(&load, o.duration, started, counts);
    load.stop();
    phases.stop_faults.store(true, Relaxed);
    if let Some(t) = garbage_thread {
        let _ = t.join();
    }
    // The fault thread keeps the peer up now: whatever is in flight completes (or times
    // out) during this drain.
    let give_up = Instant::now() + FINAL_DRAIN;
    while load.in_flight() > 0 && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(1));
    }
    let summary = Summary::of(load.tally(), counts, started.elapsed(), load.in_flight());
    drop(load); // frees the client: callbacks still due run now
    Ok(summary)
}

/// Runs the load for `duration`: relaunches parked chains, prints progress each second.
fn drive(load: &SoakLoad, duration: Duration, started: Instant, counts: &FaultCounts) {
    let end = started + duration;
    let mut report = started + Duration::from_secs(1);
    while Instant::now() < end {
        load.relaunch_parked(PARK);
        if Instant::now() >= report {
            let t = load.tally();
            eprintln!(
                "soak {:>6.1} s  sent {:>12}  ok {:>12}  error {:>9}  in flight {:>5}  killed {} stopped {} garbage {}",
                started.elapsed().as_secs_f64(),
                group(t.sent.load(Relaxed)),
                group(t.ok()),
                group(t.errors()),
                load.in_flight(),
                counts.killed.load(Relaxed),
                counts.terminated.load(Relaxed),
                group(counts.garbage.load(Relaxed)),
            );
            report += Duration::from_secs(1);
        }
        std::thread::sleep(PARK / 2);
    }
}

/// The soak's one-line result and whether it passed.
struct Summary {
    line: String,
    failures: Vec<String>,
}

fn megabytes(bytes: u64) -> String {
    format!("{} MB", (bytes + (1 << 19)) >> 20)
}

impl Summary {
    fn of(t: &Tally, counts: &FaultCounts, elapsed: Duration, in_flight_left: usize) -> Summary {
        let (lost, unexpected) = t.accepted.differences(&t.called_back);
        let duplicated = t.duplicated.load(Relaxed);
        let mut kinds = Vec::new();
        for slot in 1..=BAD_REPLY {
            let n = t.outcome(slot);
            if n > 0 {
                let label = match hamux::Status::from_code(slot as u32) {
                    Some(status) => status.label(),
                    None => "bad-reply",
                };
                kinds.push(format!("{label} {}", group(n)));
            }
        }
        let errors = if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) };
        let peer_rss = counts.peer_peak_rss.load(Relaxed);
        let mut line = format!(
            "soak: {:.0} s, sent {}, ok {}, error {}{errors}, lost {}, duplicated {}, peak RSS {} (peer {})",
            elapsed.as_secs_f64(),
            group(t.sent.load(Relaxed)),
            group(t.ok()),
            group(t.errors()),
            group(lost),
            group(duplicated),
            megabytes(peak_rss("self").unwrap_or(0)),
            megabytes(peer_rss),
        );
        let (killed, stopped) = (counts.killed.load(Relaxed), counts.terminated.load(Relaxed));
        let garbage = counts.garbage.load(Relaxed);
        if killed + stopped + garbage > 0 {
            line += &format!(
                "; faults: {killed} SIGKILL, {stopped} SIGTERM, {} garbage connections",
                group(garbage)
            );
        }
        let crashes = counts.crashes.load(Relaxed);
        let unclean = counts.unclean_stops.load(Relaxed);
        if unclean > 0 {
            line += &format!(", unfinished graceful stops {unclean}");
        }
        if unexpected > 0 {
            line += &format!(", unexpected callbacks {}", group(unexpected));
        }
        if crashes > 0 {
            line += &format!(", peer crashes {crashes}");
        }
        let mut failures = Vec::new();
        for (n, what) in [
            (lost, "requests lost (accepted, never called back)"),
            (duplicated, "requests called back twice"),
            (unexpected, "callbacks for requests never accepted"),
            (crashes, "peer crashes (exits nobody asked for)"),
            (unclean, "graceful stops (SIGTERM) that did not exit cleanly within 15 s"),
        ] {
            if n > 0 {
                failures.push(format!("{n} {what}"));
            }
        }
        if in_flight_left > 0 {
            failures.push(format!("{in_flight_left} still in flight after the final drain"));
        }
        let refused = t.refused.load(Relaxed);
        if refused > 0 {
            line += &format!(", {} sends refused", group(refused));
        }
        Summary { line, failures }
    }

    fn verdict(&self) -> Result<(), String> {
        if self.failures.is_empty() {
            Ok(())
        } else {
            Err(self.failures.join("; "))
        }
    }
}
