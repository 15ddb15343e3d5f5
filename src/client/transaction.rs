//! Per-transaction state, and the table of transactions a connection has on the wire.
//!
//! A [`Txn`] owns the host's completion. It is consumed by [`Txn::complete`]; if it is ever
//! dropped without completing (a runtime torn down at shutdown, a queue discarded), its
//! `Drop` completes it with CANCELLED. So every accepted request gets exactly one callback
//! by construction, whatever path loses it.
//!
//! A completion never runs while the client holds a lock on state that holds transactions
//! (a connection's table, an HTTP slot's mailbox): the host's callback may take its time or
//! call back into the client without anything else waiting on that lock. Such state is
//! locked through [`lock`], which debug builds track, so a completion run under it fails
//! loudly in every test.

use super::stats::PeerCounters;
use super::tick::Tick;
use crate::io::PollQueue;
use crate::prefetch::prefetch;
use crate::Status;
use std::ffi::c_void;
use std::ops::{Deref, DerefMut};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What a completion is told: the transaction, how it ended, and the reply body (for OK)
/// or a UTF-8 description of the failure. `body` lives only for the call.
#[derive(Debug)]
pub struct Reply<'a> {
    pub txid: u64,
    pub status: Status,
    pub body: &'a [u8],
}

/// Called exactly once per accepted request, on an IO thread (or, for requests still
/// queued when the client is freed, on the freeing thread before free returns; or, in
/// poll mode, on the host thread that dispatches).
pub type Completion = Box<dyn FnOnce(Reply<'_>) + Send>;

/// A host's callback as a plain function and its context pointer (a C host's
/// `hamux_response_cb` and `user_data`): kept in the transaction itself, so a request
/// costs no allocation for it and its reply no jump through a closure's vtable to a
/// heap cell that, with tens of thousands of requests in flight, is a cache miss.
#[derive(Clone, Copy)]
pub struct RawCallback {
    function: unsafe extern "C" fn(*mut c_void, u64, Status, *const u8, usize),
    user_data: *mut c_void,
}

impl RawCallback {
    /// # Safety
    /// `function` must be safe to call once, on any thread, with `user_data`, the txid,
    /// the status and a body pointer and length valid for the call (hamux_client_send's
    /// contract with its host).
    pub unsafe fn new(
        function: unsafe extern "C" fn(*mut c_void, u64, Status, *const u8, usize),
        user_data: *mut c_void,
    ) -> RawCallback {
        RawCallback { function, user_data }
    }
}

// SAFETY: whoever builds a RawCallback promised (`RawCallback::new`) that the function may
// run on another thread with this context.
unsafe impl Send for RawCallback {}

/// What [`Client::send`](super::Client::send) runs once the request ends: a closure (any
/// `FnOnce(Reply)`, a [`Completion`] too) or a raw callback.
pub enum Callback {
    Closure(Completion),
    Raw(RawCallback),
}

impl<F: FnOnce(Reply<'_>) + Send + 'static> From<F> for Callback {
    fn from(closure: F) -> Callback {
        Callback::Closure(Box::new(closure))
    }
}

impl From<RawCallback> for Callback {
    fn from(raw: RawCallback) -> Callback {
        Callback::Raw(raw)
    }
}

/// A completion waiting for the host's `dispatch` (poll mode), its reply bound in.
pub(crate) type Deferred = Box<dyn FnOnce() + Send>;

/// Runs a completion; a panic in it is caught and logged.
pub(crate) fn run_completion(completion: Callback, reply: Reply<'_>) {
    let txid = reply.txid;
    let ran = catch_unwind(AssertUnwindSafe(|| match completion {
        Callback::Closure(closure) => closure(reply),
        // SAFETY: RawCallback::new's contract; `body` lives for the call.
        Callback::Raw(raw) => unsafe {
            (raw.function)(raw.user_data, reply.txid, reply.status, reply.body.as_ptr(), reply.body.len())
        },
    }));
    if ran.is_err() {
        tracing::error!(txid, "a response callback panicked");
    }
}

/// One cache line, so that a transaction table's slot is one (see
/// [`TxnTable`](super::txn_table::TxnTable)).
#[repr(align(64))]
pub(crate) struct Txn {
    pub(crate) txid: u64,
    started: Tick,
    deadline: Tick,
    completion: Option<Callback>,
    counters: Arc<PeerCounters>,
    /// Poll mode: where the completion is queued instead of run.
    defer: Option<Arc<PollQueue<Deferred>>>,
}

const _: () = assert!(std::mem::size_of::<Txn>() == 64);

impl Txn {
    pub(crate) fn new(
        txid: u64,
        started: Instant,
        timeout: Duration,
        completion: impl Into<Callback>,
        counters: Arc<PeerCounters>,
    ) -> Txn {
        let started = Tick::of(started);
        Txn {
            txid,
            started,
            deadline: started.after(timeout),
            completion: Some(completion.into()),
            counters,
            defer: None,
        }
    }

    /// When it times out.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline.instant()
    }

    /// [`deadline`](Self::deadline) as the table keeps it.
    pub(super) fn deadline_tick(&self) -> Tick {
        self.deadline
    }

    /// Fetches into cache what the completion reads first: a C host's context (for the
    /// bench, the chain of the update; for Kea, its parked query's state) or a closure's
    /// captures.
    pub(super) fn prefetch_context(&self) {
        match &self.completion {
            Some(Callback::Raw(raw)) => prefetch(raw.user_data as *const u8),
            Some(Callback::Closure(closure)) => prefetch(&**closure as *const (dyn FnOnce(Reply<'_>) + Send)),
            None => {}
        }
    }

    /// Poll mode: the completion will be queued on `queue` rather than run.
    pub(crate) fn deferred_to(mut self, queue: Arc<PollQueue<Deferred>>) -> Txn {
        self.defer = Some(queue);
        self
    }

    /// Runs the completion (a panic in it is caught and logged), then updates the counters.
    pub(crate) fn complete(self, status: Status, body: &[u8]) {
        self.complete_at(Instant::now(), status, body);
    }

    /// [`complete`](Self::complete) with the time the reply was read: a reader takes the
    /// clock once per read, not once per reply in it.
    pub(crate) fn complete_at(mut self, now: Instant, status: Status, body: &[u8]) {
        self.finish(now, status, body);
    }

    fn finish(&mut self, now: Instant, status: Status, body: &[u8]) {
        let Some(completion) = self.completion.take() else { return };
        debug_assert!(!held::any(), "txid {}: a completion would run under a client lock", self.txid);
        // Release the in-flight slot first: a callback may send the next request at once.
        self.counters.record_completion(status, Tick::of(now).since(self.started));
        let txid = self.txid;
        match &self.defer {
            None => run_completion(completion, Reply { txid, status, body }),
            Some(queue) => {
                let body = body.to_vec();
                queue.push(Box::new(move || run_completion(completion, Reply { txid, status, body: &body })));
            }
        }
    }
}

impl Drop for Txn {
    fn drop(&mut self) {
        // Every completed transaction is dropped too: no clock read for those.
        if self.completion.is_none() {
            return;
        }
        self.finish(
            Instant::now(),
            Status::Cancelled,
            b"cancelled: the client shut down before a reply arrived",
        );
    }
}

/// A lock on client state that holds transactions; completions wait until it is dropped.
pub(crate) struct TxnLock<'a, T> {
    guard: MutexGuard<'a, T>,
}

/// Locks `state` (poisoning ignored: a panic under this lock leaves nothing that matters
/// more than the connection it belongs to). Take what is to be completed out of the state
/// and complete it after the returned guard is gone.
pub(crate) fn lock<T>(state: &Mutex<T>) -> TxnLock<'_, T> {
    let guard = state.lock().unwrap_or_else(|p| p.into_inner());
    held::enter();
    TxnLock { guard }
}

impl<T> Deref for TxnLock<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for TxnLock<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T> Drop for TxnLock<'_, T> {
    fn drop(&mut self) {
        held::leave();
    }
}

/// How many [`TxnLock`]s this thread holds (debug builds only; release builds count nothing).
mod held {
    #[cfg(debug_assertions)]
    thread_local!(static HELD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });

    pub(super) fn enter() {
        #[cfg(debug_assertions)]
        HELD.with(|h| h.set(h.get() + 1));
    }

    pub(super) fn leave() {
        #[cfg(debug_assertions)]
        HELD.with(|h| h.set(h.get() - 1));
    }

    pub(super) fn any() -> bool {
        #[cfg(debug_assertions)]
        return HELD.with(|h| h.get() > 0);
        #[cfg(not(debug_assertions))]
        false
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::txn_table::TxnTable;
    use super::*;

    pub(in crate::client) type Log = Arc<Mutex<Vec<(u64, Status, Vec<u8>)>>>;

    /// A log of completions, and a maker of completions that write to it.
    pub(in crate::client) fn recorder() -> (Log, impl Fn() -> Completion) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        (log, move || {
            let l = l.clone();
            Box::new(move |r: Reply<'_>| l.lock().unwrap().push((r.txid, r.status, r.body.to_vec())))
                as Completion
        })
    }

    #[test]
    fn complete_runs_once_and_drop_cancels_the_rest() {
        let (log, make) = recorder();
        let counters = Arc::new(PeerCounters::default());
        let now = Instant::now();
        let a = Txn::new(1, now, Duration::ZERO, make(), counters.clone());
        let b = Txn::new(2, now, Duration::ZERO, make(), counters.clone());
        a.complete(Status::Ok, b"[]");
        drop(b);
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!((log[0].0, log[0].1, log[0].2.as_slice()), (1, Status::Ok, &b"[]"[..]));
        assert_eq!((log[1].0, log[1].1), (2, Status::Cancelled));
        assert_eq!(counters.completed(Status::Ok), 1);
        assert_eq!(counters.completed(Status::Cancelled), 1);
    }

    #[test]
    fn panicking_completion_is_contained() {
        let counters = Arc::new(PeerCounters::default());
        let now = Instant::now();
        let t = Txn::new(
            1,
            now,
            Duration::ZERO,
            Box::new(|_: Reply<'_>| panic!("host bug")) as Completion,
            counters.clone(),
        );
        t.complete(Status::Ok, b"");
        assert_eq!(counters.completed(Status::Ok), 1);
    }

    #[test]
    fn completions_wait_until_the_lock_is_gone() {
        let (log, make) = recorder();
        let counters = Arc::new(PeerCounters::default());
        let now = Instant::now();
        let table = Mutex::new(TxnTable::default());
        assert!(lock(&table).insert(Txn::new(7, now, Duration::ZERO, make(), counters.clone())).is_none());
        let txn = lock(&table).remove(7).unwrap();
        txn.complete(Status::Ok, b"");
        assert_eq!(log.lock().unwrap().len(), 1);
    }

    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "under a client lock")]
    fn a_completion_under_the_lock_is_caught_in_debug_builds() {
        let (_log, make) = recorder();
        let counters = Arc::new(PeerCounters::default());
        let now = Instant::now();
        let table = Mutex::new(TxnTable::default());
        assert!(lock(&table).insert(Txn::new(7, now, Duration::ZERO, make(), counters.clone())).is_none());
        let mut held = lock(&table);
        held.remove(7).unwrap().complete(Status::Ok, b"");
    }
}
