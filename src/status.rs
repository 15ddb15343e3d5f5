//! Outcome codes shared by the Rust API and the C ABI, defined once.
//!
//! The `statuses!` table at the bottom is the only place a status is written down: its
//! Rust name, its number, its C name, its stats label and its documentation. The macro
//! turns the table into [`Status`] and its lookups, so nothing can list the statuses in a
//! different order or forget one.
//!
//! The C header's `hamux_status` comes from the same table: cbindgen does not expand
//! macros, so `build.rs` compiles this file on its own (it must stay free of `crate::`
//! paths) and hands cbindgen the enum rendered from [`Status::ALL`], [`Status::name`] and
//! [`Status::doc`]. The C ABI uses `Status` itself: its `#[repr(C)]` is the C enum's.

use std::ffi::CStr;

/// Defines [`Status`] from one row per status:
/// `/// doc` `RustName = number, C_NAME, "label";`.
macro_rules! statuses {
    ($( $(#[doc = $doc:literal])+ $variant:ident = $value:literal, $c_name:ident, $label:literal; )+) => {
        /// Why an operation or a transaction ended the way it did; zero is success.
        ///
        /// The numeric values are the C ABI's `hamux_status` values and never change.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(C)]
        pub enum Status {
            $( $(#[doc = $doc])+ $variant = $value, )+
        }

        impl Status {
            /// Every status, in numeric order.
            pub const ALL: [Status; [$($value),+].len()] = [$(Status::$variant),+];

            /// The stable C name of the status, e.g. `"HAMUX_E_TIMEOUT"`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Status::$variant => stringify!($c_name),)+
                }
            }

            /// [`name`](Self::name) as a NUL-terminated string, for the C ABI.
            pub fn c_name(self) -> &'static CStr {
                match self {
                    $(Status::$variant => const { c_str(concat!(stringify!($c_name), "\0")) },)+
                }
            }

            /// A short lower-case label, used as a key in stats JSON.
            pub fn label(self) -> &'static str {
                match self {
                    $(Status::$variant => $label,)+
                }
            }

            /// The status's documentation as written in the table, one line per doc-comment
            /// line: the text the C header shows for it.
            pub fn doc(self) -> String {
                let lines: &[&str] = match self {
                    $(Status::$variant => &[$($doc),+],)+
                };
                let lines: Vec<&str> = lines.iter().map(|l| l.strip_prefix(' ').unwrap_or(l)).collect();
                lines.join("\n")
            }

            /// The status with this numeric value, if any: how a number from C or from a
            /// peer's error frame becomes a status (unknown numbers are the caller's to
            /// refuse, never undefined behaviour).
            pub fn from_code(code: u32) -> Option<Status> {
                match code {
                    $($value => Some(Status::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

/// A string literal with its NUL as a `CStr`, checked at compile time.
const fn c_str(with_nul: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(with_nul.as_bytes()) {
        Ok(s) => s,
        Err(_) => panic!("a status name contains a NUL"),
    }
}

statuses! {
    /// Success; for a transaction, the body is the peer's reply.
    Ok = 0, HAMUX_OK, "ok";
    /// An argument was invalid: a NULL pointer, a body that is not a JSON object, a bad URL,
    /// a number that is not a value of the expected enum.
    Invalid = 1, HAMUX_E_INVALID, "invalid";
    /// The configuration was refused; the error detail (`hamux_last_error()`) names the key.
    Config = 2, HAMUX_E_CONFIG, "config";
    /// The peer's `max-in-flight` limit (or a listener's queue) is full; nothing was queued,
    /// retry later.
    Busy = 3, HAMUX_E_BUSY, "busy";
    /// The object is shutting down and takes no new work.
    Shutdown = 4, HAMUX_E_SHUTDOWN, "shutdown";
    /// No reply arrived within `request-timeout-ms`.
    Timeout = 5, HAMUX_E_TIMEOUT, "timeout";
    /// The peer could not be reached, the connection was lost, or (for a listener
    /// request) the requesting connection is gone.
    Connect = 6, HAMUX_E_CONNECT, "connect";
    /// The peer broke the protocol (malformed frame, unexpected data) or reported an error
    /// for this request.
    Protocol = 7, HAMUX_E_PROTOCOL, "protocol";
    /// The request was cancelled: the client was freed before its reply arrived, or the
    /// peer's listener dropped it.
    Cancelled = 8, HAMUX_E_CANCELLED, "cancelled";
    /// TLS negotiation or certificate verification failed (either end refused the other's
    /// certificate, or the peer does not speak TLS); the callback's body says why.
    Tls = 9, HAMUX_E_TLS, "tls";
    /// An internal error in hamux (a bug: a caught panic, an impossible state); details in
    /// `hamux_last_error()`.
    Internal = 10, HAMUX_E_INTERNAL, "internal";
    /// An `http://` peer answered with a non-2xx HTTP status; the callback's body is the
    /// peer's answer (Kea's `{ "result": ..., "text": ... }`).
    Http = 11, HAMUX_E_HTTP, "http";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_numbered_in_order_and_consistent() {
        for (i, s) in Status::ALL.into_iter().enumerate() {
            assert_eq!(s as usize, i);
            assert_eq!(Status::from_code(i as u32), Some(s));
            assert_eq!(s.c_name().to_str().unwrap(), s.name());
            let suffix = s.name().strip_prefix("HAMUX_E_").or(s.name().strip_prefix("HAMUX_")).unwrap();
            assert_eq!(suffix.to_ascii_lowercase(), s.label());
            assert!(!s.doc().is_empty() && !s.doc().starts_with(' '));
        }
        assert_eq!(Status::Timeout.name(), "HAMUX_E_TIMEOUT");
        assert_eq!(Status::Ok.label(), "ok");
    }

    #[test]
    fn unknown_codes_are_none() {
        for code in [Status::ALL.len() as u32, 99, u32::MAX] {
            assert_eq!(Status::from_code(code), None);
        }
    }
}
