//! The `hamux://` side of a listener connection: decodes frames, hands requests to the
//! host; replies go out in whatever order the host answers.

use super::context::{idle_timer, ReadEnd, SessionContext};
use crate::codec::{DecodeError, FrameType};
use crate::io::framed::{FramedReader, HamuxFrames, HamuxMessage};
use crate::io::WriterTurns;
use crate::listener::dispatch::CheckedBody;
use crate::listener::reply::{Replies, Route};
use std::sync::Arc;
use tokio::io::AsyncRead;

/// Queues an Error frame telling the peer why the connection is being closed.
fn refuse(replies: &Replies, txid: u64, why: String) -> ReadEnd {
    replies.refuse_session(txid, &why);
    ReadEnd::Refused(why)
}

fn refuse_decode(replies: &Replies, e: DecodeError) -> ReadEnd {
    let txid = match e {
        DecodeError::Oversized { txid, .. } => txid,
        _ => 0,
    };
    refuse(replies, txid, e.to_string())
}

/// Reads frames (starting with the bytes `reader` already holds) until the peer closes or
/// breaks the protocol. A Request whose body is not a JSON object is refused like a
/// malformed frame: an Error frame naming its txid, then the connection closes.
pub(super) async fn read_requests<R: AsyncRead + Unpin>(
    ctx: &SessionContext,
    io: &mut R,
    reader: FramedReader<()>,
    replies: &Arc<Replies>,
) -> ReadEnd {
    replies.send_hello();
    let mut reader = reader.with_decoder(HamuxFrames::new(ctx.max_frame_bytes));
    let share = ctx.dispatcher.connection_share();
    let mut turns = WriterTurns::default();
    let timer = idle_timer();
    tokio::pin!(timer);
    loop {
        loop {
            let frame = match reader.decode() {
                Err(e) => return refuse_decode(replies, e),
                Ok(None) => break,
                Ok(Some(HamuxMessage::Hello { .. })) => continue,
                Ok(Some(HamuxMessage::Frame(frame))) => frame,
            };
            let len = frame.body.len();
            match frame.frame_type {
                FrameType::Request => {
                    let txid = frame.txid;
                    let body = match CheckedBody::check(frame.body) {
                        Ok(body) => body,
                        Err(e) => return refuse(replies, txid, e.to_string()),
                    };
                    let slot = ctx.dispatcher.pending_slot(&share).await;
                    ctx.dispatcher.submit(Route::Frame { txid }, body, replies, slot);
                }
                FrameType::Ping => replies.send_pong(frame.txid, frame.body),
                FrameType::Pong => {}
                // The peer will send no more requests (it acknowledges our Goaway, after
                // the last request it wrote): answer those received, then close.
                FrameType::Goaway => return ReadEnd::Draining,
                other => return refuse(replies, 0, format!("unexpected {other:?} frame from a client")),
            }
            // Answers of a long burst leave in parts, while the rest is being handled.
            turns.handled_one(len).await;
        }
        if let Some(end) = turns.read(ctx.read_more(&mut reader, io, replies, timer.as_mut())).await {
            return end;
        }
    }
}
