//! Strings hamux allocates for the caller.

use std::ffi::{c_char, CString};

/// Turns a Rust string into a C string the caller frees with `hamux_string_free`.
pub(crate) fn into_c_string(text: String) -> *mut c_char {
    CString::new(text.replace('\0', " ")).unwrap_or_default().into_raw()
}

/// Frees a string returned by hamux (`hamux_client_stats`, `hamux_listener_stats`).
/// NULL is ignored. Never pass a string from anywhere else.
#[no_mangle]
pub unsafe extern "C" fn hamux_string_free(s: *mut c_char) {
    if !s.is_null() {
        super::boundary::guard_value((), || drop(CString::from_raw(s)));
    }
}
