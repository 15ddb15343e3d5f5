//! Reading a connection: one read loop for every wire format hamux speaks.
//!
//! A [`FramedReader`] owns the bytes read from one connection and cuts them into messages
//! with a [`Decoder`]: [`HamuxFrames`] (the peer's hello, then frames), [`HttpRequests`]
//! or [`HttpResponses`]. It grows its buffer as messages need, keeps the bytes of an
//! incomplete message until the rest arrives (a decoder with state, like a chunked HTTP
//! reply, goes on from where it stopped), says whether the peer closed in the middle of a
//! message, and can bound how much an incomplete message may buffer.
//!
//! The caller drives it, so that it decides between two messages whether to read on: a
//! listener stops reading at its pending limit (backpressure reaches the peer through
//! TCP), a client notes when its peer was last heard from. Messages borrow from the
//! buffer, so nothing is copied that the caller does not copy.
//!
//! The test `reads_a_hello_then_frames_from_any_async_read` shows the usual loop.

use super::spare;
use crate::codec::{self, http, DecodeError, Frame};
use std::fmt;
use std::future::Future;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt};

/// A wire format: how one message is cut from the start of the bytes not decoded yet.
pub trait Decoder {
    /// A decoded message; it may borrow from the reader's buffer.
    type Item<'a>;
    type Error;

    /// Decodes the message at the start of `buf`: `Ok(None)` while more bytes are needed
    /// (called again with the same start and more behind it), else the message and how
    /// many bytes it used. An error means the stream is unusable.
    fn decode<'a>(&mut self, buf: &'a [u8]) -> Result<Option<(Self::Item<'a>, usize)>, Self::Error>;
}

/// Free space below which a read first grows the buffer.
const MIN_READ: usize = 16 * 1024;

/// The read side of one connection: bytes read and not yet decoded, and their decoder.
///
/// `D` may be `()` while the caller does not know the format yet (it looks at the first
/// bytes with [`peek`](Self::peek), then picks one with [`with_decoder`](Self::with_decoder)).
pub struct FramedReader<D> {
    buf: Vec<u8>,
    /// Where the bytes not decoded yet start; what lies before was handed out.
    at: usize,
    /// How much the buffer grows by when it runs short of free space.
    grow: usize,
    /// Most bytes an incomplete message may hold in the buffer (`None`: the decoder's
    /// own limits bound it).
    limit: Option<usize>,
    decoder: D,
}

/// Why [`FramedReader::read_more`] read nothing.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed the stream; `mid_message`: bytes of an incomplete message were left.
    Closed { mid_message: bool },
    /// An incomplete message holds more than the reader's limit (`buffered` bytes).
    TooLarge { buffered: usize },
    /// The stream failed (a reset, a TLS error).
    Io(std::io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Closed { mid_message: false } => write!(f, "peer closed the connection"),
            ReadError::Closed { mid_message: true } => {
                write!(f, "peer closed the connection in the middle of a message")
            }
            ReadError::TooLarge { buffered } => write!(f, "message still incomplete after {buffered} bytes"),
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReadError {}

impl<D> FramedReader<D> {
    /// A reader whose buffer grows by `capacity` bytes (at least 16 KiB) whenever less
    /// than 16 KiB is free before a read. It has none until its first read finds bytes.
    pub fn new(decoder: D, capacity: usize) -> FramedReader<D> {
        FramedReader { buf: Vec::new(), at: 0, grow: capacity.max(MIN_READ), limit: None, decoder }
    }

    /// Bounds what an incomplete message may buffer: beyond `limit` bytes,
    /// [`read_more`](Self::read_more) refuses with [`ReadError::TooLarge`]. For formats
    /// whose framing can grow without bound next to a bounded body (chunked HTTP).
    pub fn with_limit(mut self, limit: usize) -> FramedReader<D> {
        self.limit = Some(limit);
        self
    }

    /// The same bytes, decoded from now on with `decoder`.
    pub fn with_decoder<E>(self, decoder: E) -> FramedReader<E> {
        let FramedReader { buf, at, grow, limit, decoder: _ } = self;
        FramedReader { buf, at, grow, limit, decoder }
    }

    /// The bytes read and not decoded yet.
    pub fn peek(&self) -> &[u8] {
        &self.buf[self.at..]
    }

    /// How many bytes are read and not decoded yet.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.at
    }

    /// Reads once more from `io` behind the bytes not decoded yet and returns how many
    /// arrived. Cancel-safe: dropped before it completes (a timeout, a `select!`), it has
    /// lost nothing, and the next call reads on.
    ///
    /// A reader with nothing left to decode holds no buffer while it waits: it gives its
    /// buffer back to its thread's [`spare`] buffers (which says why) and takes one again
    /// when the socket has bytes.
    pub async fn read_more<R: AsyncRead + Unpin + ?Sized>(&mut self, io: &mut R) -> Result<usize, ReadError> {
        if self.at > 0 {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        if self.limit.is_some_and(|limit| self.buf.len() > limit) {
            return Err(ReadError::TooLarge { buffered: self.buf.len() });
        }
        std::future::poll_fn(|cx| self.poll_read_more(io, cx)).await
    }

    fn poll_read_more<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        io: &mut R,
        cx: &mut Context<'_>,
    ) -> Poll<Result<usize, ReadError>> {
        if self.buf.capacity() == 0 {
            self.buf = spare::take(self.grow);
        }
        if self.buf.capacity() - self.buf.len() < MIN_READ {
            self.buf.reserve(self.grow);
        }
        // tokio's read_buf, one poll of it: a read that is pending has taken nothing, so
        // its future can be dropped and made again at the next poll.
        let polled = std::pin::pin!(io.read_buf(&mut self.buf)).poll(cx);
        match polled {
            Poll::Pending => {
                if self.buf.is_empty() {
                    spare::give(std::mem::take(&mut self.buf));
                }
                Poll::Pending
            }
            Poll::Ready(Ok(0)) => Poll::Ready(Err(ReadError::Closed { mid_message: !self.buf.is_empty() })),
            Poll::Ready(Ok(n)) => Poll::Ready(Ok(n)),
            Poll::Ready(Err(e)) => Poll::Ready(Err(ReadError::Io(e))),
        }
    }
}

impl<D: Decoder> FramedReader<D> {
    /// The next complete message, if the bytes read hold one. A message borrows the
    /// reader until it is dropped.
    pub fn decode(&mut self) -> Result<Option<D::Item<'_>>, D::Error> {
        match self.decoder.decode(&self.buf[self.at..])? {
            None => Ok(None),
            Some((item, used)) => {
                self.at += used;
                Ok(Some(item))
            }
        }
    }
}

/// `hamux://`, from either side: the peer's hello, then frames of at most `max_body`.
pub struct HamuxFrames {
    max_body: usize,
    hello_seen: bool,
}

impl HamuxFrames {
    pub fn new(max_body: usize) -> HamuxFrames {
        HamuxFrames { max_body, hello_seen: false }
    }
}

/// What a `hamux://` peer sends.
#[derive(Debug, PartialEq, Eq)]
pub enum HamuxMessage<'a> {
    /// Its hello, once, first: it speaks this protocol `version`.
    Hello {
        version: u8,
    },
    Frame(Frame<'a>),
}

impl Decoder for HamuxFrames {
    type Item<'a> = HamuxMessage<'a>;
    type Error = DecodeError;

    fn decode<'a>(&mut self, buf: &'a [u8]) -> Result<Option<(HamuxMessage<'a>, usize)>, DecodeError> {
        if !self.hello_seen {
            let Some(version) = codec::decode_hello(buf)? else { return Ok(None) };
            self.hello_seen = true;
            return Ok(Some((HamuxMessage::Hello { version }, codec::HELLO_LEN)));
        }
        Ok(codec::decode_frame(buf, self.max_body)?.map(|(frame, used)| (HamuxMessage::Frame(frame), used)))
    }
}

/// HTTP/1.1 requests (a listener's side), bodies of at most `max_body`.
pub struct HttpRequests {
    max_body: usize,
}

impl HttpRequests {
    pub fn new(max_body: usize) -> HttpRequests {
        HttpRequests { max_body }
    }
}

impl Decoder for HttpRequests {
    type Item<'a> = http::HttpRequest<'a>;
    type Error = http::HttpError;

    fn decode<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Option<(http::HttpRequest<'a>, usize)>, http::HttpError> {
        http::decode_request(buf, self.max_body)
    }
}

/// HTTP/1.1 responses (a client's side), bodies of at most `max_body`. A chunked reply is
/// decoded as it arrives, each chunk once, however many reads it takes.
pub struct HttpResponses {
    max_body: usize,
    progress: http::ChunkedProgress,
}

impl HttpResponses {
    pub fn new(max_body: usize) -> HttpResponses {
        HttpResponses { max_body, progress: Default::default() }
    }
}

impl Decoder for HttpResponses {
    type Item<'a> = http::HttpResponse<'a>;
    type Error = http::HttpError;

    fn decode<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Option<(http::HttpResponse<'a>, usize)>, http::HttpError> {
        http::decode_response_resuming(buf, self.max_body, &mut self.progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::FrameType;
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A stream that delivers `chunks` one read each, then end of stream (or `error`). An
    /// empty chunk is a wait: that read is pending once (its waker woken at once).
    struct Chunks {
        chunks: VecDeque<Vec<u8>>,
        error: Option<std::io::ErrorKind>,
    }

    impl Chunks {
        fn new<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Chunks {
            Chunks { chunks: chunks.into_iter().map(<[u8]>::to_vec).collect(), error: None }
        }

        /// `bytes` cut after every `step` bytes.
        fn every(bytes: &[u8], step: usize) -> Chunks {
            Chunks::new(bytes.chunks(step))
        }

        /// As [`every`](Self::every), with a wait before every chunk.
        fn every_after_a_wait(bytes: &[u8], step: usize) -> Chunks {
            Chunks::new(bytes.chunks(step).flat_map(|chunk| [&[][..], chunk]))
        }
    }

    impl AsyncRead for Chunks {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            if self.chunks.front().is_some_and(Vec::is_empty) {
                self.chunks.pop_front();
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if let Some(mut chunk) = self.chunks.pop_front() {
                let n = chunk.len().min(buf.remaining());
                buf.put_slice(&chunk[..n]);
                if n < chunk.len() {
                    self.chunks.push_front(chunk.split_off(n));
                }
            } else if let Some(kind) = self.error {
                return Poll::Ready(Err(kind.into()));
            }
            Poll::Ready(Ok(()))
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    /// Decodes everything `io` delivers into owned messages, and how the stream ended.
    fn read_all<D, T>(
        reader: &mut FramedReader<D>,
        io: &mut Chunks,
        mut own: impl FnMut(D::Item<'_>) -> T,
    ) -> (Vec<T>, Result<ReadError, D::Error>)
    where
        D: Decoder,
    {
        block_on(async {
            let mut got = Vec::new();
            loop {
                loop {
                    match reader.decode() {
                        Ok(Some(item)) => got.push(own(item)),
                        Ok(None) => break,
                        Err(e) => return (got, Err(e)),
                    }
                }
                if let Err(end) = reader.read_more(io).await {
                    return (got, Ok(end));
                }
            }
        })
    }

    fn hamux_stream(bodies: &[&[u8]]) -> Vec<u8> {
        let mut wire = Vec::new();
        codec::encode_hello(&mut wire);
        for (txid, body) in bodies.iter().enumerate() {
            codec::encode_frame(&mut wire, FrameType::Request, txid as u64, body);
        }
        wire
    }

    fn owned_frame(m: HamuxMessage<'_>) -> Option<(u64, Vec<u8>)> {
        match m {
            HamuxMessage::Hello { version } => {
                assert_eq!(version, codec::VERSION);
                None
            }
            HamuxMessage::Frame(f) => Some((f.txid, f.body.to_vec())),
        }
    }

    #[test]
    fn frames_decode_the_same_however_reads_split_them() {
        let bodies: [&[u8]; 3] = [b"{}", &[7u8; 40_000], b""];
        let wire = hamux_stream(&bodies);
        let expected: Vec<_> = bodies.iter().enumerate().map(|(i, b)| Some((i as u64, b.to_vec()))).collect();
        for step in [1, 3, codec::HELLO_LEN, 1000, wire.len()] {
            // Waits between the reads too: a reader that waits in the middle of a message
            // keeps its bytes (only an empty buffer goes back to the thread's spares).
            for mut io in [Chunks::every(&wire, step), Chunks::every_after_a_wait(&wire, step)] {
                let mut reader = FramedReader::new(HamuxFrames::new(1 << 20), 0);
                let (got, end) = read_all(&mut reader, &mut io, owned_frame);
                assert_eq!(got[0], None, "the hello comes first");
                assert_eq!(got[1..], expected[..], "step {step}");
                assert!(matches!(end, Ok(ReadError::Closed { mid_message: false })), "step {step}: {end:?}");
            }
        }
    }

    #[test]
    fn a_waiting_reader_lends_its_buffer_to_the_next_reader_of_its_thread() {
        // A thread of its own: its spare buffers are this test's alone.
        std::thread::spawn(|| {
            let wire = hamux_stream(&[b"{}"]);
            let mut first = FramedReader::new(HamuxFrames::new(1 << 20), 0);
            let mut io = Chunks::new([&wire[..], &[][..]]);
            block_on(first.read_more(&mut io)).unwrap();
            while first.decode().unwrap().is_some() {}
            let memory = first.buf.as_ptr();
            assert_eq!(spare::kept(), 0);
            // Its next read waits: everything was decoded, so the buffer goes back.
            let mut cx = Context::from_waker(std::task::Waker::noop());
            assert!(std::pin::pin!(first.read_more(&mut io)).poll(&mut cx).is_pending());
            assert_eq!((first.buf.capacity(), spare::kept()), (0, 1));
            // Another connection's read on this thread lands in that memory.
            let mut second = FramedReader::new(HamuxFrames::new(1 << 20), 0);
            block_on(second.read_more(&mut Chunks::new([&wire[..]]))).unwrap();
            assert_eq!((second.peek().as_ptr(), spare::kept()), (memory, 0));
            // A reader waiting in the middle of a message keeps its bytes and its buffer.
            let mut partial = Chunks::new([&wire[..wire.len() - 1], &[][..]]);
            let mut third = FramedReader::new(HamuxFrames::new(1 << 20), 0);
            block_on(third.read_more(&mut partial)).unwrap();
            assert!(std::pin::pin!(third.read_more(&mut partial)).poll(&mut cx).is_pending());
            assert_eq!((third.buffered(), spare::kept()), (wire.len() - 1, 0));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_close_inside_a_message_is_told_apart() {
        let wire = hamux_stream(&[b"{\"command\":\"x\"}"]);
        let mut reader = FramedReader::new(HamuxFrames::new(1 << 20), 64);
        let (got, end) = read_all(&mut reader, &mut Chunks::new([&wire[..wire.len() - 1]]), owned_frame);
        assert_eq!(got, [None]);
        assert!(matches!(end, Ok(ReadError::Closed { mid_message: true })), "{end:?}");
        assert_eq!(reader.buffered(), wire.len() - 1 - codec::HELLO_LEN);
    }

    #[test]
    fn decode_errors_and_io_errors_end_the_stream() {
        let mut oversized = hamux_stream(&[]);
        codec::encode_frame(&mut oversized, FrameType::Request, 9, &[0; 100]);
        let mut reader = FramedReader::new(HamuxFrames::new(99), 0);
        let (_, end) = read_all(&mut reader, &mut Chunks::new([&oversized[..]]), owned_frame);
        assert!(matches!(end, Err(DecodeError::Oversized { txid: 9, .. })), "{end:?}");

        let mut reset = Chunks::new([&b"HAM"[..]]);
        reset.error = Some(std::io::ErrorKind::ConnectionReset);
        let mut reader = FramedReader::new(HamuxFrames::new(99), 0);
        let (_, end) = read_all(&mut reader, &mut reset, owned_frame);
        assert!(matches!(end, Ok(ReadError::Io(ref e)) if e.kind() == std::io::ErrorKind::ConnectionReset));
    }

    #[test]
    fn pipelined_http_requests_and_a_peek_before_the_format_is_known() {
        let mut wire = Vec::new();
        http::encode_request(&mut wire, "h", "/a", b"{}", None);
        http::encode_request(&mut wire, "h", "/b", br#"{"x":1}"#, None);
        let mut io = Chunks::every(&wire, 5);
        let mut sniffing = FramedReader::new((), 16);
        block_on(sniffing.read_more(&mut io)).unwrap();
        assert_eq!(sniffing.peek(), b"POST ");
        let mut reader = sniffing.with_decoder(HttpRequests::new(1024));
        let (got, end) = read_all(&mut reader, &mut io, |r| (r.path.to_string(), r.body.to_vec()));
        assert_eq!(got, [("/a".to_string(), b"{}".to_vec()), ("/b".to_string(), br#"{"x":1}"#.to_vec())]);
        assert!(matches!(end, Ok(ReadError::Closed { mid_message: false })));
    }

    #[test]
    fn a_chunked_reply_resumes_and_the_limit_bounds_its_framing() {
        let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[ {\r\n3\r\n} ]\r\n0\r\n\r\n";
        let mut reader = FramedReader::new(HttpResponses::new(1024), 0);
        let (got, _) =
            read_all(&mut reader, &mut Chunks::every(reply, 1), |r| (r.status, r.body.into_owned()));
        assert_eq!(got, [(200, b"[ {} ]".to_vec())]);

        // Many one-byte chunks: the body stays within its maximum, the framing does not.
        let mut long = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..100 {
            long.extend_from_slice(b"1;padding-padding-padding\r\nx\r\n");
        }
        let mut reader = FramedReader::new(HttpResponses::new(1024), 0).with_limit(1000);
        let (got, end) = read_all(&mut reader, &mut Chunks::every(&long, 100), |r| r.status);
        assert!(got.is_empty());
        assert!(matches!(end, Ok(ReadError::TooLarge { buffered }) if buffered > 1000), "{end:?}");
    }

    /// The usual loop: decode what is buffered, then read more, until the peer closes.
    #[test]
    fn reads_a_hello_then_frames_from_any_async_read() {
        use crate::codec::{self, FrameType};
        use crate::io::framed::{FramedReader, HamuxFrames, HamuxMessage, ReadError};

        let mut wire = Vec::new();
        codec::encode_hello(&mut wire);
        codec::encode_frame(&mut wire, FrameType::Request, 7, br#"{"command":"ha-heartbeat"}"#);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let mut socket = &wire[..]; // any AsyncRead: a TcpStream, a TLS stream's read half
            let mut reader = FramedReader::new(HamuxFrames::new(1 << 20), 64 * 1024);
            let mut txids = Vec::new();
            loop {
                while let Some(message) = reader.decode().expect("a well-formed stream") {
                    if let HamuxMessage::Frame(frame) = message {
                        txids.push(frame.txid);
                    }
                }
                match reader.read_more(&mut socket).await {
                    Ok(_bytes_read) => {}
                    Err(ReadError::Closed { mid_message }) => break assert!(!mid_message),
                    Err(e) => panic!("{e}"),
                }
            }
            assert_eq!(txids, [7]);
        });
    }
}
