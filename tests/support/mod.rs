//! The tests' own support on top of the test kit (`testkit/`, shared with the `hamux`
//! tool): the Kea hook in real Kea servers. `super::kea`, `super::library` and
//! `super::process` there are the test kit's modules, re-exported here with the others
//! the Kea hook tests use. Each test binary uses part of it.
#![allow(dead_code, unused_imports)]

pub use testkit::{certs, dhcp4, kea, library, perfdhcp, process, skip};

pub mod ack_log;
pub mod failover;
pub mod kea_hook;
pub mod sanitizer;
