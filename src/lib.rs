//! hamux — out-of-order multiplexed transport for DHCP High-Availability lease updates.
//!
//! A DHCP server's worker threads hand hamux a command (Kea JSON) for a peer URL and get a
//! callback with the reply; on the other side a listener hands incoming commands to a pool
//! of handler threads and lets the host answer them from any thread, in any order.
//!
//! The crate is layered so that each layer only uses the public surface of the one below:
//! - [`codec`]: the `hamux://` wire format (pure functions over byte slices);
//! - [`io`]: the IO threads (one single-threaded tokio runtime each) and the shared
//!   outgoing-frame buffer every connection writes through;
//! - [`tls`]: rustls configurations built from Kea's TLS parameters;
//! - [`client`] and [`listener`]: the two ends, in safe Rust, knowing nothing about C;
//! - `ffi`: the C ABI, the only place with `extern "C"`, converting and delegating.

pub mod client;
pub mod codec;
mod config;
mod error;
pub mod ffi;
pub mod io;
pub mod lease;
pub mod listener;
pub mod log;
mod status;
pub mod tls;
mod url;

pub use config::Callbacks;
pub use error::Error;
pub use status::Status;
pub use url::{PeerUrl, Scheme};

/// The crate version, as `hamux_version()` reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
