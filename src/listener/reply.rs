//! Where a connection's replies go: frames in any order for `hamux://`, HTTP responses in
//! request order for HTTP/1.1.

use crate::codec::{self, http, FrameType};
use crate::io::Outbox;
use crate::Status;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;
use std::sync::Mutex;

/// How a request is answered.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Route {
    /// A Response or Error frame with this txid.
    Frame { txid: u64 },
    /// The `seq`th HTTP response of the connection; `close` ends the connection after it.
    Http { seq: u64, close: bool },
}

/// HTTP answers must leave in request order: those that are ready early wait here.
#[derive(Default)]
struct HttpOrder {
    next: u64,
    ready: BTreeMap<u64, (Vec<u8>, bool)>,
}

/// The reply side of one connection, shared by its writer and every request it carries.
#[derive(Default)]
pub(crate) struct Replies {
    pub(crate) outbox: Outbox<()>,
    http_order: Mutex<HttpOrder>,
    /// Requests of this connection the host has not answered yet.
    pub(crate) outstanding: AtomicUsize,
}

/// The requesting connection is gone.
pub(crate) struct Gone;

impl Replies {
    /// Sends a successful reply with `body`.
    pub(crate) fn reply(&self, route: Route, body: &[u8]) -> Result<(), Gone> {
        match route {
            Route::Frame { txid } => self
                .outbox
                .push(None, |out| codec::encode_frame(out, FrameType::Response, txid, body))
                .map_err(|_| Gone),
            Route::Http { seq, close } => {
                let mut bytes = Vec::with_capacity(body.len() + 100);
                http::encode_response(&mut bytes, 200, body, close);
                self.http_in_order(seq, bytes, close)
            }
        }
    }

    /// Sends a failure: an Error frame, or for HTTP Kea's command-error answer
    /// (`[ { "result": 1, "text": ... } ]`, HTTP 200).
    pub(crate) fn fail(&self, route: Route, status: Status, message: &str) -> Result<(), Gone> {
        match route {
            Route::Frame { txid } => self
                .outbox
                .push(None, |out| codec::encode_error(out, txid, status as u32, message))
                .map_err(|_| Gone),
            Route::Http { seq, close } => {
                let body = serde_json::json!([{ "result": 1, "text": message }]).to_string();
                let mut bytes = Vec::with_capacity(body.len() + 100);
                http::encode_response(&mut bytes, 200, body.as_bytes(), close);
                self.http_in_order(seq, bytes, close)
            }
        }
    }

    /// Queues an HTTP-level refusal (`{ "result": 400, "text": "Bad Request" }`) as the
    /// `seq`th answer, after which the connection closes.
    pub(crate) fn refuse_http(&self, seq: u64, status: u16) {
        let mut bytes = Vec::new();
        http::encode_error_response(&mut bytes, status, true);
        let _ = self.http_in_order(seq, bytes, true);
    }

    fn http_in_order(&self, seq: u64, bytes: Vec<u8>, close: bool) -> Result<(), Gone> {
        if self.outbox.is_closed() {
            return Err(Gone);
        }
        let mut order = self.http_order.lock().unwrap_or_else(|p| p.into_inner());
        order.ready.insert(seq, (bytes, close));
        while let Some((bytes, close)) = {
            let next = order.next;
            order.ready.remove(&next)
        } {
            order.next += 1;
            self.outbox.push(None, |out| out.extend_from_slice(&bytes)).map_err(|_| Gone)?;
            if close {
                // Written, then the writer flushes and ends the connection.
                self.outbox.close();
                order.ready.clear();
                break;
            }
        }
        Ok(())
    }
}
