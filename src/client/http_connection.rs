//! One live `http://` connection: a request written, its reply read back, in order.

use super::failed_write::why_write_failed;
use super::stats::PeerCounters;
use crate::io::framed::{FramedReader, HttpResponses, ReadError};
use crate::io::{Idle, Stream};
use crate::Status;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a connection may have been quiet and still be trusted to be open on what the
/// runtime knows of it alone; one quiet longer is also asked of the kernel (see
/// [`HttpConnection::still_open`]).
const ASK_THE_KERNEL_AFTER: Duration = Duration::from_millis(1);

/// A connection and what has arrived on it but is not yet a whole reply.
pub(crate) struct HttpConnection {
    stream: Stream,
    /// Replies as they arrive (a chunked one decoded on from where it stopped).
    replies: FramedReader<HttpResponses>,
    /// When the last reply was read (at first: when the connection was made).
    quiet_since: Instant,
}

/// A whole reply, borrowed from the connection's buffer for as long as it is looked at.
pub(crate) struct HttpReply<'a> {
    pub(crate) status: u16,
    pub(crate) body: &'a [u8],
    /// The peer closes the connection after it.
    pub(crate) close: bool,
}

/// Why a round trip failed; the connection is unusable after it.
pub(crate) struct Failure {
    pub(crate) status: Status,
    pub(crate) reason: String,
    /// The peer closed the connection without sending a byte of the reply.
    pub(crate) closed_before_reply: bool,
}

impl Failure {
    fn lost(e: std::io::Error) -> Failure {
        let (status, reason) = crate::tls::describe_io_error(&e);
        Failure { status, reason, closed_before_reply: false }
    }

    fn closed(closed_before_reply: bool) -> Failure {
        Failure {
            status: Status::Connect,
            reason: "peer closed the connection before replying".into(),
            closed_before_reply,
        }
    }

    fn protocol(reason: String) -> Failure {
        Failure { status: Status::Protocol, reason, closed_before_reply: false }
    }
}

impl HttpConnection {
    /// A connection whose replies carry at most `max` bytes of body. A reply's framing
    /// (chunk lines, trailers) may add to that, within reason: a peer cannot make the
    /// buffer grow far past it.
    pub(crate) fn new(stream: Stream, max: usize) -> HttpConnection {
        let limit = max.saturating_mul(2).saturating_add(64 * 1024);
        let replies = FramedReader::new(HttpResponses::new(max), 0).with_limit(limit);
        HttpConnection { stream, replies, quiet_since: Instant::now() }
    }

    /// Whether an idle keep-alive connection is still usable: not closed by the peer and
    /// with no unsolicited bytes waiting, so that a connection the peer closed while idle
    /// is replaced before a request is written to it.
    ///
    /// First one read attempt on what the runtime knows: a socket that had no event since
    /// its last read is not even asked (this costs no system call, and it is the common
    /// case under load: a connection reused microseconds after its last reply). The runtime
    /// learns of events each time its thread polls for them, which a busy thread does
    /// between a few dozen tasks; so a connection quiet for longer than
    /// [`ASK_THE_KERNEL_AFTER`] is also asked of the kernel (a non-blocking peek). A peer
    /// closes an idle connection after seconds of quiet (Kea's idle timeout), never within
    /// a millisecond of its last reply.
    pub(crate) fn still_open(&mut self) -> bool {
        if self.replies.buffered() != 0 || self.runtime_saw_something() {
            return false;
        }
        self.quiet_since.elapsed() < ASK_THE_KERNEL_AFTER || self.stream.check_idle() == Idle::Open
    }

    /// Whether a read attempt on what the runtime knows of the socket finds anything:
    /// bytes nobody asked for, the end of the stream, or an error.
    fn runtime_saw_something(&mut self) -> bool {
        if let Stream::Plain(tcp) = &self.stream {
            // Reads only if the runtime saw the socket readable; registers no waker. A
            // byte read here is unsolicited: the connection is dropped with it.
            return !matches!(tcp.try_read(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
        }
        // TLS: through the session, which settles housekeeping records (session tickets)
        // itself. Cancel-safe: dropped unfinished, the read has taken nothing.
        let mut cx = Context::from_waker(Waker::noop());
        pin!(self.replies.read_more(&mut self.stream)).poll(&mut cx).is_ready()
    }

    /// Writes `request`, reads its reply and hands it to `on_reply` while it lies in the
    /// read buffer (nothing is copied), returning what `on_reply` returns.
    pub(crate) async fn round_trip<R>(
        &mut self,
        request: &[u8],
        counters: &PeerCounters,
        on_reply: impl FnOnce(HttpReply<'_>) -> R,
    ) -> Result<R, Failure> {
        let stream = &mut self.stream;
        let written = async {
            stream.write_all(request).await?;
            // TLS keeps records in its buffer until flushed.
            stream.flush().await
        };
        if let Err(e) = written.await {
            let read_side = async {
                let mut scratch = [0u8; 256];
                match stream.read(&mut scratch).await {
                    Err(e) => crate::tls::describe_io_error(&e),
                    Ok(_) => (Status::Connect, String::new()),
                }
            };
            let (status, reason) = why_write_failed(e, read_side).await;
            return Err(Failure { status, reason, closed_before_reply: false });
        }
        counters.bytes_out.fetch_add(request.len() as u64, Ordering::Relaxed);
        let replies = &mut self.replies;
        loop {
            match replies.decode() {
                Ok(Some(resp)) => {
                    self.quiet_since = Instant::now();
                    return Ok(on_reply(HttpReply {
                        status: resp.status,
                        body: &resp.body,
                        close: resp.close,
                    }));
                }
                Ok(None) => {}
                Err(e) => return Err(Failure::protocol(format!("bad HTTP reply: {e}"))),
            }
            match replies.read_more(&mut self.stream).await {
                Ok(n) => counters.bytes_in.fetch_add(n as u64, Ordering::Relaxed),
                Err(ReadError::Closed { mid_message }) => return Err(Failure::closed(!mid_message)),
                Err(ReadError::TooLarge { buffered }) => {
                    let why = format!("HTTP reply still incomplete after {buffered} bytes");
                    return Err(Failure::protocol(why));
                }
                Err(ReadError::Io(e)) => {
                    // A reset, or (TLS) a close without close_notify: closed all the same.
                    let closed = matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
                    );
                    if closed && replies.buffered() == 0 {
                        return Err(Failure::closed(true));
                    }
                    return Err(Failure::lost(e));
                }
            };
        }
    }
}
