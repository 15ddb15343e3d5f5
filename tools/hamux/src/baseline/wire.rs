//! The loop's side of each [`Transport`]: `hamux://` frames (many requests in flight on a
//! connection, replies matched by txid) and Kea-style HTTP/1.1 (one request in flight on
//! a connection, its answer the next response), with hamux's own codecs, so the loop's
//! bytes are the bytes hamux sends and parses.

use crate::bench::Transport;
use hamux::codec::http::{self, RequestHead};
use hamux::codec::{self, FrameType, HEADER_LEN};
use std::borrow::Cow;

/// Room for one HTTP head beside its body: hamux's own are under 150 bytes.
const HTTP_HEAD_ROOM: usize = 1024;

/// A request the server decoded: `txid` 0 over HTTP, whose answers go back in order.
pub struct Request<'a> {
    pub txid: u64,
    pub body: &'a [u8],
}

/// A reply the client decoded: `txid` None over HTTP (the connection's one request).
pub struct Reply<'a> {
    pub txid: Option<u64>,
    /// A response frame, or HTTP status 200.
    pub answered: bool,
    pub body: Cow<'a, [u8]>,
}

impl Transport {
    /// What one message takes beyond its body, at most.
    pub fn overhead(self) -> usize {
        match self {
            Transport::Hamux => HEADER_LEN,
            Transport::Http => HTTP_HEAD_ROOM,
        }
    }

    /// Decodes the request at the start of `buf` and its length, if it is all there.
    pub fn decode_request(self, buf: &[u8], max_body: usize) -> Result<Option<(Request<'_>, usize)>, String> {
        match self {
            Transport::Hamux => match codec::decode_frame(buf, max_body).map_err(|e| e.to_string())? {
                Some((f, _)) if f.frame_type != FrameType::Request => {
                    Err(format!("unexpected {:?} frame", f.frame_type))
                }
                found => Ok(found.map(|(f, n)| (Request { txid: f.txid, body: f.body }, n))),
            },
            Transport::Http => Ok(http::decode_request(buf, max_body)
                .map_err(|e| e.to_string())?
                .map(|(r, n)| (Request { txid: 0, body: r.body }, n))),
        }
    }

    /// Appends the answer `body` to the request `txid`.
    pub fn encode_answer(self, out: &mut Vec<u8>, txid: u64, body: &[u8]) {
        match self {
            Transport::Hamux => codec::encode_frame(out, FrameType::Response, txid, body),
            Transport::Http => http::encode_response(out, 200, body, false),
        }
    }

    /// Decodes the reply at the start of `buf` and its length, if it is all there.
    pub fn decode_reply(self, buf: &[u8], max_body: usize) -> Result<Option<(Reply<'_>, usize)>, String> {
        match self {
            Transport::Hamux => {
                Ok(codec::decode_frame(buf, max_body).map_err(|e| e.to_string())?.map(|(f, n)| {
                    let answered = f.frame_type == FrameType::Response;
                    (Reply { txid: Some(f.txid), answered, body: Cow::Borrowed(f.body) }, n)
                }))
            }
            Transport::Http => Ok(http::decode_response(buf, max_body)
                .map_err(|e| e.to_string())?
                .map(|(r, n)| (Reply { txid: None, answered: r.status == 200, body: r.body }, n))),
        }
    }
}

/// How a client connection encodes its requests.
#[derive(Clone)]
pub enum Requests {
    Hamux,
    /// The head of every POST to the server, made once (as hamux's HTTP client does).
    Http(RequestHead),
}

impl Requests {
    /// Over `wire`, to the server at `host` (`address:port`).
    pub fn new(wire: Transport, host: &str) -> Requests {
        match wire {
            Transport::Hamux => Requests::Hamux,
            Transport::Http => Requests::Http(RequestHead::new(host, "/", None)),
        }
    }

    pub fn wire(&self) -> Transport {
        match self {
            Requests::Hamux => Transport::Hamux,
            Requests::Http(_) => Transport::Http,
        }
    }

    /// Appends the request `txid` carrying `body`.
    pub fn encode(&self, out: &mut Vec<u8>, txid: u64, body: &[u8]) {
        match self {
            Requests::Hamux => codec::encode_frame(out, FrameType::Request, txid, body),
            Requests::Http(head) => head.encode(out, body),
        }
    }
}
