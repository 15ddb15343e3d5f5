//! Status codes, version and error detail.

use super::boundary;
use crate::Status;
use std::ffi::c_char;

/// The outcome of a call or of a transaction. Zero is success.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum hamux_status {
    /// Success; for a transaction, the body is the peer's reply.
    HAMUX_OK = 0,
    /// An argument was invalid: a NULL pointer, a body that is not a JSON object, a bad URL.
    HAMUX_E_INVALID = 1,
    /// The configuration was refused; `hamux_last_error()` names the key.
    HAMUX_E_CONFIG = 2,
    /// The peer's `max-in-flight` limit is reached; nothing was queued, retry later.
    HAMUX_E_BUSY = 3,
    /// The object is shutting down and takes no new work.
    HAMUX_E_SHUTDOWN = 4,
    /// No reply arrived within `request-timeout-ms`.
    HAMUX_E_TIMEOUT = 5,
    /// The peer could not be reached, the connection was lost, or (for a listener
    /// request) the requesting connection is gone.
    HAMUX_E_CONNECT = 6,
    /// The peer broke the protocol or reported an error for this request.
    HAMUX_E_PROTOCOL = 7,
    /// The request was cancelled: the client was freed before its reply arrived, or the
    /// peer's listener dropped it.
    HAMUX_E_CANCELLED = 8,
    /// TLS negotiation or certificate verification failed (either end refused the other's
    /// certificate, or the peer does not speak TLS); the callback's body says why.
    HAMUX_E_TLS = 9,
    /// An internal error in hamux (a bug); details in `hamux_last_error()`.
    HAMUX_E_INTERNAL = 10,
    /// An `http://` peer answered with a non-2xx HTTP status; the callback's body is the
    /// peer's answer (Kea's `{ "result": ..., "text": ... }`).
    HAMUX_E_HTTP = 11,
}

static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library version, e.g. "0.1.0". Static; never free it.
#[no_mangle]
pub extern "C" fn hamux_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// The name of a status, e.g. "HAMUX_E_TIMEOUT". Static; never free it.
#[no_mangle]
pub extern "C" fn hamux_status_name(status: hamux_status) -> *const c_char {
    Status::from(status).c_name().as_ptr()
}

/// Detail of the last failed call made on this thread ("" if none), e.g. which
/// configuration key was refused. Owned by hamux: valid until the next failing hamux call
/// on the same thread; never free it.
#[no_mangle]
pub extern "C" fn hamux_last_error() -> *const c_char {
    boundary::last_error_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn names_match_the_core() {
        for s in Status::ALL {
            let name = unsafe { CStr::from_ptr(hamux_status_name(s.into())) };
            assert_eq!(name.to_str().unwrap(), s.name());
            assert_eq!(hamux_status::from(s) as u32, s as u32);
        }
    }
}
