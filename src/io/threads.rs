//! A fixed set of IO threads, each owning one current-thread tokio runtime.
//!
//! Every connection is spawned onto exactly one of these runtimes and never migrates, so a
//! connection's reader, writer and timers share one thread and one cache, and no work
//! stealing moves a hot connection between cores.

use crate::{Error, Status};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

struct IoThread {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    join: Option<JoinHandle<()>>,
}

/// The IO threads of one client or listener.
pub struct IoThreads {
    threads: Vec<IoThread>,
    /// Tells these threads from those of other clients and listeners.
    id: u64,
}

/// Where an IO thread is: which set (an [`IoThreads`]'s id) and its index in that set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadSlot {
    pub set: u64,
    pub index: usize,
}

static NEXT_SET: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Set on an IO thread for its whole life; `None` on every other thread.
    static CURRENT: Cell<Option<ThreadSlot>> = const { Cell::new(None) };
}

/// The IO thread this code runs on, if it runs on one: a send made from a response
/// callback can then stay on the thread that ran the callback.
pub fn current_slot() -> Option<ThreadSlot> {
    CURRENT.with(Cell::get)
}

impl IoThreads {
    /// Starts `count` threads named `{name}-{i}`, each with its own runtime.
    pub fn start(count: usize, name: &str) -> Result<IoThreads, Error> {
        let mut threads = Vec::with_capacity(count);
        let id = NEXT_SET.fetch_add(1, Ordering::Relaxed);
        for i in 0..count {
            let (handle_tx, handle_rx) = std::sync::mpsc::channel();
            let (stop_tx, stop_rx) = oneshot::channel::<()>();
            let spawned = std::thread::Builder::new().name(format!("{name}-{i}")).spawn(move || {
                CURRENT.with(|c| c.set(Some(ThreadSlot { set: id, index: i })));
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = handle_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = handle_tx.send(Ok(runtime.handle().clone()));
                let _ = runtime.block_on(stop_rx);
                // Dropping the runtime here, on its own thread, drops every task it still
                // holds: their owned state (pending transactions) is released on this thread.
                drop(runtime);
            });
            let join =
                spawned.map_err(|e| Error::new(Status::Internal, format!("cannot start IO thread: {e}")))?;
            let handle = match handle_rx.recv() {
                Ok(Ok(handle)) => handle,
                Ok(Err(msg)) => {
                    return Err(Error::new(Status::Internal, format!("cannot start IO runtime: {msg}")))
                }
                Err(_) => return Err(Error::new(Status::Internal, "IO thread died at start")),
            };
            threads.push(IoThread { handle, stop: Some(stop_tx), join: Some(join) });
        }
        Ok(IoThreads { threads, id })
    }

    pub fn len(&self) -> usize {
        self.threads.len()
    }

    /// Where thread `index % len` of this set is (compare with [`current_slot`]).
    pub fn slot(&self, index: usize) -> ThreadSlot {
        ThreadSlot { set: self.id, index: index % self.threads.len() }
    }

    /// The runtime of IO thread `index % len`.
    pub fn handle(&self, index: usize) -> Handle {
        self.threads[index % self.threads.len()].handle.clone()
    }

    /// Stops every thread and waits for it, dropping all tasks. Idempotent.
    ///
    /// Called from one of these IO threads (a host freeing the object from inside one of
    /// its callbacks), that thread cannot be joined: it is told to stop and left to finish.
    pub fn shutdown(&mut self) {
        for t in &mut self.threads {
            if let Some(stop) = t.stop.take() {
                let _ = stop.send(());
            }
        }
        let me = std::thread::current().id();
        for t in &mut self.threads {
            if let Some(join) = t.join.take() {
                if join.thread().id() == me {
                    tracing::error!("hamux object freed from its own IO thread; that thread is not joined");
                    continue;
                }
                let _ = join.join();
            }
        }
    }
}

impl Drop for IoThreads {
    fn drop(&mut self) {
        self.shutdown();
    }
}
