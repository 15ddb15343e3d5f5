//! The handler pool: threads that run the host's request callback, fed by a bounded queue.
//!
//! The queue is lock-free (crossbeam `ArrayQueue`); a worker that finds it empty spins
//! briefly, then sleeps on a condition variable. Producers only touch the lock when a
//! worker is asleep and not yet woken, so under load a request is handed over without
//! any system call.

use crossbeam_queue::ArrayQueue;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// Sleeping workers, under the queue's lock.
#[derive(Default)]
struct Sleep {
    /// Workers waiting and not yet claimed by a producer.
    idle: usize,
    /// Wake-ups producers granted that no worker has taken yet.
    granted: usize,
}

struct Queue<T> {
    items: ArrayQueue<T>,
    /// Mirror of `Sleep::idle`, so a producer checks for sleepers without the lock.
    idle_hint: AtomicUsize,
    closed: AtomicBool,
    sleep: Mutex<Sleep>,
    wakeup: Condvar,
}

impl<T> Queue<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Sleep> {
        self.sleep.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pop_blocking(&self) -> Option<T> {
        loop {
            for _ in 0..64 {
                if let Some(item) = self.items.pop() {
                    return Some(item);
                }
                if self.closed.load(Ordering::Acquire) {
                    return None;
                }
                std::hint::spin_loop();
            }
            let mut sleep = self.lock();
            sleep.idle += 1;
            self.idle_hint.store(sleep.idle, Ordering::SeqCst);
            // Announce the sleeper before the last look at the queue; a producer pushes
            // before it looks for sleepers. One of the two sees the other.
            fence(Ordering::SeqCst);
            loop {
                if sleep.granted > 0 {
                    // A producer claimed us (and already took us off `idle`).
                    sleep.granted -= 1;
                    break;
                }
                let item = self.items.pop();
                if item.is_some() || self.closed.load(Ordering::Acquire) {
                    sleep.idle -= 1;
                    self.idle_hint.store(sleep.idle, Ordering::SeqCst);
                    return item;
                }
                sleep = self.wakeup.wait(sleep).unwrap_or_else(|p| p.into_inner());
            }
        }
    }

    /// Wakes one sleeping worker, if any, for an item just pushed. A worker already woken
    /// is no longer counted as sleeping, so a burst of pushes costs one wake-up per
    /// sleeper, not one per item.
    fn wake_one(&self) {
        fence(Ordering::SeqCst);
        if self.idle_hint.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut sleep = self.lock();
        if sleep.idle > 0 {
            sleep.idle -= 1;
            sleep.granted += 1;
            self.idle_hint.store(sleep.idle, Ordering::SeqCst);
            self.wakeup.notify_one();
        }
    }
}

/// A fixed pool of threads running `handle` on each submitted item.
pub(super) struct WorkerPool<T: Send + 'static> {
    queue: Arc<Queue<T>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl<T: Send + 'static> WorkerPool<T> {
    pub(super) fn start(
        threads: usize,
        capacity: usize,
        name: &str,
        handle: Arc<dyn Fn(T) + Send + Sync>,
    ) -> std::io::Result<WorkerPool<T>> {
        let queue = Arc::new(Queue {
            items: ArrayQueue::new(capacity.max(1)),
            idle_hint: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            sleep: Mutex::new(Sleep::default()),
            wakeup: Condvar::new(),
        });
        let mut joins = Vec::with_capacity(threads);
        for i in 0..threads {
            let queue = queue.clone();
            let handle = handle.clone();
            let thread = std::thread::Builder::new().name(format!("{name}-{i}")).spawn(move || {
                while let Some(item) = queue.pop_blocking() {
                    let run = std::panic::AssertUnwindSafe(|| handle(item));
                    if std::panic::catch_unwind(run).is_err() {
                        tracing::error!("a request handler panicked");
                    }
                }
            })?;
            joins.push(thread);
        }
        Ok(WorkerPool { queue, threads: Mutex::new(joins) })
    }

    /// Queues an item; gives it back if the queue is full or closed.
    pub(super) fn submit(&self, item: T) -> Result<(), T> {
        if self.queue.closed.load(Ordering::Acquire) {
            return Err(item);
        }
        self.queue.items.push(item)?;
        self.queue.wake_one();
        Ok(())
    }

    /// Stops the workers after the items they are running; queued items are dropped.
    pub(super) fn close_and_join(&self) {
        self.queue.closed.store(true, Ordering::Release);
        {
            let _sleep = self.queue.lock();
            self.queue.wakeup.notify_all();
        }
        let me = std::thread::current().id();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for t in threads {
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
        while self.queue.items.pop().is_some() {}
    }
}

impl<T: Send + 'static> Drop for WorkerPool<T> {
    fn drop(&mut self) {
        self.close_and_join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn runs_every_item_across_threads() {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let pool = WorkerPool::start(3, 64, "t", Arc::new(move |n: u32| tx.lock().unwrap().send(n).unwrap()))
            .unwrap();
        let mut sent = 0;
        for n in 0..10_000u32 {
            let mut item = n;
            loop {
                match pool.submit(item) {
                    Ok(()) => break,
                    Err(back) => {
                        item = back;
                        std::thread::yield_now();
                    }
                }
            }
            sent += 1;
        }
        let mut got: Vec<u32> = (0..sent).map(|_| rx.recv().unwrap()).collect();
        got.sort();
        assert_eq!(got, (0..10_000).collect::<Vec<_>>());
    }

    #[test]
    fn shutdown_joins_and_refuses() {
        let pool = WorkerPool::start(2, 4, "t", Arc::new(|_: u32| panic!("contained"))).unwrap();
        pool.submit(1).unwrap();
        pool.close_and_join();
        assert_eq!(pool.submit(2), Err(2));
    }
}
