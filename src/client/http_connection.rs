//! One live `http://` connection: a request written, its reply read back, in order.

use super::failed_write::why_write_failed;
use super::stats::PeerCounters;
use crate::codec::http;
use crate::io::{Idle, Stream};
use crate::Status;
use std::sync::atomic::Ordering;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A connection and what has arrived on it but is not yet a whole reply.
pub(crate) struct HttpConnection {
    stream: Stream,
    buf: Vec<u8>,
    /// How far a chunked reply arriving in `buf` has been decoded.
    chunked: http::ChunkedProgress,
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
    pub(crate) fn new(stream: Stream) -> HttpConnection {
        HttpConnection { stream, buf: Vec::new(), chunked: Default::default() }
    }

    /// Whether an idle keep-alive connection is still usable: not closed by the peer and
    /// with no unsolicited bytes waiting. One non-blocking read attempt, so a connection
    /// the peer closed while idle is replaced before a request is written to it.
    pub(crate) fn still_open(&mut self) -> bool {
        self.stream.check_idle() == Idle::Open && self.buf.is_empty()
    }

    /// Writes `request` and reads its reply (at most `max` bytes of body, within reason).
    pub(crate) async fn round_trip(
        &mut self,
        request: &[u8],
        max: usize,
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
        loop {
            match http::decode_response_resuming(&self.buf, max, &mut self.chunked) {
                Ok(Some((resp, used))) => {
                    let reply =
                        Reply { status: resp.status, body: resp.body.into_owned(), close: resp.close };
                    self.buf.drain(..used);
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(e) => return Err(Failure::protocol(format!("bad HTTP reply: {e}"))),
            }
            // A reply's framing (chunk lines, trailers) may add to its body, within reason:
            // a peer cannot make this buffer grow far past max-frame-bytes.
            if self.buf.len() > max.saturating_mul(2).saturating_add(64 * 1024) {
                let why = format!("HTTP reply still incomplete after {} bytes", self.buf.len());
                return Err(Failure::protocol(why));
            }
            self.buf.reserve(16 * 1024);
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) => return Err(Failure::closed(self.buf.is_empty())),
                Ok(n) => counters.bytes_in.fetch_add(n as u64, Ordering::Relaxed),
                Err(e) => {
                    // A reset, or (TLS) a close without close_notify: closed all the same.
                    let closed = matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
                    );
                    if closed && self.buf.is_empty() {
                        return Err(Failure::closed(true));
                    }
                    return Err(Failure::lost(e));
                }
            };
        }
    }
}
