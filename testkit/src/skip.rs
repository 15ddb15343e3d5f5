//! The one skip policy of the tests that need something cargo does not provide: Kea 2.2
//! and perfdhcp, Kea's headers, root (for an address on `lo`), Python, a C compiler,
//! valgrind. Where it is missing, the test says so in one line and passes without running:
//!
//! ```text
//! SKIPPED: <test>: <what is missing> (<how to get it>)
//! ```
//!
//! The line goes straight to stderr, past libtest's output capture, so a plain
//! `cargo test` shows every test that did not run. With `HAMUX_REQUIRE_KEA` set (CI sets
//! it to 1) nothing may be skipped: the same call fails the test instead.

use std::fmt::Display;
use std::io::Write;
use std::process::{Command, Stdio};

/// The environment variable that turns every skip into a failure.
pub const REQUIRE: &str = "HAMUX_REQUIRE_KEA";

/// Whether skips are failures here: [`REQUIRE`] is set (to anything).
pub fn required() -> bool {
    std::env::var_os(REQUIRE).is_some()
}

/// The calling test cannot run here because of `why`: prints the `SKIPPED:` line and
/// returns false (`if !needs(...) { return; }` reads as the test's precondition), or
/// panics if skips are [`required`] to be failures.
#[track_caller]
pub fn skip(why: impl Display) -> bool {
    let thread = std::thread::current();
    // libtest names each test's thread after the test.
    let test = thread.name().unwrap_or("a test");
    assert!(!required(), "{test} cannot run: {why}; {REQUIRE} is set, which makes that a failure");
    let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {why}");
    false
}

/// True if `need` is met; otherwise [`skip`] with its reason.
#[track_caller]
pub fn needs(need: Result<(), String>) -> bool {
    match need {
        Ok(()) => true,
        Err(why) => skip(why),
    }
}

/// `Ok` if `program --version` runs; else why not, with `hint` (how to get it).
pub fn program(program: &str, hint: &str) -> Result<(), String> {
    let ran = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match ran {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("`{program}` does not run ({e}): {hint}")),
    }
}

/// The C compiler the tests use: `$CC`, else `cc`.
pub fn c_compiler() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

/// `Ok` if [`c_compiler`] runs.
pub fn have_c_compiler() -> Result<(), String> {
    program(&c_compiler(), "install gcc or set CC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_that_runs_is_there_and_one_that_does_not_is_named() {
        assert_eq!(program("cargo", "?"), Ok(()));
        let missing = program("/no/such/program", "apt-get install it").unwrap_err();
        assert!(
            missing.starts_with("`/no/such/program` does not run (")
                && missing.ends_with("apt-get install it")
        );
    }

    #[test]
    fn a_met_need_is_no_skip() {
        // (A missing one would print the line, or fail where HAMUX_REQUIRE_KEA is set.)
        assert!(needs(Ok(())));
    }
}
