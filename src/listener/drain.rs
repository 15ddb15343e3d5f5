//! Graceful shutdown: the listener stops accepting, every connection tells its peer it is
//! going away, the host answers what it was handed, and only then do connections close.
//!
//! - `hamux://`: a Goaway frame. Requests keep being handed to the host until the peer's
//!   own Goaway arrives — it acknowledges ours and comes after the last request the peer
//!   wrote — so a request already on the wire when we said goodbye is answered, not lost.
//!   Then the connection closes as soon as every request it carried has been answered.
//! - HTTP/1.1: no new request is accepted; the answer to the last one carries
//!   `Connection: close`; an idle connection closes at once.
//!
//! All of it is bounded by `drain-timeout-ms`: after it a connection closes whatever it
//! still owes (those requests' answers then report CONNECT to the host, and the peer's
//! callbacks get CONNECT), as a hard shutdown always did.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The shutdown state one listener's accept loop and connections share.
pub(crate) struct Drain {
    began: watch::Sender<bool>,
    /// Set by the accept loop once the listening socket is closed.
    socket_closed: Mutex<bool>,
    socket_closed_cv: Condvar,
    started_at: Mutex<Option<Instant>>,
    timeout: Duration,
}

impl Drain {
    pub(crate) fn new(timeout: Duration) -> Drain {
        Drain {
            began: watch::Sender::new(false),
            socket_closed: Mutex::new(false),
            socket_closed_cv: Condvar::new(),
            started_at: Mutex::new(None),
            timeout,
        }
    }

    /// Starts the drain (idempotent) and waits, briefly, until the listening socket is
    /// closed, so that the port is free for a successor when this returns.
    pub(crate) fn begin(&self) {
        self.started_at.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(Instant::now);
        self.began.send_replace(true);
        let closed = self.socket_closed.lock().unwrap_or_else(|p| p.into_inner());
        let wait =
            self.socket_closed_cv.wait_timeout_while(closed, Duration::from_secs(10), |closed| !*closed);
        drop(wait);
    }

    pub(crate) fn is_draining(&self) -> bool {
        *self.began.borrow()
    }

    /// When the drain must be over; `None` before it began.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.started_at.lock().unwrap_or_else(|p| p.into_inner()).map(|t| t + self.timeout)
    }

    /// How long connections may take to drain (`drain-timeout-ms`).
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Resolves once the drain has begun.
    pub(crate) async fn begun(&self) {
        let mut rx = self.began.subscribe();
        // An error means the sender is gone, which only happens once the listener is.
        let _ = rx.wait_for(|began| *began).await;
    }

    /// The accept loop holds this while it owns the listening socket; dropping it (after
    /// the socket) tells [`begin`](Self::begin) the port is free.
    pub(crate) fn socket_guard(&self) -> SocketGuard<'_> {
        SocketGuard(self)
    }
}

pub(crate) struct SocketGuard<'a>(&'a Drain);

impl Drop for SocketGuard<'_> {
    fn drop(&mut self) {
        *self.0.socket_closed.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.0.socket_closed_cv.notify_all();
    }
}
