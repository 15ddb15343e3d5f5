//! What the library's tests (`tests/`) and the `hamux` tool (`tools/hamux`) share, kept in
//! one place:
//! - [`skip`]: the one skip policy — a test that needs Kea, perfdhcp, root, Python or a C
//!   compiler and finds it missing prints one `SKIPPED:` line, and `HAMUX_REQUIRE_KEA`
//!   turns that into a failure;
//! - [`kea`]: real Kea 2.2 daemons on loopback and their configurations;
//! - [`perfdhcp`]: perfdhcp, its relay address on `lo` and the lock that gives it one run
//!   at a time;
//! - [`certs`]: a throw-away PKI made at run time;
//! - [`dhcp4`]: relayed DHCPv4 DISCOVERs and REQUESTs, and Kea's answers read;
//! - [`process`]: child processes with a time limit, tied to their starter, read in /proc;
//! - [`peer_process`]: a `hamux listen` child process as a peer that can really die;
//! - [`library`]: where the library this test run built lives;
//! - [`kea_driver`]: C++ drivers comparing the hook's pieces with Kea's own code;
//! - [`wait`]: polling until a condition holds, with a time limit.
//!
//! It does not depend on the library: the tests link exactly one copy of `hamux`, and the
//! tool's own modules stay in the tool. A function that can fail comes in two forms where
//! both are needed: `try_*` returns the reason (the tool reports it), the plain one panics
//! with it (a test fails with it).

pub mod certs;
pub mod dhcp4;
pub mod kea;
pub mod kea_driver;
pub mod library;
pub mod peer_process;
pub mod perfdhcp;
pub mod process;
pub mod skip;
pub mod wait;
