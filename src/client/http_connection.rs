//! One live `http://` connection: a request written, its reply read back, in order.

use super::failed_write::why_write_failed;
use super::stats::PeerCounters;
use crate::io::framed::{FramedReader, HttpResponses, ReadError};
use crate::io::{Idle, Stream};
use crate::Status;
use std::sync::atomic::Ordering;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A connection and what has arrived on it but is not yet a whole reply.
pub(crate) struct HttpConnection {
    stream: Stream,
    /// Replies as they arrive (a chunked one decoded on from where it stopped).
    replies: FramedReader<HttpResponses>,
}

/// A whole reply.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
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
        HttpConnection { stream, replies: FramedReader::new(HttpResponses::new(max), 0).with_limit(limit) }
    }

    /// Whether an idle keep-alive connection is still usable: not closed by the peer and
    /// with no unsolicited bytes waiting. One non-blocking read attempt, so a connection
    /// the peer closed while idle is replaced before a request is written to it.
    pub(crate) fn still_open(&mut self) -> bool {
        self.stream.check_idle() == Idle::Open && self.replies.buffered() == 0
    }

    /// Writes `request` and reads its reply.
    pub(crate) async fn round_trip(
        &mut self,
        request: &[u8],
        counters: &PeerCounters,
    ) -> Result<Reply, Failure> {
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
                    return Ok(Reply { status: resp.status, body: resp.body.into_owned(), close: resp.close })
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
