//! One connection's life, the same for every protocol: connect when there is a reason to,
//! run the protocol's [`Session`] on the connection until it ends, and after a failure
//! back off and stay avoided until a connect succeeds again.
//!
//! The split is hyper's between connecting and pooling (`client::conn`) and the
//! connection itself: a [`Supervisor`] decides when to connect and what a failure means;
//! a session speaks one protocol on one live connection (`hamux://` multiplexed in
//! `multiplexed`, HTTP one transaction at a time in `http`). How to connect (source
//! address, TLS handshake, connect timeout) is the peer's [`PeerTarget`].
//!
//! - *Up*: a connection is up from a successful connect until it is lost, and the peer is
//!   up while any of its connections is ([`PeerCounters::connected`]; also the
//!   `connected` statistic). There is no other idea of up.
//! - *Avoided*: from a failed connect until a connect succeeds. A session that ends
//!   before it was established (a `hamux://` peer that never sent its hello: it refused
//!   us, or speaks something else) counts as a failed connect. Pools give new work to
//!   connections that are not avoided when they can.
//! - *Backoff*: after a failure a connection waits (exponential, with jitter). Work given
//!   to it meanwhile fails at once with that failure — a peer just found down is not
//!   waited for — unless the peer is up and the session can hand the work to the
//!   connections that are: then it steps aside until its backoff is over.
//! - *Rejoin*: after its backoff an avoided connection connects again when work is given
//!   to it, or by itself once the peer is up again; it never probes a peer that is down.
//! - A connection lost after it was established is not a failure: it reconnects as soon
//!   as work waits, without backoff.

use super::backoff::Backoff;
use super::stats::PeerCounters;
use super::target::PeerTarget;
use crate::io::{panic_message, CatchPanic, Stream};
use crate::Status;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;

/// How long a connection's task whose last run panicked waits before it starts again: a
/// panic that comes back at once costs a log line per this, not a spinning thread.
const PANIC_RESTART_DELAY: Duration = Duration::from_millis(100);

/// How often an avoided connection with nothing to do looks whether the peer is up again
/// (another connection to it is), to rejoin.
const REJOIN_CHECK: Duration = Duration::from_millis(100);

/// One protocol's side of a connection slot: the work waiting for it, and what it does
/// with a live connection.
pub(crate) trait Session: Send + Sync + 'static {
    /// Whether work waits for this connection.
    fn has_work(&self) -> bool;
    /// Resolves when work may have arrived (or the session was closed); may wake spuriously.
    fn work_arrived(&self) -> impl Future<Output = ()> + Send;
    /// No more work will come: the supervisor ends once nothing waits.
    fn is_closed(&self) -> bool;
    /// The deadline by which a connect must succeed for the waiting work, if it has one
    /// (it then completes with TIMEOUT, and the attempt does not count as a failure).
    fn connect_deadline(&self) -> Option<Instant>;
    /// Completes the waiting work with `status` and `reason`: the connection is down.
    fn fail_work(&self, status: Status, reason: &str);
    /// Hands the waiting work to the pool's other connections; false if the protocol
    /// cannot (its pool already routes around avoided connections).
    fn step_aside(&self) -> bool;
    /// The backoff this connection stepped aside for is over: it may be given work again.
    fn back_in_line(&self);
    /// Runs one live connection until it ends. `up` counts the connection as up: drop it
    /// when the connection is closed, before completing the work its loss fails, so that
    /// a completion reading the statistics sees the loss.
    fn run(&self, stream: Stream, up: Up<'_>) -> impl Future<Output = Ended> + Send;
}

/// How a live connection ended, as its session reports it.
pub(crate) struct Ended {
    pub(crate) status: Status,
    pub(crate) reason: String,
    /// The session was established: a working connection was lost, not a refusal.
    pub(crate) established: bool,
}

impl Ended {
    /// An end before the session was established (a session that was sets `established`).
    pub(crate) fn new(status: Status, reason: impl Into<String>) -> Ended {
        Ended { status, reason: reason.into(), established: false }
    }

    /// A connection lost with `e`.
    pub(crate) fn io(e: std::io::Error) -> Ended {
        let (status, reason) = crate::tls::describe_io_error(&e);
        Ended::new(status, reason)
    }
}

/// A connection counted as up in the peer's counters until this is dropped.
pub(crate) struct Up<'a> {
    counters: &'a PeerCounters,
}

impl<'a> Up<'a> {
    fn new(counters: &'a PeerCounters) -> Up<'a> {
        counters.connection_opened();
        Up { counters }
    }
}

impl Drop for Up<'_> {
    fn drop(&mut self) {
        self.counters.connection_closed();
    }
}

/// What one connect attempt gave.
enum Attempt {
    Connected(Stream),
    Failed(Status, String),
    /// The waiting work's deadline passed first.
    TooLate,
}

/// One connection slot of a peer: its session, and the task on its IO thread that
/// connects, runs the session and reconnects.
pub(crate) struct Supervisor<S> {
    target: Arc<PeerTarget>,
    session: S,
    io: Handle,
    started: AtomicBool,
    /// From a failed connect until a connect succeeds.
    avoided: AtomicBool,
}

impl<S: Session> Supervisor<S> {
    pub(crate) fn new(target: Arc<PeerTarget>, io: Handle, session: S) -> Supervisor<S> {
        Supervisor { target, session, io, started: AtomicBool::new(false), avoided: AtomicBool::new(false) }
    }

    pub(crate) fn session(&self) -> &S {
        &self.session
    }

    /// Whether the last connect failed (or was refused) and none has succeeded since.
    pub(crate) fn is_avoided(&self) -> bool {
        self.avoided.load(Ordering::Relaxed)
    }

    /// Starts the slot's task on its IO thread, once (connections start on first use).
    pub(crate) fn start(self: &Arc<Self>) {
        if !self.started.load(Ordering::Acquire) && !self.started.swap(true, Ordering::AcqRel) {
            self.io.spawn(self.clone().supervise_through_panics());
        }
    }

    /// [`supervise`](Self::supervise), started again after a panic in it (a bug in
    /// hamux), a moment later. Left to tokio, a panic would end the task for good: the
    /// slot would never connect again, and what the host sent to it would wait for ever
    /// without a callback. The panicked connection's transactions complete (Cancelled)
    /// as its state is dropped; what waits in the outbox goes out on the next connection.
    async fn supervise_through_panics(self: Arc<Self>) {
        loop {
            let Err(payload) = CatchPanic::new(self.clone().supervise()).await else { return };
            tracing::error!(
                peer = %self.target.url,
                panic = panic_message(&*payload),
                "a connection's task panicked (a bug in hamux); it starts again"
            );
            tokio::time::sleep(PANIC_RESTART_DELAY).await;
        }
    }

    fn peer_is_up(&self) -> bool {
        self.target.counters.connected() > 0
    }

    async fn supervise(self: Arc<Self>) {
        let mut backoff = Backoff::default();
        while self.reason_to_connect().await {
            let (status, reason) = match self.connect().await {
                Attempt::Connected(stream) => {
                    self.avoided.store(false, Ordering::Relaxed);
                    let ended = self.session.run(stream, Up::new(&self.target.counters)).await;
                    tracing::debug!(peer = %self.target.url, reason = %ended.reason, "connection ended");
                    if ended.established {
                        // A working connection was lost: what waits goes out on the next
                        // one, at once.
                        backoff.reset();
                        continue;
                    }
                    // The peer took the connection but never spoke the protocol: a failed
                    // connect. A TLS peer that refuses our certificate does so here, after
                    // the handshake.
                    let status = if ended.status == Status::Tls { Status::Tls } else { Status::Connect };
                    (status, ended.reason)
                }
                Attempt::Failed(status, reason) => {
                    self.target.counters.connect_failures.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(peer = %self.target.url, %reason, "connect failed");
                    (status, reason)
                }
                Attempt::TooLate => {
                    self.session.fail_work(Status::Timeout, "no connection before the request deadline");
                    continue;
                }
            };
            self.avoided.store(true, Ordering::Relaxed);
            self.session.fail_work(status, &reason);
            let until = tokio::time::Instant::now() + backoff.next();
            self.sit_out(until, status, &reason).await;
        }
    }

    /// Waits for a reason to connect: work waits, or this connection is avoided and the
    /// peer is up again (it rejoins). False once the session is closed and nothing waits.
    async fn reason_to_connect(&self) -> bool {
        loop {
            if self.session.has_work() {
                return true;
            }
            if self.session.is_closed() {
                return false;
            }
            if !self.is_avoided() {
                self.session.work_arrived().await;
                continue;
            }
            if self.peer_is_up() {
                return true;
            }
            tokio::select! {
                _ = self.session.work_arrived() => {}
                _ = tokio::time::sleep(REJOIN_CHECK) => {}
            }
        }
    }

    async fn connect(&self) -> Attempt {
        let attempt = self.target.connect();
        let outcome = match self.session.connect_deadline() {
            None => attempt.await,
            Some(deadline) => match tokio::time::timeout_at(deadline.into(), attempt).await {
                Ok(outcome) => outcome,
                Err(_) => return Attempt::TooLate,
            },
        };
        match outcome {
            Ok(stream) => Attempt::Connected(stream),
            Err((status, reason)) => Attempt::Failed(status, reason),
        }
    }

    /// The backoff after a failure (see the module documentation).
    async fn sit_out(&self, until: tokio::time::Instant, status: Status, reason: &str) {
        let over = tokio::time::sleep_until(until);
        tokio::pin!(over);
        let mut aside = false;
        loop {
            if self.session.has_work() {
                if self.peer_is_up() && self.session.step_aside() {
                    aside = true;
                } else {
                    self.session.fail_work(status, reason);
                }
                continue;
            }
            tokio::select! {
                _ = &mut over => break,
                _ = self.session.work_arrived() => {}
            }
        }
        if aside {
            self.session.back_in_line();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::PeerSettings;
    use crate::io::IoThreads;
    use crate::PeerUrl;
    use std::sync::atomic::AtomicUsize;

    /// A session whose first connection panics (a bug) and whose second ends its work.
    #[derive(Default)]
    struct PanicsOnce {
        runs: AtomicUsize,
    }

    impl Session for PanicsOnce {
        fn has_work(&self) -> bool {
            self.runs.load(Ordering::SeqCst) < 2
        }
        async fn work_arrived(&self) {
            tokio::time::sleep(Duration::from_millis(10)).await
        }
        fn is_closed(&self) -> bool {
            !self.has_work()
        }
        fn connect_deadline(&self) -> Option<Instant> {
            None
        }
        fn fail_work(&self, _: Status, _: &str) {}
        fn step_aside(&self) -> bool {
            false
        }
        fn back_in_line(&self) {}
        async fn run(&self, _: Stream, _: Up<'_>) -> Ended {
            if self.runs.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("a bug in a connection's task");
            }
            Ended { status: Status::Ok, reason: "done".into(), established: true }
        }
    }

    #[test]
    fn a_connection_whose_task_panicked_connects_again() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = PeerUrl::parse(&format!("hamux://{}", listener.local_addr().unwrap())).unwrap();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().take(2).flatten() {
                held.push(stream);
            }
            std::thread::sleep(Duration::from_secs(10));
        });
        let io = IoThreads::start(1, "t-io").unwrap();
        let target = Arc::new(PeerTarget::new(url, PeerSettings::default()).unwrap());
        let supervisor = Arc::new(Supervisor::new(target, io.handle(0), PanicsOnce::default()));
        supervisor.start();
        let give_up = Instant::now() + Duration::from_secs(10);
        while supervisor.session().runs.load(Ordering::SeqCst) < 2 && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(supervisor.session().runs.load(Ordering::SeqCst), 2, "the slot never ran again");
    }
}
