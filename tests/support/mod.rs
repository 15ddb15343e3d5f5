//! Shared test support: running real Kea daemons on loopback.

pub mod kea;
