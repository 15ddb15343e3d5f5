//! One non-blocking TCP connection of the loop, either end: what was read and not yet
//! decoded, and what was encoded and not yet written. As in `raw_bench.c`: one `read`
//! per readiness event, every complete message handled, then one `write` for the batch.

use super::epoll::Epoll;
use crate::bench::Transport;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;

/// What a read found.
pub enum Filled {
    /// Bytes arrived (or none yet: the socket had nothing after all).
    Open,
    /// The peer closed the connection.
    Closed,
}

pub struct Conn {
    pub stream: TcpStream,
    pub token: u64,
    /// Read bytes: `input[..len]`; its size bounds one read.
    input: Box<[u8]>,
    len: usize,
    /// Encoded messages: `output[written..]` is still to be written.
    pub output: Vec<u8>,
    written: usize,
    /// EPOLLOUT is armed (the socket was full).
    watching_writes: bool,
    /// The largest message body accepted (a longer one is a broken stream).
    pub max_body: usize,
}

/// What one read takes at most, beyond room for a partial message left from the last one.
const READ_CHUNK: usize = 256 * 1024;

impl Conn {
    /// Makes `stream` non-blocking, without Nagle, for `wire`'s messages with bodies of up
    /// to `max_body` bytes.
    pub fn new(stream: TcpStream, token: u64, wire: Transport, max_body: usize) -> io::Result<Conn> {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            token,
            input: vec![0; READ_CHUNK + wire.overhead() + max_body].into_boxed_slice(),
            len: 0,
            output: Vec::with_capacity(64 * 1024),
            written: 0,
            watching_writes: false,
            max_body,
        })
    }

    pub fn fd(&self) -> i32 {
        self.stream.as_raw_fd()
    }

    /// One read of what is there, appended to the input.
    pub fn fill(&mut self) -> io::Result<Filled> {
        loop {
            match (&self.stream).read(&mut self.input[self.len..]) {
                Ok(0) if self.len < self.input.len() => return Ok(Filled::Closed),
                Ok(n) => {
                    self.len += n;
                    return Ok(Filled::Open);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Filled::Open),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The bytes read and not yet consumed.
    pub fn input(&self) -> &[u8] {
        &self.input[..self.len]
    }

    /// The input, and the output to encode answers into while messages borrow the input.
    pub fn split(&mut self) -> (&[u8], &mut Vec<u8>) {
        (&self.input[..self.len], &mut self.output)
    }

    /// Drops the first `used` input bytes (the messages handled), keeping a partial one.
    pub fn consume(&mut self, used: usize) {
        self.input.copy_within(used..self.len, 0);
        self.len -= used;
    }

    /// Writes what the socket takes; arms EPOLLOUT while output is left, disarms it after.
    pub fn flush(&mut self, epoll: &Epoll) -> io::Result<()> {
        while self.written < self.output.len() {
            match (&self.stream).write(&self.output[self.written..]) {
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if self.written == self.output.len() {
            self.output.clear();
            self.written = 0;
        }
        let want = !self.output.is_empty();
        if want != self.watching_writes {
            epoll.set_writable(self.fd(), self.token, want)?;
            self.watching_writes = want;
        }
        Ok(())
    }
}
