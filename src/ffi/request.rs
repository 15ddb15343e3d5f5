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

/// Answers with an error instead of a reply and frees the request: the peer's callback
/// gets `status` and `message` (NUL-terminated; NULL for none). `status` is one of the
/// HAMUX_E_ values, passed as `uint32_t`; HAMUX_OK is sent as HAMUX_E_PROTOCOL (an error
/// answer cannot be a success). A number that is not a `hamux_status` is refused with
/// HAMUX_E_INVALID: the request is freed all the same and the peer gets HAMUX_E_INTERNAL.
/// HAMUX_E_CONNECT if the requesting peer's connection is gone, HAMUX_E_INVALID for a NULL
/// request.
#[no_mangle]
pub unsafe extern "C" fn hamux_request_respond_error(
    request: *mut hamux_request,
    status: u32,
    message: *const c_char,
) -> hamux_status {
    guard(|| {
        let request = take(request)?;
        let message =
            if message.is_null() { "" } else { c_str(message, "message").unwrap_or("(invalid UTF-8)") };
        match Status::from_code(status) {
            Some(Status::Ok) => request.respond_error(Status::Protocol, message),
            Some(status) => request.respond_error(status, message),
            None => {
                let _ = request.respond_error(Status::Internal, "the host answered with an invalid status");
                Err(Error::invalid(format!("status {status} is not a hamux_status value")))
            }
        }
    })
}

/// The transaction id the peer gave this request (0 if `request` is NULL).
#[no_mangle]
pub unsafe extern "C" fn hamux_request_txid(request: *const hamux_request) -> u64 {
    request.as_ref().map_or(0, |r| r.inner.txid())
}
