//! A thin safe wrapper over Linux epoll (libc), level-triggered, one `u64` token per
//! descriptor: all the loop needs, and no event library in between.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Readiness of one registered descriptor, as `epoll_wait` reported it.
#[derive(Clone, Copy)]
pub struct Event {
    pub token: u64,
    /// Readable, or hung up / failed (a read will tell which).
    pub readable: bool,
    pub writable: bool,
}

/// One epoll instance; several threads may register descriptors in it while one waits.
pub struct Epoll {
    fd: OwnedFd,
}

/// Room for the events of one wait, owned by the waiting thread.
pub struct Events {
    raw: Vec<libc::epoll_event>,
    ready: usize,
}

impl Events {
    pub fn new() -> Events {
        Events { raw: vec![libc::epoll_event { events: 0, u64: 0 }; 64], ready: 0 }
    }

    /// The events of the last wait.
    pub fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        let (read_bits, write_bits) = (libc::EPOLLIN | libc::EPOLLHUP | libc::EPOLLERR, libc::EPOLLOUT);
        self.raw[..self.ready].iter().map(move |e| {
            let (bits, token) = (e.events, e.u64);
            Event { token, readable: bits & read_bits as u32 != 0, writable: bits & write_bits as u32 != 0 }
        })
    }
}

/// The interest set: always readable, writable only while output waits.
fn interest(writable: bool) -> u32 {
    (libc::EPOLLIN | if writable { libc::EPOLLOUT } else { 0 }) as u32
}

impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: plain syscall; the descriptor it returns is owned from here on.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Epoll { fd })
    }

    fn control(&self, op: libc::c_int, fd: RawFd, token: u64, writable: bool) -> io::Result<()> {
        let mut event = libc::epoll_event { events: interest(writable), u64: token };
        // SAFETY: `event` is a valid epoll_event for the duration of the call.
        if unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut event) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Watches `fd` for reading under `token`.
    pub fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        self.control(libc::EPOLL_CTL_ADD, fd, token, false)
    }

    /// Also watches `fd` for writing (or stops to).
    pub fn set_writable(&self, fd: RawFd, token: u64, writable: bool) -> io::Result<()> {
        self.control(libc::EPOLL_CTL_MOD, fd, token, writable)
    }

    pub fn remove(&self, fd: RawFd) {
        // SAFETY: a null event is allowed for EPOLL_CTL_DEL.
        unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
    }

    /// Waits up to `timeout` for events, which replace those in `out`.
    pub fn wait(&self, timeout: Duration, out: &mut Events) -> io::Result<()> {
        out.ready = 0;
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        let cap = out.raw.len() as i32;
        // SAFETY: `out.raw` has room for `cap` entries.
        let n = unsafe { libc::epoll_wait(self.fd.as_raw_fd(), out.raw.as_mut_ptr(), cap, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted { Ok(()) } else { Err(e) };
        }
        out.ready = n as usize;
        Ok(())
    }
}
