//! Each IO thread's byte buffers not in use, shared by all its connections' reads and
//! writes: a connection waiting for its socket holds none.
//!
//! A reader takes one when its socket has bytes and gives it back when it waits with
//! nothing left to decode; an outbox takes one for the first frame pushed after its
//! writer took the last batch, and the writer gives it back once that batch is written.
//! Last given, first taken, so what is read or encoded next lands in the memory used last,
//! which is in cache. With a buffer of its own for each direction, every connection kept
//! two or three: 128 connections on two threads (64 peers) were 8 MiB and more of buffers
//! that the kernel and the encoder met cold, for a sixth of what a client's CPU per update
//! grew by from 1 peer to 64; and an idle connection held them all the same.
//!
//! A thread that is not an IO thread (a host thread pushing to an outbox) has a pool too,
//! but nothing gives back to it: it takes a new buffer each time.

use std::cell::RefCell;

/// Buffers a thread keeps: more than its connections that are between taking a buffer
/// and giving it back at once (a reader lets others run only every so many messages).
const KEPT: usize = 16;

/// The largest buffer kept (one a huge message grew is freed instead).
const KEPT_CAPACITY: usize = 256 * 1024;

thread_local! {
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A spare buffer of this thread's (empty), or a new one of `capacity` bytes.
pub(crate) fn take(capacity: usize) -> Vec<u8> {
    SPARE.try_with(|s| s.borrow_mut().pop()).ok().flatten().unwrap_or_else(|| Vec::with_capacity(capacity))
}

/// Keeps `buf` (emptied) for this thread's next read or push, unless enough are kept.
pub(crate) fn give(mut buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > KEPT_CAPACITY {
        return;
    }
    buf.clear();
    // A thread being torn down keeps nothing (the buffer is freed here).
    let _ = SPARE.try_with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < KEPT {
            s.push(buf);
        }
    });
}

/// How many buffers this thread keeps now.
#[cfg(test)]
pub(crate) fn kept() -> usize {
    SPARE.with(|s| s.borrow().len())
}
