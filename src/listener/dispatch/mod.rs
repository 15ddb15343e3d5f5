//! Where requests go once a session has read them: to the host's handler, in parallel
//! (HA lease traffic) or one at a time through the serial lane (other commands), each
//! holding a pending slot until the host answers it.

mod body;
mod command_set;
mod handlers;
mod pending;
mod request;
mod serial;
mod slots;
mod workers;

pub(crate) use body::CheckedBody;
pub use handlers::Handler;
pub(crate) use pending::{ConnectionShare, PendingSlot};
pub use request::Request;

use crate::io::PollQueue;
use crate::listener::config::ListenerConfig;
use crate::listener::reply::{Replies, Route};
use crate::listener::stats::ListenerCounters;
use crate::{Callbacks, Error, Status};
use command_set::CommandSet;
use handlers::Handlers;
use pending::PendingLimits;
use serial::SerialLane;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use workers::WorkerPool;

fn start_pool(
    threads: usize,
    config: &ListenerConfig,
    handler: Handler,
) -> Result<WorkerPool<Request>, Error> {
    WorkerPool::start(threads, config.max_pending, "hamux-handler", handler)
        .map_err(|e| Error::new(Status::Internal, format!("cannot start handler threads: {e}")))
}

/// A listener's way from its sessions to the host.
pub(crate) struct Dispatcher {
    handlers: Arc<Handlers>,
    serial: Arc<SerialLane>,
    /// Commands handed to the host in parallel; `None`: all of them.
    parallel_commands: Option<CommandSet>,
    pending: PendingLimits,
    counters: Arc<ListenerCounters>,
}

impl Dispatcher {
    /// Starts the handler threads (`callbacks: threads`) or the queue the host drains
    /// (`poll`).
    pub(crate) fn start(
        config: &ListenerConfig,
        handler: Handler,
        counters: Arc<ListenerCounters>,
    ) -> Result<Dispatcher, Error> {
        let handlers = match config.callbacks {
            Callbacks::Threads if config.handler_threads == 0 => Handlers::Inline {
                serial: start_pool(1, config, handler.clone())?,
                handler,
                closed: Default::default(),
            },
            Callbacks::Threads => Handlers::Threads(start_pool(config.handler_threads, config, handler)?),
            Callbacks::Poll => Handlers::Poll {
                queue: Box::new(
                    PollQueue::new()
                        .map_err(|e| Error::new(Status::Internal, format!("cannot create eventfd: {e}")))?,
                ),
                handler,
                closed: Default::default(),
            },
        };
        let handlers = Arc::new(handlers);
        Ok(Dispatcher {
            serial: Arc::new(SerialLane::new(handlers.clone())),
            handlers,
            parallel_commands: config.parallel_commands.as_deref().map(CommandSet::new),
            pending: PendingLimits::new(config.max_pending, config.max_pending_per_connection),
            counters,
        })
    }

    /// A new connection's own share of pending requests.
    pub(crate) fn connection_share(&self) -> ConnectionShare {
        self.pending.connection_share()
    }

    /// Waits for a pending slot for the next request of the connection with `share`
    /// (backpressure: meanwhile that connection is not read).
    pub(crate) async fn pending_slot(&self, share: &ConnectionShare) -> PendingSlot {
        self.pending.slot(share).await
    }

    /// Hands a request to the host: to the handler threads (inline: runs the handler now,
    /// on this IO thread; poll mode: to the poll queue), or, for a command not in
    /// `parallel-commands`, to the serial lane. The queue holds
    /// `max-pending` items and each queued request holds a slot, so it is full only while
    /// shutting down; the request is then dropped and answers CANCELLED itself.
    pub(crate) fn submit(&self, route: Route, body: CheckedBody, replies: &Arc<Replies>, slot: PendingSlot) {
        self.counters.requests.fetch_add(1, Relaxed);
        let parallel = match &self.parallel_commands {
            None => true,
            Some(names) => body.command().is_some_and(|c| names.contains(c)),
        };
        let request = Request::new(route, body.into_bytes(), replies.clone(), slot);
        if parallel {
            let _ = self.handlers.submit(request);
        } else {
            self.counters.serial_requests.fetch_add(1, Relaxed);
            self.serial.submit(request);
        }
    }

    /// Poll mode: the descriptor readable while requests wait; `None` in threads mode.
    pub(crate) fn poll_fd(&self) -> Option<RawFd> {
        self.handlers.poll_fd()
    }

    /// Poll mode: runs the handler for up to `max` waiting requests on this thread.
    pub(crate) fn run_polled(&self, max: usize) -> usize {
        self.handlers.dispatch(max)
    }

    /// Drops what waits for the host (those requests answer CANCELLED) and stops the
    /// handler threads once the callbacks they are running return.
    pub(crate) fn stop(&self) {
        self.serial.clear();
        self.handlers.close_and_join();
    }
}
