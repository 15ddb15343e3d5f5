//! Every byte a listener writes, encoded here: the `hamux://` hello and frames it sends,
//! and its HTTP/1.1 answers.

use crate::codec::{self, http, FrameType};
use crate::Status;

/// This side's hello, the first bytes of a `hamux://` session.
pub(super) fn hello(out: &mut Vec<u8>) {
    codec::encode_hello(out);
}

/// A Response frame: the host's answer to request `txid`.
pub(super) fn response(out: &mut Vec<u8>, txid: u64, body: &[u8]) {
    codec::encode_frame(out, FrameType::Response, txid, body);
}

/// An Error frame: request `txid` failed (txid 0: the connection is about to close).
pub(super) fn error(out: &mut Vec<u8>, txid: u64, status: Status, message: &str) {
    codec::encode_error(out, txid, status as u32, message);
}

/// The Pong answering a Ping (`txid` and `body` echoed).
pub(super) fn pong(out: &mut Vec<u8>, txid: u64, body: &[u8]) {
    codec::encode_frame(out, FrameType::Pong, txid, body);
}

/// The Goaway a listener sends when it shuts down gracefully.
pub(super) fn goaway(out: &mut Vec<u8>) {
    codec::encode_frame(out, FrameType::Goaway, 0, b"listener shutting down");
}

/// An HTTP 200 answer with a JSON body.
pub(super) fn http_json(out: &mut Vec<u8>, body: &[u8], close: bool) {
    http::encode_response(out, 200, body, close);
}

/// Kea's command-error answer (`[ { "result": 1, "text": ... } ]`, HTTP 200), for a
/// request that failed.
pub(super) fn http_command_error(message: &str) -> Vec<u8> {
    serde_json::json!([{ "result": 1, "text": message }]).to_string().into_bytes()
}

/// Kea's HTTP-level error answer (`{ "result": 400, "text": "Bad Request" }`).
pub(super) fn http_refusal(out: &mut Vec<u8>, status: u16, close: bool) {
    http::encode_error_response(out, status, close);
}
