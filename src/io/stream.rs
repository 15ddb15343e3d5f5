//! A connection's byte stream: plain TCP or TLS over TCP, and its read and write halves.
//!
//! Plain TCP splits into the socket's own owned halves (no lock between reader and
//! writer); a TLS session is one state machine, so its halves share it through tokio's
//! `split`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

type ClientTls = tokio_rustls::client::TlsStream<NoSigpipeTcp>;
type ServerTls = tokio_rustls::server::TlsStream<NoSigpipeTcp>;

/// The TCP socket under a TLS session. rustls writes its records with `write_vectored`,
/// which a `TcpStream` turns into `writev(2)`; unlike the `send(2)` with `MSG_NOSIGNAL`
/// behind plain writes, `writev` on a connection the peer has closed raises SIGPIPE, which
/// kills a C host that has not ignored it. This wrapper leaves vectored writes to the
/// default (one `send` per buffer), so no write of ours can raise a signal.
pub struct NoSigpipeTcp(pub TcpStream);

impl AsyncRead for NoSigpipeTcp {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for NoSigpipeTcp {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

/// An established connection.
pub enum Stream {
    Plain(TcpStream),
    Client(Box<ClientTls>),
    Server(Box<ServerTls>),
}

/// What a non-blocking look at an idle connection found.
#[derive(Debug, PartialEq, Eq)]
pub enum Idle {
    /// Nothing to read: the connection can carry a request.
    Open,
    /// The peer closed or reset it.
    Closed,
    /// The peer sent data nobody asked for: the connection is out of step.
    Unsolicited,
}

impl Stream {
    pub fn into_split(self) -> (ReadHalf, WriteHalf) {
        match self {
            Stream::Plain(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Plain(r), WriteHalf::Plain(w))
            }
            tls => {
                let (r, w) = tokio::io::split(tls);
                (ReadHalf::Tls(r), WriteHalf::Tls(w))
            }
        }
    }

    /// The socket's descriptor.
    fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Stream::Plain(s) => s.as_raw_fd(),
            Stream::Client(s) => s.get_ref().0 .0.as_raw_fd(),
            Stream::Server(s) => s.get_ref().0 .0.as_raw_fd(),
        }
    }

    /// Whether an idle connection is still usable, without waiting. The kernel is asked
    /// first (a non-blocking peek), so a close that arrived while the IO thread was busy
    /// is seen. When bytes are waiting on a TLS connection they are read through the TLS
    /// layer, which consumes housekeeping records (session tickets) rather than taking
    /// them for unsolicited data; anything it cannot settle at once counts as not usable.
    pub fn check_idle(&mut self) -> Idle {
        let mut byte = 0u8;
        // SAFETY: a one-byte peek into a local through the socket's own descriptor.
        let n = unsafe {
            libc::recv(self.raw_fd(), (&mut byte as *mut u8).cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT)
        };
        if n < 0 {
            return match io::Error::last_os_error().kind() {
                io::ErrorKind::WouldBlock => Idle::Open,
                _ => Idle::Closed,
            };
        }
        if n == 0 {
            return Idle::Closed;
        }
        if let Stream::Plain(_) = self {
            return Idle::Unsolicited;
        }
        let mut buf = [0u8; 1];
        let mut buf = ReadBuf::new(&mut buf);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match Pin::new(&mut *self).poll_read(&mut cx, &mut buf) {
            // The records were TLS housekeeping, consumed: usable if nothing else waits.
            Poll::Pending if self.nothing_waiting() => Idle::Open,
            Poll::Pending => Idle::Unsolicited,
            Poll::Ready(Ok(())) if buf.filled().is_empty() => Idle::Closed,
            Poll::Ready(Ok(())) => Idle::Unsolicited,
            Poll::Ready(Err(_)) => Idle::Closed,
        }
    }

    /// Whether the socket has nothing to read right now (a non-blocking peek).
    fn nothing_waiting(&self) -> bool {
        let mut byte = 0u8;
        // SAFETY: as in `check_idle`.
        let n = unsafe {
            libc::recv(self.raw_fd(), (&mut byte as *mut u8).cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT)
        };
        n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Stream::Plain($s) => $e,
            Stream::Client($s) => $e,
            Stream::Server($s) => $e,
        }
    };
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        delegate!(self, s => Pin::new(s).poll_write(cx, buf))
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_flush(cx))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}

/// The reading half of a [`Stream`].
pub enum ReadHalf {
    Plain(OwnedReadHalf),
    Tls(tokio::io::ReadHalf<Stream>),
}

/// The writing half of a [`Stream`]. Vectored writes are left to the default (see
/// [`NoSigpipeTcp`]).
pub enum WriteHalf {
    Plain(OwnedWriteHalf),
    Tls(tokio::io::WriteHalf<Stream>),
}

impl AsyncRead for ReadHalf {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadHalf::Plain(r) => Pin::new(r).poll_read(cx, buf),
            ReadHalf::Tls(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WriteHalf {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => Pin::new(w).poll_write(cx, buf),
            WriteHalf::Tls(w) => Pin::new(w).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => Pin::new(w).poll_flush(cx),
            WriteHalf::Tls(w) => Pin::new(w).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => Pin::new(w).poll_shutdown(cx),
            WriteHalf::Tls(w) => Pin::new(w).poll_shutdown(cx),
        }
    }
}
