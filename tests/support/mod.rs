//! Shared test support: real Kea daemons on loopback, child processes with time limits.
//! Each test binary uses part of it.
#![allow(dead_code)]

pub mod certs;
pub mod kea;
pub mod kea_hook;
pub mod library;
pub mod process;
