//! Where requests go to meet the host's handler: a pool of handler threads, the IO thread
//! that read them (inline, `handler-threads: 0`), or (poll mode, for single-threaded
//! hosts) a queue the host drains on its own thread.

use super::request::Request;
use super::workers::WorkerPool;
use crate::io::PollQueue;
use std::os::fd::RawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The host's request handler, run for each request on a handler thread (with
/// `handler-threads: 0`, for a parallel command, on the IO thread that read it).
pub type Handler = Arc<dyn Fn(Request) + Send + Sync>;

pub(super) enum Handlers {
    Threads(WorkerPool<Request>),
    /// `handler-threads: 0`: a parallel request runs on the IO thread that decoded it,
    /// with no hand-over to another thread; the serial lane, whose commands may take long
    /// (Kea pauses its workers for them), keeps one thread of its own.
    Inline {
        handler: Handler,
        serial: WorkerPool<Request>,
        closed: AtomicBool,
    },
    Poll {
        queue: Box<PollQueue<Request>>,
        handler: Handler,
        closed: AtomicBool,
    },
}

fn run(handler: &Handler, request: Request) {
    if catch_unwind(AssertUnwindSafe(|| handler(request))).is_err() {
        tracing::error!("a request handler panicked");
    }
}

impl Handlers {
    /// Hands a request of the parallel lane over (inline: runs it now, on this thread);
    /// gives it back if shutting down (or, threads mode, full).
    pub(super) fn submit(&self, request: Request) -> Result<(), Request> {
        match self {
            Handlers::Threads(pool) => pool.submit(request),
            Handlers::Inline { handler, closed, .. } => {
                if closed.load(Ordering::Acquire) {
                    return Err(request);
                }
                run(handler, request);
                Ok(())
            }
            Handlers::Poll { queue, closed, .. } => {
                if closed.load(Ordering::Acquire) {
                    return Err(request);
                }
                queue.push(request);
                Ok(())
            }
        }
    }

    /// Hands over a request of the serial lane: like [`submit`](Self::submit), but never
    /// inline — the answer to the previous serial request, given on any host thread,
    /// starts the next one, which must not run inside that host's call.
    pub(super) fn submit_serial(&self, request: Request) -> Result<(), Request> {
        match self {
            Handlers::Inline { serial, .. } => serial.submit(request),
            _ => self.submit(request),
        }
    }

    /// Poll mode: the descriptor readable while requests wait.
    pub(super) fn poll_fd(&self) -> Option<RawFd> {
        match self {
            Handlers::Poll { queue, .. } => Some(queue.fd()),
            _ => None,
        }
    }

    /// Poll mode: runs the handler for up to `max` waiting requests on this thread.
    pub(super) fn dispatch(&self, max: usize) -> usize {
        let Handlers::Poll { queue, handler, .. } = self else { return 0 };
        let ready = queue.take(max);
        let n = ready.len();
        for request in ready {
            run(handler, request);
        }
        n
    }

    /// Stops handing out requests; those still waiting are dropped (answered CANCELLED).
    pub(super) fn close_and_join(&self) {
        match self {
            Handlers::Threads(pool) => pool.close_and_join(),
            Handlers::Inline { serial, closed, .. } => {
                closed.store(true, Ordering::Release);
                serial.close_and_join();
            }
            Handlers::Poll { queue, closed, .. } => {
                closed.store(true, Ordering::Release);
                drop(queue.take(usize::MAX));
            }
        }
    }
}
