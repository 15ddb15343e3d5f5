//! A fixed set of IO threads, each owning one current-thread tokio runtime.
//!
//! Every connection is spawned onto exactly one of these runtimes and never migrates, so a
//! connection's reader, writer and timers share one thread and one cache, and no work
//! stealing moves a hot connection between cores.

use crate::{Error, Status};
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
}

impl IoThreads {
    /// Starts `count` threads named `{name}-{i}`, each with its own runtime.
    pub fn start(count: usize, name: &str) -> Result<IoThreads, Error> {
        let mut threads = Vec::with_capacity(count);
        for i in 0..count {
            let (handle_tx, handle_rx) = std::sync::mpsc::channel();
            let (stop_tx, stop_rx) = oneshot::channel::<()>();
            let spawned = std::thread::Builder::new().name(format!("{name}-{i}")).spawn(move || {
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
        Ok(IoThreads { threads })
    }

    pub fn len(&self) -> usize {
        self.threads.len()
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
