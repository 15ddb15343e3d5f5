//! The HTTP/1.1 side of a listener connection, for Kea HA peers: JSON POSTs, answered in
//! request order on each connection (requests on different connections are independent).
//! Malformed, oversized or non-JSON requests get Kea's `{ "result": 400, ... }`-style
//! answer, never reach the host, and end the connection.

use super::connection::{connection_slots, ConnectionContext, ReadEnd};
use super::reply::{Replies, Route};
use super::request::Request;
use crate::codec::http;
use std::sync::Arc;
use tokio::io::AsyncRead;

/// Checks what Kea's HTTP listener checks before a command reaches a handler.
fn check(req: &http::HttpRequest<'_>) -> Result<(), (u16, String)> {
    if !req.method.eq_ignore_ascii_case("POST") {
        return Err((405, format!("method {} (only POST is accepted)", req.method)));
    }
    if !req.content_type_json {
        return Err((400, "Content-Type is not application/json".into()));
    }
    let first = req.body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') || serde_json::from_slice::<serde::de::IgnoredAny>(req.body).is_err() {
        return Err((400, "body is not a JSON object".into()));
    }
    Ok(())
}

/// Reads requests (starting with the bytes already in `buf`) until the peer closes, asks
/// to close, or sends something malformed.
pub(crate) async fn read_requests<R: AsyncRead + Unpin>(
    reader: &mut R,
    mut buf: Vec<u8>,
    replies: &Arc<Replies>,
    ctx: &ConnectionContext,
) -> ReadEnd {
    let mut seq = 0u64;
    let slots = connection_slots(ctx);
    loop {
        let mut at = 0;
        loop {
            let (req, used) = match http::decode_request(&buf[at..], ctx.max_frame_bytes) {
                Ok(None) => break,
                Ok(Some(decoded)) => decoded,
                Err(e) => {
                    replies.refuse_http(seq, e.status);
                    return ReadEnd::Refused(e.to_string());
                }
            };
            at += used;
            if let Err((status, why)) = check(&req) {
                replies.refuse_http(seq, status);
                return ReadEnd::Refused(why);
            }
            let (body, close) = (req.body.to_vec(), req.close);
            let permit = ctx.pending_slot(&slots).await;
            if !replies.accept_http() {
                // Shutting down: not handed over; answered 503 after what the connection
                // owes, then it closes.
                replies.refuse_http_draining(seq);
                return ReadEnd::Draining;
            }
            let route = Route::Http { seq, close };
            ctx.dispatch(Request::new(route, body, replies.clone(), ctx.counters.clone(), permit));
            seq += 1;
            if close {
                return ReadEnd::Draining;
            }
        }
        buf.drain(..at);
        if !ctx.read_more(reader, &mut buf, replies).await {
            return ReadEnd::PeerClosed;
        }
    }
}
