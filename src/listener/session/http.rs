//! The HTTP/1.1 side of a listener connection, for Kea HA peers: JSON POSTs, answered in
//! request order on each connection (requests on different connections are independent).
//! Malformed, oversized or non-JSON requests get Kea's `{ "result": 400, ... }`-style
//! answer, never reach the host, and end the connection.

use super::context::{idle_timer, ReadEnd, SessionContext};
use crate::codec::http::HttpRequest;
use crate::io::framed::{FramedReader, HttpRequests};
use crate::listener::dispatch::CheckedBody;
use crate::listener::reply::{Replies, Route};
use std::sync::Arc;
use tokio::io::AsyncRead;

/// Checks what Kea's HTTP listener checks before a command reaches a handler; the body
/// itself is checked as for `hamux://`.
fn check(req: &HttpRequest<'_>) -> Result<CheckedBody, (u16, String)> {
    if !req.method.eq_ignore_ascii_case("POST") {
        return Err((405, format!("method {} (only POST is accepted)", req.method)));
    }
    if !req.content_type_json {
        return Err((400, "Content-Type is not application/json".into()));
    }
    CheckedBody::check(req.body).map_err(|e| (400, e.to_string()))
}

/// Reads requests (starting with the bytes `reader` already holds) until the peer closes,
/// asks to close, or sends something malformed.
pub(super) async fn read_requests<R: AsyncRead + Unpin>(
    ctx: &SessionContext,
    io: &mut R,
    reader: FramedReader<()>,
    replies: &Arc<Replies>,
) -> ReadEnd {
    let mut reader = reader.with_decoder(HttpRequests::new(ctx.max_frame_bytes));
    let mut seq = 0u64;
    let share = ctx.dispatcher.connection_share();
    let timer = idle_timer();
    tokio::pin!(timer);
    loop {
        loop {
            let req = match reader.decode() {
                Ok(None) => break,
                Ok(Some(req)) => req,
                Err(e) => {
                    replies.refuse_http(seq, e.status);
                    return ReadEnd::Refused(e.to_string());
                }
            };
            let close = req.close;
            let body = match check(&req) {
                Ok(body) => body,
                Err((status, why)) => {
                    replies.refuse_http(seq, status);
                    return ReadEnd::Refused(why);
                }
            };
            let slot = ctx.dispatcher.pending_slot(&share).await;
            if !replies.accept_http() {
                // Shutting down: not handed over; answered 503 after what the connection
                // owes, then it closes.
                replies.refuse_http_draining(seq);
                return ReadEnd::Draining;
            }
            ctx.dispatcher.submit(Route::Http { seq, close }, body, replies, slot);
            seq += 1;
            if close {
                return ReadEnd::Draining;
            }
        }
        if let Some(end) = ctx.read_more(&mut reader, io, replies, timer.as_mut()).await {
            return end;
        }
    }
}
