//! The HTTP/1.1 side of a listener connection, for Kea HA peers: JSON POSTs, answered in
//! request order on each connection (requests on different connections are independent).
//! Malformed, oversized or non-JSON requests get Kea's `{ "result": 400, ... }`-style
//! answer, never reach the host, and end the connection.

use super::context::{ReadEnd, SessionContext};
use crate::codec::http::HttpRequest;
use crate::io::framed::{FramedReader, HttpRequests};
use crate::listener::dispatch::CheckedBody;
use crate::listener::reply::{Replies, Route};
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use tokio::io::AsyncRead;
use tokio::time::{Instant, Sleep};

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
    // The idle timeout of every read on this connection (see `read_more`).
    let timer = tokio::time::sleep_until(Instant::now());
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
        if let Some(end) = read_more(ctx, &mut reader, io, replies, timer.as_mut()).await {
            return end;
        }
    }
}

/// [`SessionContext::read_more`] with one timer for all of a connection's reads: `Some`
/// once the peer closed or reset the connection, or stayed silent for `idle-timeout-ms`
/// with nothing pending.
///
/// An HTTP peer sends one request per round trip, so this runs once per request; a timer
/// registered with the runtime for each read (and deregistered microseconds later, when
/// the request arrives) would cost more than the read. The connection's `timer` is moved
/// only when it would fire after this read's idle deadline, or when it fires for an
/// earlier read's: about once per idle timeout, not once per request.
async fn read_more<R: AsyncRead + Unpin>(
    ctx: &SessionContext,
    reader: &mut FramedReader<HttpRequests>,
    io: &mut R,
    replies: &Replies,
    mut timer: Pin<&mut Sleep>,
) -> Option<ReadEnd> {
    let read = reader.read_more(io);
    tokio::pin!(read);
    let outcome = if ctx.idle_timeout.is_zero() {
        read.await
    } else {
        let mut due = Instant::now() + ctx.idle_timeout;
        if timer.deadline() > due {
            timer.as_mut().reset(due);
        }
        loop {
            tokio::select! {
                biased;
                outcome = &mut read => break outcome,
                () = &mut timer => {
                    let now = Instant::now();
                    if now >= due {
                        if !replies.owed() {
                            ctx.counters.idle_closed.fetch_add(1, Relaxed);
                            return Some(ReadEnd::Idle);
                        }
                        // Silent, but the host still owes answers: wait another idle timeout.
                        due = now + ctx.idle_timeout;
                    }
                    timer.as_mut().reset(due);
                }
            }
        }
    };
    match outcome {
        Ok(n) => {
            ctx.counters.bytes_in.fetch_add(n as u64, Relaxed);
            None
        }
        Err(_) => Some(ReadEnd::PeerClosed),
    }
}
