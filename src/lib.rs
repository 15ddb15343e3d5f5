//! hamux — out-of-order multiplexed transport for DHCP High-Availability lease updates.
//!
//! A DHCP server's worker threads hand hamux a command (Kea JSON) for a peer URL and get a
//! callback with the reply; on the other side a listener hands incoming commands to a pool
//! of handler threads and lets the host answer them from any thread, in any order.
//!
//! The public Rust API is what a Rust host, the `hamux` tool, the tests and the fuzz
//! targets use:
//! - [`client`] and [`listener`]: the two ends, in safe Rust, knowing nothing about C;
//! - [`lease`]: Kea's HA lease commands from typed leases (the C ABI's `hamux_lease*`);
//! - [`codec`]: the `hamux://` and HTTP wire formats (pure functions over byte slices);
//! - [`Status`], [`Error`], [`PeerUrl`], [`Callbacks`], [`TlsFiles`]: the types those use;
//! - [`ffi`]: the C ABI, the only place with `extern "C"`, converting and delegating (Rust
//!   callers such as the tool's C-API benchmark drive it as a C host would).
//!
//! Internal layers, crate-private: `io` (the IO threads, one single-threaded tokio runtime
//! each, and the outgoing-frame buffer every connection writes through), `tls` (rustls
//! configurations from Kea's TLS parameters), `log` (hamux's `tracing` events to the
//! host's logger), `config` (reading Kea-style JSON) and `url`.

pub mod client;
pub mod codec;
mod config;
mod counter;
mod error;
pub mod ffi;
mod io;
pub mod lease;
pub mod listener;
mod log;
mod prefetch;
mod status;
mod tls;
mod url;

pub use config::Callbacks;
pub use error::Error;
pub use status::Status;
pub use tls::TlsFiles;
pub use url::{PeerUrl, Scheme};

/// The crate version, as `hamux_version()` reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
