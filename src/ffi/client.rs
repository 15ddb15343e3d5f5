//! `hamux_client_*`: sending commands to peers.

use super::boundary::{bytes, c_str, guard, guard_value, non_null};
use super::status::hamux_status;
use super::strings::into_c_string;
use crate::client::{Client, RawCallback};
use crate::Error;
use std::ffi::{c_char, c_void};

/// A client: pools of connections to peers, served by IO threads. Create with
/// `hamux_client_new`, free with `hamux_client_free`. All functions taking a client may be
/// called from any thread concurrently, except `hamux_client_free`.
pub struct hamux_client {
    inner: Client,
}

/// Called exactly once for every request `hamux_client_send` accepted, on a hamux IO
/// thread (or, for requests still queued when the client is freed, on the thread calling
/// `hamux_client_free`, before it returns). With `"callbacks": "poll"` it runs instead on
/// the thread that calls `hamux_client_dispatch` (and, for what is left at free, in
/// `hamux_client_free`).
///
/// `status` is HAMUX_OK with the peer's reply in `body`, or HAMUX_E_TIMEOUT,
/// HAMUX_E_CONNECT, HAMUX_E_PROTOCOL, HAMUX_E_CANCELLED — or the status a hamux peer's
/// host gave with `hamux_request_respond_error` — with a UTF-8 description of the
/// failure in `body` (not NUL-terminated). `body` is valid only during the call: copy what
/// you keep. The callback must not block (it holds up the IO thread's other replies) and
/// must not call `hamux_client_free`; it may call `hamux_client_send`.
#[allow(non_camel_case_types)]
pub type hamux_response_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        txid: u64,
        status: hamux_status,
        body: *const u8,
        body_len: usize,
    ),
>;

/// Creates a client from a JSON configuration (`"{}"` for the defaults) and writes it to
/// `*out`. Unknown keys and bad values give HAMUX_E_CONFIG with the key named in
/// `hamux_last_error()`. Defaults and ranges: the README's configuration reference.
///
/// Client keys:
/// - `io-threads`: IO threads, each its own runtime; connections are spread over them.
/// - `drain-timeout-ms`: how long `hamux_client_free` waits for outstanding replies.
/// - `callbacks`: where response callbacks run: "threads" (hamux IO threads) or "poll"
///   (`hamux_client_dispatch`).
/// - `peers`: a list of peer entries, `{"url": ..., <peer keys>}`. A URL not listed gets
///   the top-level peer keys on first use.
///
/// Peer keys, at the top level for every peer and in a peer entry for that peer:
/// - `url` (peer entries only): the peer's URL, spelled as it is passed to
///   `hamux_client_send`.
/// - `connections-per-peer`: connections opened (lazily) to the peer.
/// - `max-in-flight`: requests accepted and not yet completed; beyond, HAMUX_E_BUSY.
/// - `request-timeout-ms`: from send to reply; then HAMUX_E_TIMEOUT.
/// - `connect-timeout-ms`: one TCP connect.
/// - `max-frame-bytes`: largest request or reply body.
/// - `ping-interval-ms`: `hamux://` liveness: a Ping after this long without hearing from
///   the peer (0: no pings).
/// - `ping-timeout-ms`: no answer this long after a Ping ends the connection.
/// - `source-address`: local address outgoing connections are bound to.
/// - `source-port`: local port they are bound to (needs `connections-per-peer` 1).
/// - `basic-auth-user`: HTTP basic authentication user (Kea's name).
/// - `basic-auth-password`: its password (needs `basic-auth-user`).
/// - `resend-after-idle-close`: HTTP: send a request again once when a reused keep-alive
///   connection turns out closed by the peer (the README's "What is re-sent").
/// - `trust-anchor`: TLS: PEM file (or directory) of the CA(s) the peer's certificate
///   must chain to; required for `hamuxs://` and `https://` peers.
/// - `cert-file`: TLS: this end's certificate chain (PEM), presented when the peer asks.
/// - `key-file`: TLS: the private key of `cert-file` (PEM).
#[no_mangle]
pub unsafe extern "C" fn hamux_client_new(
    config_json: *const c_char,
    out: *mut *mut hamux_client,
) -> hamux_status {
    super::log::init_from_env();
    guard(|| {
        non_null(out, "out")?;
        let config = c_str(config_json, "config_json")?;
        let client = Client::new(config)?;
        *out = Box::into_raw(Box::new(hamux_client { inner: client }));
        Ok(())
    })
}

/// Queues `body` (a Kea command: one JSON object, `body_len` bytes, not NUL-terminated)
/// for the peer at `peer_url` (`hamux://host:port`, `http://host:port/path`, or over TLS
/// `hamuxs://host:port`, `https://host:port/path`). Never blocks on the network.
///
/// On HAMUX_OK the transaction id is written to `*txid_out` (if not NULL) before the
/// request can complete, and `cb` will be called exactly once with `user_data`. On any
/// other status nothing was queued and `cb` is never called: HAMUX_E_INVALID (NULL
/// argument, body not a JSON object, bad URL, body over `max-frame-bytes`), HAMUX_E_BUSY
/// (`max-in-flight` reached), HAMUX_E_SHUTDOWN, HAMUX_E_CONFIG (first send to a TLS URL not
/// listed in `peers` whose TLS files are missing or broken). `body` is copied before this
/// returns.
#[no_mangle]
pub unsafe extern "C" fn hamux_client_send(
    client: *mut hamux_client,
    peer_url: *const c_char,
    body: *const u8,
    body_len: usize,
    cb: hamux_response_cb,
    user_data: *mut c_void,
    txid_out: *mut u64,
) -> hamux_status {
    guard(|| {
        let body = bytes(body, body_len, "body")?;
        send(client, peer_url, body, cb, user_data, txid_out)
    })
}

/// The common part of every send: checks the handles and queues `body`.
///
/// # Safety
/// As for `hamux_client_send`.
pub(crate) unsafe fn send(
    client: *mut hamux_client,
    peer_url: *const c_char,
    body: &[u8],
    cb: hamux_response_cb,
    user_data: *mut c_void,
    txid_out: *mut u64,
) -> Result<(), Error> {
    non_null(client, "client")?;
    let url = c_str(peer_url, "peer_url")?;
    let cb = cb.ok_or_else(|| Error::invalid("cb is NULL"))?;
    let txid_out = txid_out.as_mut();
    // SAFETY: the host guarantees (hamux_client_send's contract) that `cb` may run once on
    // any thread with `user_data`.
    let callback = RawCallback::new(cb, user_data);
    (*client).inner.send(url, body, callback, txid_out)?;
    Ok(())
}

/// Statistics as a JSON object (see the README): totals and, per peer, connections,
/// in flight, sent, completed by status, connects, failures (`out-of-descriptors`: connects
/// that failed for want of a file descriptor), bytes. Returns NULL if
/// `client` is NULL. Free the string with `hamux_string_free`.
#[no_mangle]
pub unsafe extern "C" fn hamux_client_stats(client: *const hamux_client) -> *mut c_char {
    guard_value(std::ptr::null_mut(), || match client.as_ref() {
        Some(c) => into_c_string(c.inner.stats_json()),
        None => {
            super::boundary::set_last_error("client is NULL");
            std::ptr::null_mut()
        }
    })
}

/// With `"callbacks": "poll"`: a descriptor (an eventfd) that is readable while
/// completions wait for `hamux_client_dispatch`; poll it in the host's event loop. -1 in
/// the default threads mode or if `client` is NULL. Owned by the client: do not close it.
#[no_mangle]
pub unsafe extern "C" fn hamux_client_fd(client: *const hamux_client) -> i32 {
    client.as_ref().and_then(|c| c.inner.poll_fd()).unwrap_or(-1)
}

/// With `"callbacks": "poll"`: runs up to `max` waiting response callbacks on the calling
/// thread and returns how many ran (0 in threads mode or if `client` is NULL). Call it
/// when `hamux_client_fd` is readable. Callbacks may send; they must not free the client.
#[no_mangle]
pub unsafe extern "C" fn hamux_client_dispatch(client: *mut hamux_client, max: usize) -> usize {
    guard_value(0, || client.as_ref().map_or(0, |c| c.inner.dispatch(max)))
}

/// Stops accepting sends, waits up to `drain-timeout-ms` for outstanding replies,
/// completes every remaining callback with HAMUX_E_CANCELLED, joins the IO threads and
/// frees the client. No callback runs after it returns. NULL is ignored. Must not be
/// called from a hamux callback.
#[no_mangle]
pub unsafe extern "C" fn hamux_client_free(client: *mut hamux_client) {
    if !client.is_null() {
        guard_value((), || drop(Box::from_raw(client)));
    }
}
