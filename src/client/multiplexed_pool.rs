//! The connections to one `hamux://` peer: every connection carries many transactions, so
//! a submit only picks one. A connection is popped from a queue for a submit and pushed
//! straight back, so concurrent host threads spread over the connections without a lock.
//!
//! A submit made on one of the client's IO threads (a response callback sending the next
//! request) goes to the connection whose reply is being handled, or else to a connection
//! of that same thread when there is one: the request is then queued and written with
//! that connection's next batch, without waking another thread, run to completion.

use super::multiplexed::{replying, MultiplexedSession};
use super::supervisor::Supervisor;
use super::target::PeerTarget;
use super::transaction::Txn;
use crate::io::{current_slot, ThreadSlot};
use crossbeam_queue::ArrayQueue;
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::runtime::Handle;

pub(crate) struct MultiplexedPool {
    connections: Vec<Arc<Supervisor<MultiplexedSession>>>,
    /// Which IO thread each connection lives on.
    slots: Vec<ThreadSlot>,
    pool: ArrayQueue<usize>,
    fallback: AtomicUsize,
}

thread_local! {
    /// Round robin over the connections of this IO thread (only this thread reads it).
    static NEXT_LOCAL: Cell<usize> = const { Cell::new(0) };
}

impl MultiplexedPool {
    /// `connections-per-peer` connections, connection `i` on the IO thread `io(i)` gives.
    pub(crate) fn new(
        target: Arc<PeerTarget>,
        io: impl Fn(usize) -> (Handle, ThreadSlot),
    ) -> MultiplexedPool {
        let n = target.settings.connections;
        let (mut connections, mut slots) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let (handle, slot) = io(i);
            connections.push(Arc::new(Supervisor::new(
                target.clone(),
                handle,
                MultiplexedSession::new(target.clone(), i),
            )));
            slots.push(slot);
        }
        let pool = ArrayQueue::new(n);
        for i in 0..n {
            let _ = pool.push(i);
        }
        MultiplexedPool { connections, slots, pool, fallback: AtomicUsize::new(0) }
    }

    /// A connection on the IO thread this runs on, if any and not avoided: the one whose
    /// reply's callback this is, else round robin over that thread's connections.
    fn local(&self) -> Option<usize> {
        let here = current_slot()?;
        if let Some(i) = replying(|i| self.connections.get(i).map(|c| c.session())) {
            if !self.is_avoided(i) {
                return Some(i);
            }
        }
        let n = self.connections.len();
        let start = NEXT_LOCAL.with(|c| {
            let v = c.get();
            c.set(v.wrapping_add(1));
            v
        });
        (0..n).map(|k| (start + k) % n).find(|&i| self.slots[i] == here && !self.is_avoided(i))
    }

    /// Hands the transaction to a connection; the connection starts on first use.
    pub(crate) fn submit(&self, txn: Txn, body: &[u8]) {
        if let Some(i) = self.local() {
            return self.submit_to(i, txn, body);
        }
        match self.pool.pop() {
            Some(i) => {
                self.submit_to(self.live(i), txn, body);
                let _ = self.pool.push(i);
            }
            // Every connection is popped by other threads this instant; a multiplexed
            // connection can take more, so use one round robin rather than wait.
            None => {
                let i = self.fallback.fetch_add(1, Ordering::Relaxed) % self.connections.len();
                self.submit_to(self.live(i), txn, body);
            }
        }
    }

    fn submit_to(&self, i: usize, txn: Txn, body: &[u8]) {
        let connection = &self.connections[i];
        connection.session().submit(txn, body);
        connection.start();
    }

    /// Whether new requests belong elsewhere if another connection can take them: the
    /// peer asked this one to go away (Goaway), or it is avoided after a failed connect.
    fn is_avoided(&self, i: usize) -> bool {
        let connection = &self.connections[i];
        connection.session().is_draining() || connection.is_avoided()
    }

    /// `popped`, unless it is avoided: then another one that is not. If there is none,
    /// `popped` all the same: its request waits in the outbox for the connection that
    /// replaces a drained one, or fails at once if the peer is down.
    fn live(&self, popped: usize) -> usize {
        if !self.is_avoided(popped) {
            return popped;
        }
        let n = self.connections.len();
        (1..n).map(|k| (popped + k) % n).find(|&i| !self.is_avoided(i)).unwrap_or(popped)
    }

    /// Refuses new work and cancels what never left (done after the IO threads stopped).
    pub(crate) fn close(&self) {
        for c in &self.connections {
            drop(c.session().close());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::multiplexed::{reply_read_at, Replying};
    use crate::client::PeerSettings;
    use crate::io::IoThreads;
    use crate::PeerUrl;

    fn pool(io: &IoThreads, connections: usize, first: usize) -> MultiplexedPool {
        let settings = PeerSettings { connections, ..PeerSettings::default() };
        let target =
            Arc::new(PeerTarget::new(PeerUrl::parse("hamux://127.0.0.1:9").unwrap(), settings).unwrap());
        MultiplexedPool::new(target, |i| (io.handle(first + i), io.slot(first + i)))
    }

    /// Runs `f` on IO thread `index` of `io` and returns what it returned.
    fn on_thread<T: Send + 'static>(
        io: &IoThreads,
        index: usize,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        io.handle(index).spawn(async move { tx.send(f()).unwrap() });
        rx.recv().unwrap()
    }

    #[test]
    fn a_submit_on_an_io_thread_picks_that_threads_connections() {
        let io = IoThreads::start(2, "t-io").unwrap();
        // Connections 0 and 2 on thread 1, connection 1 on thread 0 (first thread 1).
        let pool = Arc::new(pool(&io, 3, 1));
        assert_eq!(pool.local(), None, "not on an IO thread");
        for (thread, expected) in [(0, vec![1]), (1, vec![0, 2])] {
            let p = pool.clone();
            let mut picked: Vec<usize> =
                on_thread(&io, thread, move || (0..6).map(|_| p.local().unwrap()).collect());
            picked.sort();
            picked.dedup();
            assert_eq!(picked, expected, "thread {thread}");
        }
        // A reply's callback sends on the connection whose reply it is.
        let p = pool.clone();
        let read_at = std::time::Instant::now() - std::time::Duration::from_millis(5);
        let (picked, at, after): (Vec<usize>, _, _) = on_thread(&io, 1, move || {
            let replying = Replying::on(p.connections[2].session(), read_at);
            let picked = (0..4).map(|_| p.local().unwrap()).collect();
            // A request sent from the callback starts when the reply was read.
            let at = reply_read_at();
            drop(replying);
            (picked, at, reply_read_at())
        });
        assert_eq!(picked, vec![2; 4]);
        assert_eq!((at, after), (Some(read_at), None));
        // Not when the replying connection is another pool's: round robin again.
        let other_pool = Arc::new(self::pool(&io, 3, 1));
        let (p, o) = (pool.clone(), other_pool.clone());
        let mut picked: Vec<usize> = on_thread(&io, 1, move || {
            let _replying = Replying::on(o.connections[2].session(), std::time::Instant::now());
            (0..6).map(|_| p.local().unwrap()).collect()
        });
        picked.sort();
        picked.dedup();
        assert_eq!(picked, vec![0, 2]);
        // Another client's IO threads are not this pool's.
        let other = IoThreads::start(1, "t-other").unwrap();
        let p = pool.clone();
        assert_eq!(on_thread(&other, 0, move || p.local()), None);
    }
}
