//! The listener: accepts `hamux://` and HTTP/1.1 connections on one port and hands
//! requests to the host's handler on a pool of threads, in parallel; the host answers
//! each one from any thread.

mod allow;
mod command;
mod config;
mod connection;
mod drain;
mod hamux_session;
mod handlers;
mod http_session;
mod reply;
mod request;
mod serial;
mod stats;
mod workers;

pub use allow::AllowList;
pub use config::ListenerConfig;
pub use request::Request;
pub use stats::ListenerCounters;

use crate::io::{IoThreads, PollQueue};
use crate::{Callbacks, Error, Status};
use connection::{ConnectionContext, OpenConnection};
use drain::Drain;
use handlers::Handlers;
use serial::SerialLane;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use workers::WorkerPool;

/// The host's request handler, run on a handler thread for each request.
pub type Handler = Arc<dyn Fn(Request) + Send + Sync>;

/// A running listener. Dropping it (or [`shutdown`](Self::shutdown)) stops it, gracefully.
pub struct Listener {
    local_addr: SocketAddr,
    counters: Arc<ListenerCounters>,
    io: Mutex<IoThreads>,
    workers: Arc<Handlers>,
    serial: Arc<SerialLane>,
    drain: Arc<Drain>,
}

impl Listener {
    /// Parses `config_json` (see [`ListenerConfig`]), binds and starts serving.
    pub fn new(config_json: &str, handler: Handler) -> Result<Listener, Error> {
        Listener::with_config(ListenerConfig::parse(config_json)?, handler)
    }

    pub fn with_config(config: ListenerConfig, handler: Handler) -> Result<Listener, Error> {
        let addr = SocketAddr::new(config.address, config.port);
        let socket = std::net::TcpListener::bind(addr)
            .map_err(|e| Error::new(Status::Connect, format!("cannot listen on {addr}: {e}")))?;
        socket.set_nonblocking(true).map_err(|e| Error::new(Status::Internal, e.to_string()))?;
        let local_addr = socket.local_addr().map_err(|e| Error::new(Status::Internal, e.to_string()))?;
        let workers = match config.callbacks {
            Callbacks::Threads => Handlers::Threads(
                WorkerPool::start(config.handler_threads, config.max_pending, "hamux-handler", handler)
                    .map_err(|e| {
                        Error::new(Status::Internal, format!("cannot start handler threads: {e}"))
                    })?,
            ),
            Callbacks::Poll => Handlers::Poll {
                queue: Box::new(
                    PollQueue::new()
                        .map_err(|e| Error::new(Status::Internal, format!("cannot create eventfd: {e}")))?,
                ),
                handler,
                closed: Default::default(),
            },
        };
        // TLS material is read now, so a bad file fails here and not at the first accept.
        let tls = if config.tls.cert_file.is_some() {
            Some(crate::tls::acceptor(&config.tls, config.require_client_certs)?)
        } else {
            None
        };
        let io = IoThreads::start(config.io_threads, "hamux-listener-io")?;
        let counters = Arc::new(ListenerCounters::default());
        let workers = Arc::new(workers);
        let drain = Arc::new(Drain::new(config.drain_timeout));
        let ctx = Arc::new(ConnectionContext {
            serial: Arc::new(SerialLane::new(workers.clone())),
            parallel_commands: config.parallel_commands.map(|names| names.into_iter().collect()),
            workers,
            pending: Arc::new(Semaphore::new(config.max_pending)),
            max_pending_per_connection: config.max_pending_per_connection,
            counters: counters.clone(),
            max_frame_bytes: config.max_frame_bytes,
            handshake_timeout: config.handshake_timeout,
            idle_timeout: config.idle_timeout,
            tls,
            drain: drain.clone(),
        });
        let handles: Vec<_> = (0..io.len()).map(|i| io.handle(i)).collect();
        let accept_ctx = ctx.clone();
        let allowed = config.allowed_peers.clone();
        let max_connections = config.max_connections;
        io.handle(0).spawn(async move {
            let drain = accept_ctx.drain.clone();
            // Dropped last, after the socket: tells a shutdown the port is free.
            let _closed = drain.socket_guard();
            let listener = match tokio::net::TcpListener::from_std(socket) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(error = %e, "cannot register the listening socket");
                    return;
                }
            };
            let mut next = 0usize;
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = drain.begun() => return,
                };
                match accepted {
                    Ok((stream, from)) => {
                        if !allowed.allows(from) {
                            // Closed at once: no byte is read from a stranger.
                            accept_ctx.counters.refused.fetch_add(1, Relaxed);
                            tracing::warn!(peer = %from, "connection refused: not in allowed-peers");
                            drop(stream);
                            continue;
                        }
                        if accept_ctx.counters.open.load(Relaxed) >= max_connections as u64 {
                            accept_ctx.counters.over_limit.fetch_add(1, Relaxed);
                            tracing::warn!(peer = %from, max_connections, "connection refused: max-connections reached");
                            drop(stream);
                            continue;
                        }
                        accept_ctx.counters.accepted.fetch_add(1, Relaxed);
                        let ctx = accept_ctx.clone();
                        let open = OpenConnection::new(&ctx);
                        handles[next % handles.len()].spawn(connection::serve(stream, ctx, open));
                        next += 1;
                    }
                    Err(e) => {
                        // Out of descriptors or similar: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                }
            }
        });
        Ok(Listener {
            local_addr,
            counters,
            io: Mutex::new(io),
            workers: ctx.workers.clone(),
            serial: ctx.serial.clone(),
            drain,
        })
    }

    /// Poll mode: the descriptor that is readable while requests wait for
    /// [`dispatch`](Self::dispatch); `None` in threads mode.
    pub fn poll_fd(&self) -> Option<std::os::fd::RawFd> {
        self.workers.poll_fd()
    }

    /// Poll mode: runs the handler for up to `max` waiting requests on this thread.
    pub fn dispatch(&self, max: usize) -> usize {
        self.workers.dispatch(max)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn counters(&self) -> &Arc<ListenerCounters> {
        &self.counters
    }

    pub fn stats_json(&self) -> String {
        let mut v = self.counters.to_json();
        v["draining"] = self.drain.is_draining().into();
        v["address"] = self.local_addr.ip().to_string().into();
        v["port"] = self.local_addr.port().into();
        v.to_string()
    }

    /// Starts a graceful shutdown and returns without waiting for it: the listening socket
    /// is closed (the port is free when this returns), `hamux://` peers get a Goaway, HTTP
    /// connections close after their last answer, and each connection closes once the host
    /// has answered what it was handed, or after `drain-timeout-ms`. Requests keep reaching
    /// the handler meanwhile (those a hamux peer wrote before it saw the Goaway).
    /// Idempotent; [`shutdown`](Self::shutdown) finishes the job.
    pub fn begin_shutdown(&self) {
        self.drain.begin();
    }

    /// Shuts down gracefully ([`begin_shutdown`](Self::begin_shutdown)), waits until every
    /// connection has drained or `drain-timeout-ms` has passed (in poll mode running the
    /// handler for requests still queued, on this thread), then closes what is left and
    /// stops the handler threads once the callbacks they are running return. Requests the
    /// host still holds stay valid; answering them now reports CONNECT. Idempotent.
    pub fn shutdown(&self) {
        self.begin_shutdown();
        let deadline = self.drain.deadline().unwrap_or_else(std::time::Instant::now);
        while self.counters.open.load(Relaxed) > 0 && std::time::Instant::now() < deadline {
            if self.dispatch(64) == 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        self.io.lock().unwrap_or_else(|p| p.into_inner()).shutdown();
        self.serial.clear();
        // The pool is shared with connection tasks, all gone now: stop it through a clone
        // of the handle, which is the last one left.
        self.workers.close_and_join();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.shutdown();
    }
}
