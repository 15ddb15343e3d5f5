//! `hamux bench --scenario peers` and `--scenario connections` in short runs: every row
//! is there, delivered updates without an error, fan-out delivers K copies per update,
//! and the idle connections were all opened and cost each process some memory. No
//! timing is asserted: the machine is shared.

use serde_json::Value;

mod support;
use support::count;

/// A short scale run: `args` plus 0.3 s and a window of 16.
fn bench(args: &[&str]) -> Value {
    let args: Vec<&str> = args.iter().copied().chain(["--seconds", "0.3", "--window", "16"]).collect();
    support::bench(&args)
}

#[test]
fn peers_spread_and_fan_out() {
    let report = bench(&["--peers", "1,3", "--fan-out", "2"]);
    let rows = report["peers"].as_array().expect("a peers list");
    let shape: Vec<(u64, u64)> = rows.iter().map(|r| (count(r, "peers"), count(r, "fan-out"))).collect();
    // One peer: the spread row only (a fan-out to one peer is the same load).
    assert_eq!(shape, [(1, 1), (3, 1), (3, 2)]);
    for row in rows {
        assert_eq!(count(row, "errors"), 0, "{row}");
        let (updates, delivered) = (count(row, "updates"), count(row, "delivered"));
        assert!(updates > 0, "{row}");
        // Every finished update delivered fan-out copies; copies of updates still in
        // flight when the run stopped were delivered too (at most one window's worth).
        let k = count(row, "fan-out");
        assert!(delivered >= updates * k, "{row}");
        assert!(delivered <= updates * k + count(row, "in-flight"), "{row}");
        assert!(count(row, "client-rss-bytes") > 0 && count(row, "peers-rss-bytes") > 0, "{row}");
    }
}

#[test]
fn idle_connections_beside_an_active_load() {
    let report = bench(&["--idle-connections", "200"]);
    let rows = report["connections"].as_array().expect("a connections list");
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(count(row, "idle-connections"), 200);
    for run in ["without-idle", "with-idle"] {
        assert_eq!(count(&row[run], "errors"), 0, "{row}");
        assert!(count(&row[run], "completed") > 0, "{row}");
    }
    // 200 connections cost each process some memory, and well under a megabyte each.
    for side in ["client-bytes-per-idle-connection", "listener-bytes-per-idle-connection"] {
        let per = row[side].as_f64().unwrap_or_else(|| panic!("no '{side}' in {row}"));
        assert!(per > 0.0 && per < 1024.0 * 1024.0, "{side}: {per}");
    }
}
