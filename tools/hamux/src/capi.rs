//! Thin owners of the C API's handles: the benchmark drives hamux through exactly the
//! `extern "C"` functions a C host calls, and these only make sure every handle is freed.

use hamux::ffi::{
    hamux_client, hamux_client_free, hamux_client_new, hamux_client_stats, hamux_last_error, hamux_listener,
    hamux_listener_free, hamux_listener_new, hamux_listener_port, hamux_listener_stats, hamux_request_cb,
    hamux_status, hamux_status_name, hamux_string_free,
};
use std::ffi::{c_char, c_void, CStr, CString};

/// The calling thread's `hamux_last_error()`, copied.
pub fn last_error() -> String {
    // SAFETY: hamux returns a valid NUL-terminated string owned by the thread.
    unsafe { CStr::from_ptr(hamux_last_error()) }.to_string_lossy().into_owned()
}

/// `hamux_status_name(status)`, e.g. "HAMUX_E_TIMEOUT".
pub fn status_name(status: hamux_status) -> &'static str {
    // SAFETY: the names are static NUL-terminated ASCII strings.
    unsafe { CStr::from_ptr(hamux_status_name(status as u32)) }.to_str().unwrap_or("HAMUX_E_?")
}

fn failure(what: &str, status: hamux_status) -> String {
    format!("{what}: {} ({})", status_name(status), last_error())
}

/// Takes a string hamux allocated, copies it and frees it.
///
/// # Safety
/// `s` must be NULL or a string returned by a hamux `*_stats` function, not yet freed.
unsafe fn take_string(s: *mut c_char) -> Option<String> {
    if s.is_null() {
        return None;
    }
    let text = CStr::from_ptr(s).to_string_lossy().into_owned();
    hamux_string_free(s);
    Some(text)
}

/// An owned `hamux_client *`.
pub struct Client {
    raw: *mut hamux_client,
}

impl Client {
    /// `hamux_client_new(config)`.
    pub fn new(config: &str) -> Result<Client, String> {
        let config = CString::new(config).map_err(|_| "client configuration contains NUL".to_string())?;
        let mut raw = std::ptr::null_mut();
        // SAFETY: valid C string and out pointer.
        match unsafe { hamux_client_new(config.as_ptr(), &mut raw) } {
            hamux_status::Ok => Ok(Client { raw }),
            status => Err(failure("hamux_client_new", status)),
        }
    }

    /// `hamux_client_stats` parsed as JSON.
    pub fn stats(&self) -> Option<serde_json::Value> {
        // SAFETY: a live client handle; the string is freed by take_string.
        let text = unsafe { take_string(hamux_client_stats(self.raw)) }?;
        serde_json::from_str(&text).ok()
    }

    /// The handle, for `hamux_client_send`; valid while `self` lives.
    pub fn raw(&self) -> *mut hamux_client {
        self.raw
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // SAFETY: created by hamux_client_new, freed once, not from a callback.
        unsafe { hamux_client_free(self.raw) }
    }
}

/// An owned `hamux_listener *`.
pub struct Listener {
    raw: *mut hamux_listener,
}

impl Listener {
    /// `hamux_listener_new(config, cb, user_data)`.
    ///
    /// # Safety
    /// `user_data` must stay valid for `cb` until the listener is dropped, and `cb` must
    /// answer every request it is given.
    pub unsafe fn new(
        config: &str,
        cb: hamux_request_cb,
        user_data: *mut c_void,
    ) -> Result<Listener, String> {
        let config = CString::new(config).map_err(|_| "listener configuration contains NUL".to_string())?;
        let mut raw = std::ptr::null_mut();
        match hamux_listener_new(config.as_ptr(), cb, user_data, &mut raw) {
            hamux_status::Ok => Ok(Listener { raw }),
            status => Err(failure("hamux_listener_new", status)),
        }
    }

    pub fn port(&self) -> u16 {
        // SAFETY: a live listener handle.
        unsafe { hamux_listener_port(self.raw) }
    }

    /// `hamux_listener_stats` parsed as JSON.
    pub fn stats(&self) -> Option<serde_json::Value> {
        // SAFETY: a live listener handle; the string is freed by take_string.
        let text = unsafe { take_string(hamux_listener_stats(self.raw)) }?;
        serde_json::from_str(&text).ok()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // SAFETY: created by hamux_listener_new and freed once.
        unsafe { hamux_listener_free(self.raw) }
    }
}
