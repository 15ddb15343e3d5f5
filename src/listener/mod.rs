//! The listener: accepts `hamux://` and HTTP/1.1 connections on one port and hands
//! requests to the host's handler on a pool of threads, in parallel; the host answers
//! each one from any thread.
//!
//! Layers, each using only those below it (`tests/listener_layers.rs` keeps it so):
//! - `accept`: the listening socket, allowed peers, connection limits, TLS handshakes;
//! - `session`: one connection: which protocol it speaks, its `hamux://` or HTTP reader,
//!   its writer, its part of a graceful shutdown;
//! - `dispatch`: from a session to the host: the request body check, pending limits,
//!   handler threads or poll queue, the serial lane, and the [`Request`] the host answers;
//! - `reply`: where answers go, encoded, in order for HTTP;
//! - below them all: configuration, counters, the allow-list and the shutdown state.

mod accept;
mod allow;
mod config;
mod dispatch;
mod drain;
mod reply;
mod session;
mod stats;

pub use allow::AllowList;
pub use config::ListenerConfig;
pub use dispatch::{Handler, Request};
pub use stats::ListenerCounters;

use crate::io::IoThreads;
use crate::{Error, Status};
use accept::Acceptor;
use dispatch::Dispatcher;
use drain::Drain;
use session::SessionContext;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

/// A running listener. Dropping it (or [`shutdown`](Self::shutdown)) stops it, gracefully.
pub struct Listener {
    local_addr: SocketAddr,
    counters: Arc<ListenerCounters>,
    io: Mutex<IoThreads>,
    dispatcher: Arc<Dispatcher>,
    drain: Arc<Drain>,
}

/// Connections the kernel queues for accept: std listens with 128, and a central backup's
/// primaries reconnecting at once after its restart (thousands of connections: see the
/// README's Sizing) overflowed that queue, their connects reset or retried a second later.
/// The kernel caps it at `net.core.somaxconn` (4096 by default).
const LISTEN_BACKLOG: libc::c_int = 65_535;

/// Listens again on the bound `socket`, with [`LISTEN_BACKLOG`] (Linux resizes the queue
/// of a socket that already listens).
fn listen_with_full_backlog(socket: &std::net::TcpListener) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: listen(2) on a descriptor `socket` owns and keeps open for the call.
    if unsafe { libc::listen(socket.as_raw_fd(), LISTEN_BACKLOG) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
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
        listen_with_full_backlog(&socket)
            .map_err(|e| Error::new(Status::Connect, format!("cannot listen on {addr}: {e}")))?;
        socket.set_nonblocking(true).map_err(|e| Error::new(Status::Internal, e.to_string()))?;
        let local_addr = socket.local_addr().map_err(|e| Error::new(Status::Internal, e.to_string()))?;
        let counters = Arc::new(ListenerCounters::default());
        let dispatcher = Arc::new(Dispatcher::start(&config, handler, counters.clone())?);
        // TLS material is read now, so a bad file fails here and not at the first accept.
        let tls = if config.tls.cert_file.is_some() {
            Some(crate::tls::acceptor(&config.tls, config.require_client_certs)?)
        } else {
            None
        };
        let io = IoThreads::start(config.io_threads, "hamux-listener-io")?;
        let drain = Arc::new(Drain::new(config.drain_timeout));
        let sessions =
            Arc::new(SessionContext::new(&config, dispatcher.clone(), counters.clone(), drain.clone()));
        Acceptor::new(&config, tls, sessions, counters.clone(), drain.clone()).spawn(socket, &io);
        Ok(Listener { local_addr, counters, io: Mutex::new(io), dispatcher, drain })
    }

    /// Poll mode: the descriptor that is readable while requests wait for
    /// [`dispatch`](Self::dispatch); `None` in threads mode.
    pub fn poll_fd(&self) -> Option<std::os::fd::RawFd> {
        self.dispatcher.poll_fd()
    }

    /// Poll mode: runs the handler for up to `max` waiting requests on this thread.
    pub fn dispatch(&self, max: usize) -> usize {
        self.dispatcher.run_polled(max)
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
        // The dispatcher is shared with connection tasks, all gone now.
        self.dispatcher.stop();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.shutdown();
    }
}
