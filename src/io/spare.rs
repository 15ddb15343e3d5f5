//! Each IO thread's byte buffers not in use, shared by all its connections' reads and
//! writes: a connection waiting for its socket holds none.
//!
//! A reader takes one when its socket has bytes and gives it back when it waits with
//! nothing left to decode; an outbox takes one for the first frame pushed after its
//! writer took the last batch, and the writer gives it back once that batch is written.
//! Last given, first taken, so what is read or encoded next lands in the memory used last,
//! which is in cache. With buffers of its own, every connection kept two or three: 128
//! connections on two threads (64 peers) had 8 MiB and more that the kernel and the
//! encoder met cold (sharing the read buffers alone took 0.16–0.22 µs off a client's CPU
//! per update at 64 peers, a quarter to a third of what it grew by from 1 peer to 64); and
//! an idle connection held them all the same.
//!
//! Buffers also travel between threads: a host thread pushing to an outbox whose writer
//! took the last batch takes a buffer that the connection's IO thread, having written it,
//! keeps. So a thread whose own spares are full puts what it gives in a pool shared by
//! all threads, and a thread that has none (a host thread) takes from there before it
//! allocates: at steady state nothing is allocated on either side.

use crossbeam_queue::ArrayQueue;
use once_cell::sync::Lazy;
use std::cell::RefCell;

/// Buffers a thread keeps of its own: enough for the few connections of a busy thread
/// that hold one at once; with many (64 peers) more are out, and come back to the shared
/// pool.
const KEPT: usize = 16;

/// The largest buffer kept (one a huge message grew is freed instead).
const KEPT_CAPACITY: usize = 256 * 1024;

/// Buffers the shared pool keeps.
const SHARED_KEPT: usize = 64;

thread_local! {
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

static SHARED: Lazy<ArrayQueue<Vec<u8>>> = Lazy::new(|| ArrayQueue::new(SHARED_KEPT));

/// A spare buffer (empty) of this thread's, else of the shared pool's, else a new one of
/// `capacity` bytes.
pub(crate) fn take(capacity: usize) -> Vec<u8> {
    SPARE
        .try_with(|s| s.borrow_mut().pop())
        .ok()
        .flatten()
        .or_else(|| SHARED.pop())
        .unwrap_or_else(|| Vec::with_capacity(capacity))
}

/// Keeps `buf` (emptied) for this thread's next read or push, or if this thread keeps
/// enough, in the shared pool; if that is full too, frees it.
pub(crate) fn give(mut buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > KEPT_CAPACITY {
        return;
    }
    buf.clear();
    let mut extra = Some(buf);
    // A thread being torn down keeps nothing of its own: the shared pool may.
    let _ = SPARE.try_with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < KEPT {
            s.extend(extra.take());
        }
    });
    if let Some(buf) = extra {
        let _ = SHARED.push(buf);
    }
}

/// How many buffers this thread keeps now.
#[cfg(test)]
pub(crate) fn kept() -> usize {
    SPARE.with(|s| s.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_thread_gives_beyond_its_own_spares_a_thread_without_any_takes() {
        // Buffers of a capacity no other test uses, given on a thread that then keeps
        // KEPT of them and puts the rest in the shared pool.
        const MARK: usize = 12_345;
        std::thread::spawn(|| {
            for _ in 0..KEPT + 8 {
                give(Vec::with_capacity(MARK));
            }
            assert_eq!(kept(), KEPT);
        })
        .join()
        .unwrap();
        // A thread of its own, without spares, takes them instead of allocating.
        let taken =
            std::thread::spawn(|| (0..8).map(|_| take(64).capacity()).collect::<Vec<_>>()).join().unwrap();
        assert!(taken.contains(&MARK), "took {taken:?}, none of the given ones");
        // Too large to keep: freed, not kept (a thread with room keeps what it may).
        std::thread::spawn(|| {
            give(Vec::with_capacity(KEPT_CAPACITY + 1));
            assert_eq!(kept(), 0);
            give(Vec::with_capacity(KEPT_CAPACITY));
            assert_eq!(kept(), 1);
        })
        .join()
        .unwrap();
    }
}
