//! `hamux bench --scenario peers` and `--scenario connections` in short runs: every row
//! is there, delivered updates without an error, fan-out delivers K copies per update,
//! and the idle connections were all opened and cost each process some memory. No
//! timing is asserted: the machine is shared.

use serde_json::Value;
use std::process::Command;
use std::time::Duration;
use testkit::process::run_with_limit;

fn bench(args: &[&str]) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hamux"));
    cmd.arg("bench").args(args).args(["--seconds", "0.3", "--window", "16", "--json"]);
    let run = run_with_limit(&mut cmd, Duration::from_secs(180), "hamux bench");
    assert!(
        run.status.is_some_and(|s| s.success()),
        "hamux bench {args:?} failed\n--- stdout\n{}--- stderr\n{}",
        run.stdout,
        run.stderr
    );
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.stdout))
}

fn num(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no number '{key}' in {v}"))
}

#[test]
fn peers_spread_and_fan_out() {
    let report = bench(&["--peers", "1,3", "--fan-out", "2"]);
    let rows = report["peers"].as_array().expect("a peers list");
    let shape: Vec<(u64, u64)> = rows.iter().map(|r| (num(r, "peers"), num(r, "fan-out"))).collect();
    // One peer: the spread row only (a fan-out to one peer is the same load).
    assert_eq!(shape, [(1, 1), (3, 1), (3, 2)]);
    for row in rows {
        assert_eq!(num(row, "errors"), 0, "{row}");
        let (updates, delivered) = (num(row, "updates"), num(row, "delivered"));
        assert!(updates > 0, "{row}");
        // Every finished update delivered fan-out copies; copies of updates still in
        // flight when the run stopped were delivered too (at most one window's worth).
        let k = num(row, "fan-out");
        assert!(delivered >= updates * k, "{row}");
        assert!(delivered <= updates * k + num(row, "in-flight"), "{row}");
        assert!(num(row, "client-rss-bytes") > 0 && num(row, "peers-rss-bytes") > 0, "{row}");
    }
}

#[test]
fn idle_connections_beside_an_active_load() {
    let report = bench(&["--idle-connections", "200"]);
    let rows = report["connections"].as_array().expect("a connections list");
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(num(row, "idle-connections"), 200);
    for run in ["without-idle", "with-idle"] {
        assert_eq!(num(&row[run], "errors"), 0, "{row}");
        assert!(num(&row[run], "completed") > 0, "{row}");
    }
    // 200 connections cost each process some memory, and well under a megabyte each.
    for side in ["client-bytes-per-idle-connection", "listener-bytes-per-idle-connection"] {
        let per = row[side].as_f64().unwrap_or_else(|| panic!("no '{side}' in {row}"));
        assert!(per > 0.0 && per < 1024.0 * 1024.0, "{side}: {per}");
    }
}
