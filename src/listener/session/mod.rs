//! A connection once accepted (and through its TLS handshake): tells `hamux://` from
//! HTTP/1.1 by its first bytes, then runs the matching session's reader on its IO thread
//! while the writer sends replies as the host produces them, and says goodbye to the
//! peer when the listener shuts down.

mod context;
mod hamux;
mod http;
mod open;

pub(crate) use context::SessionContext;
pub(crate) use open::OpenConnection;

use crate::codec::frame::MAGIC;
use crate::io::framed::FramedReader;
use crate::io::Stream;
use crate::listener::reply::Replies;
use context::ReadEnd;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::io::AsyncRead;
use tokio::time::Instant;

/// How long a closing connection may take to flush its last answers.
const CLOSE_FLUSH: Duration = Duration::from_secs(10);

/// Serves `stream` from `peer` until it closes. `deadline` bounds how long the peer may
/// take to say which protocol it speaks (it began with the TLS handshake, if any).
pub(crate) async fn serve(
    ctx: &SessionContext,
    stream: Stream,
    peer: &str,
    deadline: Instant,
    open: &OpenConnection,
) {
    let (mut io, mut writer) = stream.into_split();
    let replies = open.replies();
    let mut reader = FramedReader::new((), 64 * 1024);
    let sniffed = tokio::select! {
        sniffed = tokio::time::timeout_at(deadline, speaks_hamux(ctx, &mut reader, &mut io, replies)) => sniffed,
        // Shutting down: a connection that has not said what it speaks is just closed.
        _ = ctx.drain.begun() => return,
    };
    let is_hamux = match sniffed {
        Ok(Some(is_hamux)) => is_hamux,
        Ok(None) => return,
        Err(_) => {
            ctx.counters.handshake_timeouts.fetch_add(1, Relaxed);
            tracing::debug!(%peer, "closing a connection that sent nothing in time");
            return;
        }
    };

    let read = async {
        if is_hamux {
            hamux::read_requests(ctx, &mut io, reader, replies).await
        } else {
            http::read_requests(ctx, &mut io, reader, replies).await
        }
    };
    let write = replies.write_to(&mut writer, |n| {
        ctx.counters.bytes_out.fetch_add(n as u64, Relaxed);
    });
    // Resolves when a graceful shutdown's drain time is up: then the connection closes.
    let goodbye = goodbye(ctx, replies, is_hamux);
    tokio::pin!(read, write, goodbye);
    let end = tokio::select! {
        // Reader first: its first step queues the hamux hello, which must precede a Goaway.
        biased;
        end = &mut read => end,
        _ = &mut write => return,
        _ = &mut goodbye => return,
    };
    let drain = match end {
        ReadEnd::PeerClosed => return,
        ReadEnd::Refused(why) => {
            ctx.counters.protocol_errors.fetch_add(1, Relaxed);
            tracing::debug!(%peer, error = %why, "refusing connection");
            if is_hamux {
                replies.close();
            }
            false
        }
        ReadEnd::Draining => true,
        ReadEnd::Idle => {
            replies.close();
            false
        }
    };
    // Nothing more is read: (draining) answer what was handed to the host; flush; close.
    // An HTTP session's last answer closes the outbox itself; closing it again is harmless.
    let finish = async {
        if drain {
            replies.all_answered().await;
            replies.close();
        }
        let _ = (&mut write).await;
    };
    tokio::select! {
        _ = tokio::time::timeout(CLOSE_FLUSH, finish) => {}
        _ = &mut goodbye => {}
    }
}

/// Reads until the first bytes tell the protocols apart: true if they are a hamux
/// hello's magic, false for anything else (HTTP, or garbage the HTTP session refuses);
/// `None` if the connection ended first.
async fn speaks_hamux<R: AsyncRead + Unpin>(
    ctx: &SessionContext,
    reader: &mut FramedReader<()>,
    io: &mut R,
    replies: &Replies,
) -> Option<bool> {
    let timer = context::idle_timer();
    tokio::pin!(timer);
    loop {
        let first = reader.peek();
        let have = first.len().min(MAGIC.len());
        if first[..have] != MAGIC[..have] {
            return Some(false);
        }
        if have == MAGIC.len() {
            return Some(true);
        }
        if ctx.read_more(reader, io, replies, timer.as_mut()).await.is_some() {
            return None;
        }
    }
}

/// A connection's part of a graceful shutdown: once it begins, says goodbye to the peer
/// (Goaway, or HTTP's close after the last answer), then resolves when the drain time is
/// up.
async fn goodbye(ctx: &SessionContext, replies: &Replies, is_hamux: bool) {
    ctx.drain.begun().await;
    if is_hamux {
        replies.send_goaway();
    } else {
        replies.close_http_after_answers();
    }
    tokio::time::sleep(ctx.drain.timeout()).await;
}
