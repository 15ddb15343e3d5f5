//! The C ABI. Every `extern "C"` function of hamux lives here and only converts arguments
//! and results; the logic is in the safe Rust modules. Each body runs inside
//! [`boundary::guard`], so no panic crosses into the host and every failure leaves a
//! detail for `hamux_last_error`.
//!
//! The header `include/hamux.h` is generated from these files by cbindgen (see
//! `build.rs`): the doc comments here are the C documentation.

// C names are the ABI; pointer rules are stated in each function's doc (the header).
#![allow(non_camel_case_types, clippy::missing_safety_doc)]

mod boundary;
mod client;
#[cfg(test)]
mod config_keys;
mod lease;
mod listener;
mod log;
mod request;
mod status;
mod strings;

pub use client::*;
pub use lease::*;
pub use listener::*;
pub use log::{hamux_log_cb, hamux_log_level, hamux_set_logger};
pub use request::*;
pub use status::*;
pub use strings::*;
