//! The panic boundary and the per-thread error detail.

use super::status::hamux_status;
use crate::Error;
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `message` as this thread's last error detail.
pub(crate) fn set_last_error(message: &str) {
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = text);
}

/// The pointer `hamux_last_error` returns: valid until the next failing call on this thread.
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// Runs an FFI body: `Ok` is HAMUX_OK, an `Err` or a panic becomes its status, with the
/// detail recorded for `hamux_last_error`.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Error>) -> hamux_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => hamux_status::Ok,
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.status
        }
        Err(_) => {
            set_last_error("internal error: hamux panicked (this is a bug; please report it)");
            hamux_status::Internal
        }
    }
}

/// Runs an FFI body that returns a value; a panic gives `fallback`.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        set_last_error("internal error: hamux panicked (this is a bug; please report it)");
        fallback
    })
}

/// Fails with INVALID naming `what` when `ptr` is null.
pub(crate) fn non_null<T>(ptr: *const T, what: &str) -> Result<(), Error> {
    if ptr.is_null() {
        Err(Error::invalid(format!("{what} is NULL")))
    } else {
        Ok(())
    }
}

/// Reads a caller's C string as UTF-8.
///
/// # Safety
/// `ptr` must be null or point to a NUL-terminated string that outlives the call.
pub(crate) unsafe fn c_str<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Error> {
    non_null(ptr, what)?;
    CStr::from_ptr(ptr).to_str().map_err(|_| Error::invalid(format!("{what} is not valid UTF-8")))
}

/// Views a caller's buffer; NULL is allowed only with length 0.
///
/// # Safety
/// `ptr` must be null or valid for reads of `len` bytes for the duration of the call.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a [u8], Error> {
    if ptr.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(Error::invalid(format!("{what} is NULL"))) };
    }
    Ok(std::slice::from_raw_parts(ptr, len))
}
