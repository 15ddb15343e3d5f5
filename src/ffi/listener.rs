//! `hamux_listener_*`: receiving commands from peers.

use super::boundary::{c_str, guard, guard_value, non_null, set_last_error};
use super::request::hamux_request;
use super::status::hamux_status;
use super::strings::into_c_string;
use crate::listener::{Listener, Request};
use crate::Error;
use std::ffi::{c_char, c_void};
use std::sync::Arc;

/// A listener: a socket for HA commands, IO threads and a pool of handler threads.
/// Create with `hamux_listener_new`, free with `hamux_listener_free`.
pub struct hamux_listener {
    inner: Listener,
}

/// Called once per incoming request on one of the `handler-threads` threads, several at
/// a time (with `"callbacks": "poll"`: on the thread calling `hamux_listener_dispatch`;
/// with `"handler-threads": 0`: a parallel command on the IO thread that read it, a
/// serial one on the serial lane's own thread). The host now owns `request` and must answer it exactly once with
/// `hamux_request_respond` or `hamux_request_respond_error`, from this or any other
/// thread, now or later. `body` (the command, `body_len` bytes, not NUL-terminated) is
/// valid only during the call. Must not call `hamux_listener_free`.
#[allow(non_camel_case_types)]
pub type hamux_request_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        request: *mut hamux_request,
        body: *const u8,
        body_len: usize,
    ),
>;

struct CHandler {
    cb: unsafe extern "C" fn(*mut c_void, *mut hamux_request, *const u8, usize),
    user_data: *mut c_void,
}

// SAFETY: the host passes the callback and user data to a multi-threaded listener and
// thereby promises they may be used from the handler threads concurrently.
unsafe impl Send for CHandler {}
unsafe impl Sync for CHandler {}

impl CHandler {
    fn call(&self, mut request: Request) {
        let body = request.take_body();
        let handle = Box::into_raw(Box::new(hamux_request { inner: request }));
        // SAFETY: the callback and user data are the host's; `handle` is a fresh box the
        // host now owns, `body` outlives the call.
        unsafe { (self.cb)(self.user_data, handle, body.as_ptr(), body.len()) }
    }
}

/// Creates a listener from a JSON configuration and starts serving; writes it to `*out`.
/// HAMUX_E_CONFIG names a refused key (unknown keys are refused); HAMUX_E_CONNECT if the
/// address cannot be bound. Defaults and ranges: the README's configuration reference.
///
/// Listener keys:
/// - `address`: IPv4 or IPv6 address to bind (default "127.0.0.1").
/// - `port`: port to bind; 0 (the default) picks a free one, see `hamux_listener_port`.
/// - `io-threads`: IO threads decoding requests and writing replies.
/// - `handler-threads`: threads running the request callback. 0: inline: the IO thread
///   that read a parallel command runs the callback itself (no hand-over to another
///   thread: the fastest, for a handler that never blocks, e.g. one storing leases in
///   memory). Such a callback must not block, wait for another request or call
///   `hamux_listener_free`/`_shutdown`: while it runs, no connection of that IO thread is
///   read or written. It may answer now or later from any thread. Serial-lane commands
///   still run on a thread of their own.
/// - `max-frame-bytes`: largest request body; a larger one closes the connection.
/// - `max-pending`: requests handed to the host and not yet answered; at the limit
///   connections are not read until the host answers.
/// - `max-pending-per-connection`: of those, how many one connection may have.
/// - `parallel-commands`: commands handed to the host in parallel (default: Kea's HA
///   commands; `["*"]`: all); any other goes through the serial lane, one at a time.
/// - `callbacks`: where the request callback runs: "threads" (`handler-threads`) or
///   "poll" (`hamux_listener_dispatch`).
/// - `allowed-peers`: source addresses (CIDRs, ports, port ranges) allowed to connect.
/// - `max-connections`: connections open at once; more are closed at accept.
/// - `handshake-timeout-ms`: time a new connection has to finish TLS and show its protocol.
/// - `idle-timeout-ms`: a connection with nothing pending that sends nothing this long is
///   closed (0: never).
/// - `drain-timeout-ms`: graceful shutdown: how long connections may take to answer what
///   they were handed (see `hamux_listener_shutdown`).
/// - `cert-file`: TLS: this listener's certificate chain (PEM); with it, every
///   connection must be TLS.
/// - `key-file`: TLS: the private key of `cert-file` (PEM).
/// - `trust-anchor`: TLS: PEM file (or directory) of the CA(s) client certificates must
///   chain to.
/// - `require-client-certs`: TLS: refuse clients without a valid certificate (default
///   true; needs `trust-anchor`).
#[no_mangle]
pub unsafe extern "C" fn hamux_listener_new(
    config_json: *const c_char,
    cb: hamux_request_cb,
    user_data: *mut c_void,
    out: *mut *mut hamux_listener,
) -> hamux_status {
    super::log::init_from_env();
    guard(|| {
        non_null(out, "out")?;
        let config = c_str(config_json, "config_json")?;
        let cb = cb.ok_or_else(|| Error::invalid("cb is NULL"))?;
        let handler = CHandler { cb, user_data };
        let listener = Listener::new(config, Arc::new(move |request| handler.call(request)))?;
        *out = Box::into_raw(Box::new(hamux_listener { inner: listener }));
        Ok(())
    })
}

/// The port the listener is bound to (useful with `"port": 0`); 0 if `listener` is NULL.
#[no_mangle]
pub unsafe extern "C" fn hamux_listener_port(listener: *const hamux_listener) -> u16 {
    listener.as_ref().map_or(0, |l| l.inner.local_addr().port())
}

/// Statistics as a JSON object (see the README): connections (accepted, refused, over
/// `max-connections`, accepts that failed for want of a file descriptor:
/// `out-of-descriptors`), requests, responses, protocol errors, bytes. NULL if
/// `listener` is NULL. Free with `hamux_string_free`.
#[no_mangle]
pub unsafe extern "C" fn hamux_listener_stats(listener: *const hamux_listener) -> *mut c_char {
    guard_value(std::ptr::null_mut(), || match listener.as_ref() {
        Some(l) => into_c_string(l.inner.stats_json()),
        None => {
            set_last_error("listener is NULL");
            std::ptr::null_mut()
        }
    })
}

/// With `"callbacks": "poll"`: a descriptor (an eventfd) that is readable while requests
/// wait for `hamux_listener_dispatch`. -1 in threads mode or if `listener` is NULL.
/// Owned by the listener: do not close it.
#[no_mangle]
pub unsafe extern "C" fn hamux_listener_fd(listener: *const hamux_listener) -> i32 {
    listener.as_ref().and_then(|l| l.inner.poll_fd()).unwrap_or(-1)
}

/// With `"callbacks": "poll"`: runs the request callback for up to `max` waiting requests
/// on the calling thread and returns how many ran (0 in threads mode or if `listener` is
/// NULL).
#[no_mangle]
pub unsafe extern "C" fn hamux_listener_dispatch(listener: *mut hamux_listener, max: usize) -> usize {
    guard_value(0, || listener.as_ref().map_or(0, |l| l.inner.dispatch(max)))
}

/// Starts a graceful shutdown and returns at once: the listening socket is closed (the
/// port is free when this returns), `hamux://` peers are sent a Goaway (they stop sending
/// on that connection and reconnect for new requests), HTTP connections close after
/// their last answer. Requests already on their way still reach the request callback;
/// each connection closes once the host has answered what it was handed, or after the
/// listener's `drain-timeout-ms`. Answer requests as usual meanwhile, then call
/// `hamux_listener_free`. For hosts that answer on the thread that frees the listener (a
/// single-threaded event loop): keep answering until `hamux_listener_stats` shows
/// `"connections-open": 0`. Idempotent; NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn hamux_listener_shutdown(listener: *const hamux_listener) {
    guard_value((), || {
        if let Some(l) = listener.as_ref() {
            l.inner.begin_shutdown()
        }
    })
}

/// Shuts the listener down gracefully (see `hamux_listener_shutdown`), blocking until
/// every connection has drained or `drain-timeout-ms` (default 2000) has passed — with
/// `"callbacks": "poll"` the request callback runs on this thread meanwhile for requests
/// still queued — then closes what is left, waits for running request callbacks to return
/// and frees the listener. Requests the host still holds stay valid and must still be
/// answered; their answers now return HAMUX_E_CONNECT. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn hamux_listener_free(listener: *mut hamux_listener) {
    if !listener.is_null() {
        guard_value((), || drop(Box::from_raw(listener)));
    }
}
