//! Work handed to a single-threaded host: queued here and signalled through an eventfd
//! the host polls, then run on the host's own thread when it calls `dispatch`.

use crossbeam_queue::SegQueue;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A queue whose non-emptiness is signalled on a pollable file descriptor.
///
/// Every push writes the eventfd; `take` clears it first and re-signals if it leaves items
/// behind, so the descriptor is readable whenever work is waiting and no signal is lost.
pub struct PollQueue<T> {
    items: SegQueue<T>,
    event: OwnedFd,
}

impl<T> PollQueue<T> {
    pub fn new() -> std::io::Result<PollQueue<T>> {
        // SAFETY: eventfd has no memory arguments; the result is checked before use.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is a descriptor we just opened and own.
        Ok(PollQueue { items: SegQueue::new(), event: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// The descriptor to poll for readability.
    pub fn fd(&self) -> RawFd {
        self.event.as_raw_fd()
    }

    fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a local to our own eventfd. A full counter (EAGAIN)
        // still leaves the descriptor readable, which is all a signal needs.
        unsafe { libc::write(self.fd(), (&one as *const u64).cast(), 8) };
    }

    fn clear(&self) {
        let mut count: u64 = 0;
        // SAFETY: reads 8 bytes into a local from our own non-blocking eventfd.
        unsafe { libc::read(self.fd(), (&mut count as *mut u64).cast(), 8) };
    }

    pub fn push(&self, item: T) {
        self.items.push(item);
        self.signal();
    }

    /// Pops up to `max` items for the caller to run; signals again if more are left.
    pub fn take(&self, max: usize) -> Vec<T> {
        self.clear();
        let mut taken = Vec::new();
        while taken.len() < max {
            match self.items.pop() {
                Some(item) => taken.push(item),
                None => return taken,
            }
        }
        if !self.items.is_empty() {
            self.signal();
        }
        taken
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(fd: RawFd) -> bool {
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one pollfd on the stack, zero timeout.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    #[test]
    fn descriptor_is_readable_exactly_while_items_wait() {
        let q = PollQueue::new().unwrap();
        assert!(!readable(q.fd()));
        for i in 0..5 {
            q.push(i);
        }
        assert!(readable(q.fd()));
        assert_eq!(q.take(3), vec![0, 1, 2]);
        assert!(readable(q.fd()), "two left: still signalled");
        assert_eq!(q.take(10), vec![3, 4]);
        assert!(!readable(q.fd()));
        assert!(q.take(10).is_empty());
    }
}
