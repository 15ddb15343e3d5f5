//! Status codes, version and error detail.

use super::boundary;
use crate::Status;
use std::ffi::c_char;

/// The C ABI's `hamux_status` is [`Status`] itself (`#[repr(C)]`, the C enum's layout); the
/// header's `enum hamux_status` is rendered from the same table by `build.rs`. Values from C
/// arrive as `uint32_t` and go through [`Status::from_code`], so an unknown number is
/// refused instead of becoming an invalid enum.
pub use crate::Status as hamux_status;

static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library version, e.g. "0.1.0". Static; never free it.
#[no_mangle]
pub extern "C" fn hamux_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// The name of a status, e.g. "HAMUX_E_TIMEOUT". `status` is a `hamux_status` value,
/// passed as `uint32_t` so that any number is safe: one that is not a `hamux_status` gives
/// "HAMUX_E_INVALID" (the status a call refusing it returns) and a detail for
/// `hamux_last_error()`. Never NULL; static, never free it.
#[no_mangle]
pub extern "C" fn hamux_status_name(status: u32) -> *const c_char {
    let invalid = Status::Invalid.c_name().as_ptr();
    boundary::guard_value(invalid, || match Status::from_code(status) {
        Some(s) => s.c_name().as_ptr(),
        None => {
            boundary::set_last_error(&format!("{status} is not a hamux_status value"));
            invalid
        }
    })
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

    fn name(status: u32) -> &'static str {
        unsafe { CStr::from_ptr(hamux_status_name(status)) }.to_str().unwrap()
    }

    #[test]
    fn names_match_the_core() {
        for s in Status::ALL {
            assert_eq!(name(s as u32), s.name());
        }
    }

    #[test]
    fn unknown_values_are_named_invalid() {
        for code in [Status::ALL.len() as u32, 99, u32::MAX] {
            assert_eq!(name(code), "HAMUX_E_INVALID");
            let detail = unsafe { CStr::from_ptr(hamux_last_error()) }.to_str().unwrap();
            assert!(detail.contains(&code.to_string()), "{detail}");
        }
    }
}
