//! The `hamux://` framing: a hello, then length-prefixed frames carrying a 64-bit txid.
//!
//! All integers are big-endian. Decoding works on a byte slice that may hold a partial
//! frame (then it asks for more) and never allocates: a frame borrows its body from the
//! input, so the caller decides whether to copy. The length is checked against the
//! receiver's maximum before anything waits for the body, so a hostile 4 GiB length is an
//! error at once, not a 4 GiB buffer.

use std::fmt;

/// The first four bytes either side sends: tells hamux from HTTP on a shared port.
pub const MAGIC: [u8; 4] = *b"HAMX";
/// The protocol version this build speaks.
pub const VERSION: u8 = 1;
/// Hello: magic (4), version (1), flags (1, zero), reserved (2, zero).
pub const HELLO_LEN: usize = 8;
/// Frame header: type (1), flags (1), reserved (2, zero), body length (4), txid (8).
pub const HEADER_LEN: usize = 16;

/// What a frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameType {
    /// A command; the receiver answers it with a Response or an Error of the same txid.
    Request = 1,
    /// The answer to the Request with the same txid.
    Response = 2,
    /// The Request with this txid failed: body is a status code (u32) and a UTF-8 message.
    /// Txid 0 means the connection itself failed and is about to close.
    Error = 3,
    /// Liveness probe; answered by a Pong with the same txid and body.
    Ping = 4,
    /// Answer to a Ping.
    Pong = 5,
    /// The sender will take no new Requests; those already sent are still answered.
    Goaway = 6,
}

impl FrameType {
    fn from_u8(byte: u8) -> Option<FrameType> {
        Some(match byte {
            1 => FrameType::Request,
            2 => FrameType::Response,
            3 => FrameType::Error,
            4 => FrameType::Ping,
            5 => FrameType::Pong,
            6 => FrameType::Goaway,
            _ => return None,
        })
    }
}

/// A decoded frame, borrowing its body from the input buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub frame_type: FrameType,
    pub flags: u8,
    pub txid: u64,
    pub body: &'a [u8],
}

/// Why bytes could not be decoded. Every variant means the stream is unusable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    BadMagic,
    UnsupportedVersion(u8),
    UnknownType(u8),
    ReservedBitsSet,
    /// The announced body length exceeds the receiver's maximum; `txid` lets the receiver
    /// tell the sender which request was refused before it closes the connection.
    Oversized {
        len: u64,
        max: usize,
        txid: u64,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::BadMagic => write!(f, "not a hamux stream (bad magic)"),
            DecodeError::UnsupportedVersion(v) => write!(f, "unsupported hamux protocol version {v}"),
            DecodeError::UnknownType(t) => write!(f, "unknown frame type {t}"),
            DecodeError::ReservedBitsSet => write!(f, "reserved header bits are set"),
            DecodeError::Oversized { len, max, txid } => {
                write!(f, "frame of {len} bytes (txid {txid}) exceeds the maximum of {max} bytes")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Appends this side's hello to `out`.
pub fn encode_hello(out: &mut Vec<u8>) {
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&[VERSION, 0, 0, 0]);
}

/// Decodes the peer's hello: `Ok(None)` until `HELLO_LEN` bytes are there, then the version.
pub fn decode_hello(buf: &[u8]) -> Result<Option<u8>, DecodeError> {
    let have = buf.len().min(MAGIC.len());
    if buf[..have] != MAGIC[..have] {
        return Err(DecodeError::BadMagic);
    }
    if buf.len() < HELLO_LEN {
        return Ok(None);
    }
    if buf[5..8] != [0, 0, 0] {
        return Err(DecodeError::ReservedBitsSet);
    }
    match buf[4] {
        VERSION => Ok(Some(VERSION)),
        other => Err(DecodeError::UnsupportedVersion(other)),
    }
}

/// Appends one frame (header and body) to `out`. The body length must fit in a u32;
/// callers enforce their (much smaller) maximum before encoding.
pub fn encode_frame(out: &mut Vec<u8>, frame_type: FrameType, txid: u64, body: &[u8]) {
    let len = u32::try_from(body.len()).expect("frame body longer than u32::MAX");
    out.reserve(HEADER_LEN + body.len());
    out.extend_from_slice(&[frame_type as u8, 0, 0, 0]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&txid.to_be_bytes());
    out.extend_from_slice(body);
}

/// Appends an Error frame carrying `status` (a `hamux_status` value) and a message.
pub fn encode_error(out: &mut Vec<u8>, txid: u64, status: u32, message: &str) {
    let mut body = Vec::with_capacity(4 + message.len());
    body.extend_from_slice(&status.to_be_bytes());
    body.extend_from_slice(message.as_bytes());
    encode_frame(out, FrameType::Error, txid, &body);
}

/// Splits an Error frame's body into its status code and message.
pub fn parse_error_body(body: &[u8]) -> (u32, String) {
    if body.len() < 4 {
        return (0, String::from_utf8_lossy(body).into_owned());
    }
    let code = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
    (code, String::from_utf8_lossy(&body[4..]).into_owned())
}

/// Decodes the frame at the start of `buf`: `Ok(None)` if more bytes are needed, or the
/// frame and the number of bytes it used.
pub fn decode_frame(buf: &[u8], max_body: usize) -> Result<Option<(Frame<'_>, usize)>, DecodeError> {
    if buf.is_empty() {
        return Ok(None);
    }
    let frame_type = FrameType::from_u8(buf[0]).ok_or(DecodeError::UnknownType(buf[0]))?;
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    if buf[1] != 0 || buf[2] != 0 || buf[3] != 0 {
        return Err(DecodeError::ReservedBitsSet);
    }
    let len = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
    let txid = u64::from_be_bytes(buf[8..16].try_into().expect("8 bytes"));
    if len > max_body {
        return Err(DecodeError::Oversized { len: len as u64, max: max_body, txid });
    }
    let total = HEADER_LEN + len;
    if buf.len() < total {
        return Ok(None);
    }
    Ok(Some((Frame { frame_type, flags: buf[1], txid, body: &buf[HEADER_LEN..total] }, total)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1 << 20;

    #[test]
    fn round_trips_every_type() {
        let types = [
            FrameType::Request,
            FrameType::Response,
            FrameType::Error,
            FrameType::Ping,
            FrameType::Pong,
            FrameType::Goaway,
        ];
        let mut buf = Vec::new();
        for (i, t) in types.iter().enumerate() {
            encode_frame(&mut buf, *t, u64::MAX - i as u64, format!("body-{i}").as_bytes());
        }
        let mut at = 0;
        for (i, t) in types.iter().enumerate() {
            let (frame, used) = decode_frame(&buf[at..], MAX).unwrap().unwrap();
            assert_eq!(frame.frame_type, *t);
            assert_eq!(frame.txid, u64::MAX - i as u64);
            assert_eq!(frame.body, format!("body-{i}").as_bytes());
            at += used;
        }
        assert_eq!(at, buf.len());
        assert_eq!(decode_frame(&buf[at..], MAX), Ok(None));
    }

    #[test]
    fn partial_input_asks_for_more_at_every_split() {
        let mut buf = Vec::new();
        encode_frame(&mut buf, FrameType::Request, 42, b"{\"command\":\"x\"}");
        for cut in 0..buf.len() {
            assert_eq!(decode_frame(&buf[..cut], MAX), Ok(None), "cut at {cut}");
        }
        let (frame, used) = decode_frame(&buf, MAX).unwrap().unwrap();
        assert_eq!((frame.txid, used), (42, buf.len()));
    }

    #[test]
    fn empty_body_round_trips() {
        let mut buf = Vec::new();
        encode_frame(&mut buf, FrameType::Ping, 7, b"");
        let (frame, used) = decode_frame(&buf, MAX).unwrap().unwrap();
        assert_eq!((frame.frame_type, frame.body.len(), used), (FrameType::Ping, 0, HEADER_LEN));
    }

    #[test]
    fn oversized_length_is_an_error_before_the_body_arrives() {
        let mut header = vec![FrameType::Request as u8, 0, 0, 0];
        header.extend_from_slice(&u32::MAX.to_be_bytes());
        header.extend_from_slice(&9u64.to_be_bytes());
        let err = decode_frame(&header, MAX).unwrap_err();
        assert_eq!(err, DecodeError::Oversized { len: u32::MAX as u64, max: MAX, txid: 9 });
        assert!(err.to_string().contains("exceeds"));
    }

    #[test]
    fn garbage_is_an_error_never_a_panic() {
        assert_eq!(decode_frame(b"POST / HTTP/1.1\r\n", MAX), Err(DecodeError::UnknownType(b'P')));
        let mut reserved = Vec::new();
        encode_frame(&mut reserved, FrameType::Request, 1, b"x");
        reserved[2] = 1;
        assert_eq!(decode_frame(&reserved, MAX), Err(DecodeError::ReservedBitsSet));
        // A deterministic pseudo-random sweep: any bytes give Ok or Err, never a panic.
        let mut state = 0x9e3779b97f4a7c15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 40) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (state >> (i % 8 * 8)) as u8 % 8).collect();
            let _ = decode_frame(&bytes, 16);
            let _ = decode_hello(&bytes);
        }
    }

    #[test]
    fn hello_round_trips_and_rejects_others() {
        let mut buf = Vec::new();
        encode_hello(&mut buf);
        assert_eq!(buf.len(), HELLO_LEN);
        for cut in 0..HELLO_LEN {
            assert_eq!(decode_hello(&buf[..cut]), Ok(None));
        }
        assert_eq!(decode_hello(&buf), Ok(Some(VERSION)));
        assert_eq!(decode_hello(b"GET "), Err(DecodeError::BadMagic));
        assert_eq!(decode_hello(b"HAMX\x09\0\0\0"), Err(DecodeError::UnsupportedVersion(9)));
    }

    #[test]
    fn error_body_round_trips() {
        let mut buf = Vec::new();
        encode_error(&mut buf, 5, 7, "bad things");
        let (frame, _) = decode_frame(&buf, MAX).unwrap().unwrap();
        assert_eq!(frame.frame_type, FrameType::Error);
        assert_eq!(parse_error_body(frame.body), (7, "bad things".to_string()));
        assert_eq!(parse_error_body(b"ab"), (0, "ab".to_string()));
    }
}
