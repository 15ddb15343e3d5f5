//! The `hamux://` side of a listener connection: decodes frames, hands requests to the
//! handler threads; replies go out in whatever order the host answers.

use super::connection::{connection_slots, ConnectionContext, ReadEnd};
use super::reply::{Replies, Route};
use super::request::Request;
use crate::codec::{self, DecodeError, FrameType};
use crate::Status;
use std::sync::Arc;
use tokio::io::AsyncRead;

/// Queues an Error frame telling the peer why the connection is being closed.
fn refuse(replies: &Replies, txid: u64, why: String) -> ReadEnd {
    let _ = replies.outbox.push(None, |out| codec::encode_error(out, txid, Status::Protocol as u32, &why));
    ReadEnd::Refused(why)
}

fn refuse_decode(replies: &Replies, e: DecodeError) -> ReadEnd {
    let txid = match e {
        DecodeError::Oversized { txid, .. } => txid,
        _ => 0,
    };
    refuse(replies, txid, e.to_string())
}

/// Reads frames (starting with the bytes already in `buf`) until the peer closes or
/// breaks the protocol.
pub(crate) async fn read_requests<R: AsyncRead + Unpin>(
    reader: &mut R,
    mut buf: Vec<u8>,
    replies: &Arc<Replies>,
    ctx: &ConnectionContext,
) -> ReadEnd {
    let _ = replies.outbox.push(None, codec::encode_hello);
    let slots = connection_slots(ctx);
    let mut hello_seen = false;
    loop {
        let mut at = 0;
        if !hello_seen {
            match codec::decode_hello(&buf) {
                Err(e) => return refuse_decode(replies, e),
                Ok(Some(_)) => {
                    hello_seen = true;
                    at = codec::HELLO_LEN;
                }
                Ok(None) => {}
            }
        }
        while hello_seen && at < buf.len() {
            let (frame, used) = match codec::decode_frame(&buf[at..], ctx.max_frame_bytes) {
                Err(e) => return refuse_decode(replies, e),
                Ok(None) => break,
                Ok(Some(decoded)) => decoded,
            };
            at += used;
            match frame.frame_type {
                FrameType::Request => {
                    let (txid, body) = (frame.txid, frame.body.to_vec());
                    let permit = ctx.pending_slot(&slots).await;
                    let route = Route::Frame { txid };
                    ctx.dispatch(Request::new(route, body, replies.clone(), ctx.counters.clone(), permit));
                }
                FrameType::Ping => {
                    let (txid, body) = (frame.txid, frame.body);
                    replies.outbox.push_pong(|out| codec::encode_frame(out, FrameType::Pong, txid, body));
                }
                FrameType::Pong => {}
                // The peer will send no more requests (it acknowledges our Goaway, after
                // the last request it wrote): answer those received, then close.
                FrameType::Goaway => return ReadEnd::Draining,
                other => return refuse(replies, 0, format!("unexpected {other:?} frame from a client")),
            }
        }
        buf.drain(..at);
        if !ctx.read_more(reader, &mut buf, replies).await {
            return ReadEnd::PeerClosed;
        }
    }
}
