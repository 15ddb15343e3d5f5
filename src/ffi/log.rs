//! `hamux_set_logger`: hamux's log events into the host's own log.

use super::boundary::guard_value;
use crate::log::{self, LogFn};
use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;
use tracing::Level;

/// Installs the logging subscriber (and `HAMUX_LOG`'s stderr output) on first use.
pub(crate) fn init_from_env() {
    log::install();
}

/// Severity of a log event; a logger receives events at or above its level.
#[repr(C)]
pub enum hamux_log_level {
    HAMUX_LOG_ERROR = 1,
    HAMUX_LOG_WARN = 2,
    HAMUX_LOG_INFO = 3,
    HAMUX_LOG_DEBUG = 4,
    HAMUX_LOG_TRACE = 5,
}

/// Receives one log event: its level (a `hamux_log_level` value), its target (the hamux
/// module, e.g. "hamux::client::multiplexed") and its message, both NUL-terminated and
/// valid only during the call. Runs on whichever hamux thread logged, possibly several
/// at once; it must not block and must not call hamux functions.
pub type hamux_log_cb = Option<
    unsafe extern "C" fn(user_data: *mut c_void, level: u32, target: *const c_char, message: *const c_char),
>;

struct CLogger {
    cb: unsafe extern "C" fn(*mut c_void, u32, *const c_char, *const c_char),
    user_data: *mut c_void,
}

// SAFETY: the host passes a callback that may run on any hamux thread with this data.
unsafe impl Send for CLogger {}
unsafe impl Sync for CLogger {}

impl CLogger {
    fn call(&self, level: Level, target: &str, message: &str) {
        let target = CString::new(target.replace('\0', " ")).unwrap_or_default();
        let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
        // SAFETY: the host's callback, with NUL-terminated strings that outlive the call.
        unsafe { (self.cb)(self.user_data, level_number(level), target.as_ptr(), message.as_ptr()) }
    }
}

fn level_number(level: Level) -> u32 {
    match level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

/// Routes hamux's log events up to `max_level` (a `hamux_log_level` value; out of range
/// means TRACE) to `cb` with `user_data`; a NULL `cb` stops it. Replaces any earlier
/// logger. hamux is silent by default (or logs to stderr if the environment variable
/// `HAMUX_LOG` holds a filter such as "debug").
#[no_mangle]
pub unsafe extern "C" fn hamux_set_logger(cb: hamux_log_cb, user_data: *mut c_void, max_level: u32) {
    guard_value((), || {
        let max = match max_level {
            0 | 1 => Level::ERROR,
            2 => Level::WARN,
            3 => Level::INFO,
            4 => Level::DEBUG,
            _ => Level::TRACE,
        };
        let sink = cb.map(|cb| {
            let logger = CLogger { cb, user_data };
            Arc::new(move |level: Level, target: &str, message: &str| logger.call(level, target, message))
                as LogFn
        });
        log::set_logger(sink, max);
    })
}
