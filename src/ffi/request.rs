//! `hamux_request_*`: answering a request the listener handed to the host.

use super::boundary::{bytes, c_str, guard, non_null};
use super::status::hamux_status;
use crate::listener::Request;
use crate::{Error, Status};
use std::ffi::c_char;

/// A request received by a listener. The host owns it from the request callback on and
/// answers it exactly once, from any thread, with `hamux_request_respond` or
/// `hamux_request_respond_error`; either call frees the handle.
pub struct hamux_request {
    pub(crate) inner: Request,
}

/// Takes the handle back (the caller's pointer is dead after this).
unsafe fn take(request: *mut hamux_request) -> Result<Request, Error> {
    non_null(request, "request")?;
    Ok(Box::from_raw(request).inner)
}

/// Sends `body` (`body_len` bytes; NULL only with 0) as the reply and frees the request.
/// Returns HAMUX_E_CONNECT if the requesting peer's connection is gone (the handle is
/// freed all the same), HAMUX_E_INVALID for a NULL request, or for a NULL body with a
/// non-zero length (the peer then gets an error reply and the handle is freed).
#[no_mangle]
pub unsafe extern "C" fn hamux_request_respond(
    request: *mut hamux_request,
    body: *const u8,
    body_len: usize,
) -> hamux_status {
    guard(|| {
        let request = take(request)?;
        match bytes(body, body_len, "body") {
            Ok(body) => request.respond(body),
            Err(e) => {
                let _ = request.respond_error(Status::Internal, "the host gave an invalid reply");
                Err(e)
            }
        }
    })
}

/// Answers with an error instead of a reply: the peer's callback gets `status` (one of
/// the HAMUX_E_ values) and `message` (NUL-terminated; NULL for none). Frees the request.
#[no_mangle]
pub unsafe extern "C" fn hamux_request_respond_error(
    request: *mut hamux_request,
    status: hamux_status,
    message: *const c_char,
) -> hamux_status {
    guard(|| {
        let request = take(request)?;
        let message =
            if message.is_null() { "" } else { c_str(message, "message").unwrap_or("(invalid UTF-8)") };
        let status = match Status::from(status) {
            Status::Ok => Status::Protocol,
            other => other,
        };
        request.respond_error(status, message)
    })
}

/// The transaction id the peer gave this request (0 if `request` is NULL).
#[no_mangle]
pub unsafe extern "C" fn hamux_request_txid(request: *const hamux_request) -> u64 {
    request.as_ref().map_or(0, |r| r.inner.txid())
}
