//! Waiting in a test for something another thread or process brings about.

use std::time::{Duration, Instant};

/// Polls `cond` every 2 ms until it holds; panics naming `what` after `within`.
pub fn until(what: &str, within: Duration, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}
