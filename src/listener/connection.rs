//! One accepted `hamux://` connection: decodes requests on its IO thread, hands them to the
//! handler pool, and writes replies in whatever order the host produces them.

use super::request::Request;
use super::stats::ListenerCounters;
use super::workers::WorkerPool;
use crate::codec::{self, DecodeError, FrameType};
use crate::io::{write_loop, Outbox};
use crate::Status;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// What every connection of one listener shares.
pub(crate) struct ConnectionContext {
    pub(crate) workers: Arc<WorkerPool<Request>>,
    pub(crate) pending: Arc<Semaphore>,
    pub(crate) counters: Arc<ListenerCounters>,
    pub(crate) max_frame_bytes: usize,
}

/// How long a closing connection may take to flush its last frames (an error report).
const CLOSE_FLUSH: Duration = Duration::from_secs(1);

pub(crate) async fn serve(stream: TcpStream, ctx: Arc<ConnectionContext>) {
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let (mut reader, mut writer) = stream.into_split();
    let replies: Arc<Outbox<()>> = Arc::new(Outbox::default());
    let _open = OpenConnection::new(replies.clone(), ctx.counters.clone());
    let _ = replies.push(None, codec::encode_hello);
    let read = read_requests(&mut reader, &replies, &ctx);
    let write = write_loop(
        &replies,
        &mut writer,
        |_| {},
        |n| {
            ctx.counters.bytes_out.fetch_add(n as u64, Relaxed);
        },
    );
    tokio::pin!(read, write);
    tokio::select! {
        outcome = &mut read => {
            if let Err(report) = outcome {
                ctx.counters.protocol_errors.fetch_add(1, Relaxed);
                tracing::debug!(%peer, error = %report.message, "closing connection");
                let _ = replies.push(None, |out| {
                    codec::encode_error(out, report.txid, Status::Protocol as u32, &report.message)
                });
            }
            // Flush what is queued (the error report), then close.
            replies.close();
            let _ = tokio::time::timeout(CLOSE_FLUSH, &mut write).await;
        }
        _ = &mut write => {}
    }
}

/// Marks a connection open for its lifetime. Its drop closes the reply outbox, also when
/// the task is dropped mid-await by a listener shutdown, so that requests the host still
/// holds learn that their connection is gone.
struct OpenConnection {
    replies: Arc<Outbox<()>>,
    counters: Arc<ListenerCounters>,
}

impl OpenConnection {
    fn new(replies: Arc<Outbox<()>>, counters: Arc<ListenerCounters>) -> OpenConnection {
        counters.open.fetch_add(1, Relaxed);
        OpenConnection { replies, counters }
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.replies.close();
        self.counters.open.fetch_sub(1, Relaxed);
    }
}

/// A reason to close the connection, told to the peer in an Error frame for `txid`.
struct Report {
    txid: u64,
    message: String,
}

impl From<DecodeError> for Report {
    fn from(e: DecodeError) -> Report {
        let txid = match e {
            DecodeError::Oversized { txid, .. } => txid,
            _ => 0,
        };
        Report { txid, message: e.to_string() }
    }
}

/// Reads until the peer closes (`Ok`) or breaks the protocol (`Err`).
async fn read_requests<R: AsyncRead + Unpin>(
    reader: &mut R,
    replies: &Arc<Outbox<()>>,
    ctx: &ConnectionContext,
) -> Result<(), Report> {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut hello_seen = false;
    loop {
        if buf.capacity() - buf.len() < 16 * 1024 {
            buf.reserve(64 * 1024);
        }
        match reader.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return Ok(()),
            Ok(n) => ctx.counters.bytes_in.fetch_add(n as u64, Relaxed),
        };
        let mut at = 0;
        if !hello_seen {
            match codec::decode_hello(&buf)? {
                None => continue,
                Some(_) => {
                    hello_seen = true;
                    at = codec::HELLO_LEN;
                }
            }
        }
        while let Some((frame, used)) = codec::decode_frame(&buf[at..], ctx.max_frame_bytes)? {
            at += used;
            match frame.frame_type {
                FrameType::Request => {
                    let (txid, body) = (frame.txid, frame.body.to_vec());
                    let permit = match ctx.pending.clone().try_acquire_owned() {
                        Ok(permit) => permit,
                        // At max-pending: stop reading this connection until the host
                        // answers something (backpressure reaches the peer through TCP).
                        Err(_) => {
                            ctx.pending.clone().acquire_owned().await.expect("semaphore is never closed")
                        }
                    };
                    ctx.counters.requests.fetch_add(1, Relaxed);
                    let request = Request::new(txid, body, replies.clone(), ctx.counters.clone(), permit);
                    // The queue holds max-pending items and each queued request holds a
                    // permit, so it is full only while shutting down; the request is then
                    // dropped and answers CANCELLED itself.
                    let _ = ctx.workers.submit(request);
                }
                FrameType::Ping => {
                    let (txid, body) = (frame.txid, frame.body);
                    let _ = replies.push(None, |out| codec::encode_frame(out, FrameType::Pong, txid, body));
                }
                FrameType::Pong => {}
                other => {
                    return Err(Report {
                        txid: 0,
                        message: format!("unexpected {other:?} frame from a client"),
                    });
                }
            }
        }
        buf.drain(..at);
    }
}
