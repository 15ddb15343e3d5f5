//! What the tool's bench tests share: running `hamux bench ... --json` and reading its
//! numbers.

use serde_json::Value;
use std::process::Command;
use std::time::Duration;
use testkit::process::run_with_limit;

/// Runs `hamux bench ARGS --json` and returns its JSON (asserting exit status 0).
pub fn bench(args: &[&str]) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hamux"));
    cmd.arg("bench").args(args).arg("--json");
    let run = run_with_limit(&mut cmd, Duration::from_secs(180), "hamux bench");
    assert!(
        run.status.is_some_and(|s| s.success()),
        "hamux bench {args:?} failed\n--- stdout\n{}--- stderr\n{}",
        run.stdout,
        run.stderr
    );
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.stdout))
}

/// The unsigned number `key` of `v`, which must be there.
pub fn count(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no number '{key}' in {v}"))
}
