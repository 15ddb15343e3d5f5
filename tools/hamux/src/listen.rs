//! `hamux listen`: the lease-storing listener as a process of its own.

use crate::handler::{LeaseListener, ListenerSettings};
use crate::progress::group;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub struct ListenOptions {
    pub settings: ListenerSettings,
    pub duration: Option<Duration>,
    /// How many listeners this process runs (`--listeners`, for `bench --scenario
    /// peers`: N peers in one process); each on its own port (with `--port 0`) or, when
    /// a port is given, on consecutive ports from it.
    pub listeners: usize,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn stop_on_signals() {
    let handler = on_signal as extern "C" fn(libc::c_int);
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
    }
}

pub fn run(o: &ListenOptions) -> Result<(), String> {
    stop_on_signals();
    let mut listeners = Vec::with_capacity(o.listeners);
    for i in 0..o.listeners {
        let port = if o.settings.port == 0 {
            0
        } else {
            o.settings.port.checked_add(i as u16).ok_or("port out of range")?
        };
        listeners.push(LeaseListener::start(&ListenerSettings { port, ..o.settings.clone() })?);
    }
    let address = &o.settings.address;
    let host = if address.contains(':') { format!("[{address}]") } else { address.clone() };
    // One URL a line, the first listener's first: what the bench and the tests read.
    for listener in &listeners {
        println!("hamux://{host}:{}", listener.port());
    }
    let _ = std::io::stdout().flush();
    let ports: Vec<String> = listeners.iter().map(|l| l.port().to_string()).collect();
    eprintln!(
        "hamux listen: port {}, io-threads {}, handler-threads {}; stats every second; Ctrl-C stops",
        ports.join(","),
        o.settings.io_threads,
        o.settings.handler_threads
    );
    let start = Instant::now();
    let stop_at = o.duration.map(|d| start + d);
    let (mut previous, mut previous_at) = (0u64, start);
    let mut tick = start;
    loop {
        tick += Duration::from_secs(1);
        let until = stop_at.map_or(tick, |s| s.min(tick));
        while !STOP.load(Ordering::Relaxed) && Instant::now() < until {
            std::thread::sleep(
                until.saturating_duration_since(Instant::now()).min(Duration::from_millis(50)),
            );
        }
        let stats: Vec<serde_json::Value> =
            listeners.iter().map(|l| l.listener().stats().unwrap_or_default()).collect();
        let num = |key: &str| stats.iter().map(|s| s[key].as_u64().unwrap_or(0)).sum::<u64>();
        let (requests, now) = (num("requests"), Instant::now());
        let rate = requests.saturating_sub(previous) as f64 / (now - previous_at).as_secs_f64().max(1e-3);
        eprintln!(
            "{:>7.1}s  requests {:>12} ({:>9}/s)  responses {:>12}  errors {}  connections {}  leases {}  out-of-descriptors {}",
            (now - start).as_secs_f64(),
            group(requests),
            group(rate as u64),
            group(num("responses")),
            num("error-responses") + num("protocol-errors"),
            num("connections-open"),
            group(listeners.iter().map(|l| l.handler().leases() as u64).sum()),
            num("out-of-descriptors"),
        );
        (previous, previous_at) = (requests, now);
        if STOP.load(Ordering::Relaxed) || stop_at.is_some_and(|s| now >= s) {
            break;
        }
    }
    drop(listeners);
    eprintln!("hamux listen: stopped after {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
