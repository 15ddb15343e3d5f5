//! Where requests go to meet the host's handler: a pool of handler threads, or (poll
//! mode, for single-threaded hosts) a queue the host drains on its own thread.

use super::request::Request;
use super::workers::WorkerPool;
use crate::io::PollQueue;
use std::os::fd::RawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The host's request handler, run on a handler thread for each request.
pub type Handler = Arc<dyn Fn(Request) + Send + Sync>;

pub(super) enum Handlers {
    Threads(WorkerPool<Request>),
    Poll { queue: Box<PollQueue<Request>>, handler: Handler, closed: AtomicBool },
}

impl Handlers {
    /// Hands a request over; gives it back if shutting down (or, threads mode, full).
    pub(super) fn submit(&self, request: Request) -> Result<(), Request> {
        match self {
            Handlers::Threads(pool) => pool.submit(request),
            Handlers::Poll { queue, closed, .. } => {
                if closed.load(Ordering::Acquire) {
                    return Err(request);
                }
                queue.push(request);
                Ok(())
            }
        }
    }

    /// Poll mode: the descriptor readable while requests wait.
    pub(super) fn poll_fd(&self) -> Option<RawFd> {
        match self {
            Handlers::Threads(_) => None,
            Handlers::Poll { queue, .. } => Some(queue.fd()),
        }
    }

    /// Poll mode: runs the handler for up to `max` waiting requests on this thread.
    pub(super) fn dispatch(&self, max: usize) -> usize {
        let Handlers::Poll { queue, handler, .. } = self else { return 0 };
        let ready = queue.take(max);
        let n = ready.len();
        for request in ready {
            if catch_unwind(AssertUnwindSafe(|| handler(request))).is_err() {
                tracing::error!("a request handler panicked");
            }
        }
        n
    }

    /// Stops handing out requests; those still waiting are dropped (answered CANCELLED).
    pub(super) fn close_and_join(&self) {
        match self {
            Handlers::Threads(pool) => pool.close_and_join(),
            Handlers::Poll { queue, closed, .. } => {
                closed.store(true, Ordering::Release);
                drop(queue.take(usize::MAX));
            }
        }
    }
}
