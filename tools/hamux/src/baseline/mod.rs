//! The run-to-completion loop `hamux bench` measures hamux against: the same load over
//! the same frames with no library machinery, so every run shows how far the limit is.
//!
//! It mirrors `raw_bench.c` of the peer comparison (../shared/peer-bench): plain epoll
//! over non-blocking loopback sockets, client and server in this process. Server threads
//! read, decode every complete request with hamux's own codec (frames, or HTTP for the
//! `http` scenario, one request in flight per connection), do the listener handler's
//! exact work ([`LeaseStore::apply`]: serde_json parse, 64-shard store, Kea's answer) and
//! write each batch of answers at once; client threads run the driver's closed loop
//! (chains, bodies, lease choice, reply check, latency histogram). What it leaves out is
//! what hamux is for: timeouts, reconnects, in-flight and pending limits, statistics,
//! hand-off to handler threads, the C ABI. An upper bound, not a competitor.

mod client;
mod conn;
mod epoll;
mod server;
mod wire;

use crate::bench::{Load, Transport};
use crate::body::Body;
use crate::cpu;
use crate::driver::LoadResult;
use crate::histogram::Histogram;
use crate::lease_store::LeaseStore;
use crate::progress::Progress;
use crate::report::Row;
use server::Server;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The loop's server (listening on a loopback port of its own) and its lease store.
pub struct Baseline {
    listener: TcpListener,
    server: Server,
    store: Arc<LeaseStore>,
    /// Client threads per run: at most this many (one per connection below it).
    client_threads: usize,
}

impl Baseline {
    /// Starts `threads` server threads (the bench passes `--io-threads`, 2 by default as
    /// in `raw_bench.c`) for bodies of `body_size` bytes.
    pub fn start(threads: usize, body_size: usize) -> Result<Baseline, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("loop: bind: {e}"))?;
        let store = Arc::new(LeaseStore::new());
        let server = Server::start(threads, store.clone(), body_size)?;
        Ok(Baseline { listener, server, store, client_threads: threads.max(1) })
    }

    /// Leases the loop's server stored (over every run) and commands it refused.
    pub fn store(&self) -> &LeaseStore {
        &self.store
    }

    /// One closed-loop run of `connections` connections speaking `wire` carrying `window`
    /// chains, for `load.duration`; the row is named `name`.
    pub fn run(
        &mut self,
        name: &str,
        wire: Transport,
        (connections, window): (usize, usize),
        load: &Load,
    ) -> Result<Row, String> {
        if connections > window {
            return Err(format!("loop: {connections} connections need a window of at least as many"));
        }
        if wire == Transport::Http && connections != window {
            return Err(format!("loop: over HTTP each of the {connections} connections carries one request"));
        }
        let template = Body::new(load.body_size, &load.subnet)?;
        let address = self.listener.local_addr().map_err(|e| format!("loop: {e}"))?;
        let threads = connections.min(self.client_threads);
        let mut per_thread: Vec<Vec<client::ClientConn>> = (0..threads).map(|_| Vec::new()).collect();
        let mut first = 0;
        for k in 0..connections {
            let stream = TcpStream::connect(address).map_err(|e| format!("loop: connect: {e}"))?;
            let (accepted, _) = self.listener.accept().map_err(|e| format!("loop: accept: {e}"))?;
            self.server.adopt(accepted, wire)?;
            let count = window / connections + usize::from(k < window % connections);
            let requests = wire::Requests::new(wire, &address.to_string());
            per_thread[k % threads].push(client::connect(
                stream,
                k,
                &template,
                requests,
                (first, count, window),
            )?);
            first += count;
        }

        let stop = AtomicBool::new(false);
        let done: Vec<AtomicU64> = (0..threads).map(|_| AtomicU64::new(0)).collect();
        let mut progress = Progress::new(name, load.duration);
        let cpu_start = cpu::used();
        let start = Instant::now();
        let outcomes = std::thread::scope(|scope| {
            let workers: Vec<_> = per_thread
                .into_iter()
                .zip(&done)
                .enumerate()
                .map(|(i, (conns, done))| {
                    let stop = &stop;
                    std::thread::Builder::new()
                        .name(format!("loop-client-{i}"))
                        .spawn_scoped(scope, move || client::drive(conns, stop, done))
                })
                .collect();
            let deadline = start + load.duration;
            loop {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                progress.update(now - start, done.iter().map(|d| d.load(Ordering::Relaxed)).sum());
                std::thread::sleep((deadline - now).min(Duration::from_millis(100)));
            }
            stop.store(true, Ordering::Relaxed);
            workers
                .into_iter()
                .map(|w| match w {
                    Ok(handle) => handle.join().map_err(|_| "loop: a client thread panicked".to_string()),
                    Err(e) => Err(format!("loop: cannot start a client thread: {e}")),
                })
                .collect::<Result<Vec<_>, String>>()
        })?;
        let cpu = cpu::used().saturating_sub(cpu_start);
        progress.finish(start.elapsed(), done.iter().map(|d| d.load(Ordering::Relaxed)).sum());

        let mut result = LoadResult {
            elapsed: Duration::ZERO,
            cpu,
            fast: Histogram::default(),
            slow: Histogram::default(),
            errors: 0,
            first_error: None,
        };
        let mut last = None;
        for o in outcomes {
            result.fast.merge(&o.latencies);
            result.errors += o.errors;
            result.first_error = result.first_error.or(o.first_error);
            last = last.max(o.last);
        }
        result.elapsed =
            last.map_or(Duration::ZERO, |t| t.saturating_duration_since(start)).max(Duration::from_micros(1));
        Ok(Row::new(name, connections, window, result))
    }
}
