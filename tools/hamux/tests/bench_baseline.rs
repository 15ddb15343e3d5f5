//! `hamux bench` with its run-to-completion loop (`baseline`) and the `pipelined-loaded`
//! scenario, in short runs: the loop's rows are there and did the same work without an
//! error, the lease counts fit the requests sent, and the competing busy processes are
//! stopped when the scenario ends, and die with the bench if it is killed. No timing is
//! asserted: the machine is shared.

use serde_json::Value;
use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;
use support::{bench, count};

/// The pool of leases `hamux bench` picks from by default.
const POOL: u64 = 100_000;

/// The scenario rows, in order.
fn scenarios(report: &Value) -> Vec<&Value> {
    report["scenarios"].as_array().expect("a scenarios list").iter().collect()
}

/// A run with no error, some round trips, and the keys the peer comparison reads.
fn assert_ran(row: &Value) {
    assert!(count(row, "completed") > 0, "nothing completed: {row}");
    assert_eq!(count(row, "errors"), 0, "{row}");
    for key in ["name", "connections", "window", "round-trips-per-second", "cpu-us-per-round-trip"] {
        assert!(!row[key].is_null(), "no '{key}' in {row}");
    }
    assert!(row["latency-us"]["p99"].is_number(), "{row}");
}

/// Leases stored by a server that got `requests` updates (completed rows plus the
/// warm-up's two per connection): at least one, at most one per request and the pool.
fn assert_leases_fit(store: &Value, requests: u64) {
    let leases = count(store, "leases");
    assert!(leases > 0 && leases <= requests.min(POOL), "{leases} leases from {requests} requests");
    assert_eq!(count(store, "bad-commands"), 0, "{store}");
}

#[test]
fn every_scenario_row_has_its_loop_beside_it() {
    let report = bench(&["--seconds", "0.3", "--scenario", "pipelined,one-at-a-time,http"]);
    let rows = scenarios(&report);
    assert_eq!(
        rows.iter().map(|r| r["name"].as_str().unwrap()).collect::<Vec<_>>(),
        ["pipelined", "one-at-a-time", "http"]
    );
    let (mut hamux_requests, mut loop_requests) = (0, 0);
    for row in &rows {
        assert_ran(row);
        let looped = &row["baseline"];
        assert_ran(looped);
        assert_eq!(looped["name"].as_str(), Some(&*format!("{}/loop", row["name"].as_str().unwrap())));
        assert_eq!((&looped["connections"], &looped["window"]), (&row["connections"], &row["window"]));
        let ratio = row["ratio-to-baseline"].as_f64().expect("a ratio-to-baseline");
        assert!(ratio > 0.0, "{ratio}");
        let warm_up = 2 * count(row, "connections");
        hamux_requests += count(row, "completed") + warm_up;
        loop_requests += count(looped, "completed") + warm_up;
    }
    assert_leases_fit(&report["listener"], hamux_requests);
    assert_leases_fit(&report["baseline"], loop_requests);

    let plain = bench(&["--seconds", "0.2", "--scenario", "one-at-a-time", "--no-baseline"]);
    let row = scenarios(&plain)[0];
    assert_ran(row);
    assert!(row["baseline"].is_null() && plain["baseline"].is_null(), "--no-baseline ran the loop: {plain}");
}

#[test]
fn pipelined_loaded_runs_beside_its_busy_processes_and_kills_them() {
    // One-at-a-time after it keeps the bench running for a while once the load is over:
    // the busy processes must be gone by then, not only when the bench exits (when the
    // kernel would kill them anyway, see the next test).
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hamux"));
    cmd.args(["bench", "--seconds", "0.4", "--scenario", "pipelined-loaded,one-at-a-time"])
        .args(["--busy-processes", "2", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("hamux bench starts");
    let bench_pid = child.id();
    let (mut seen, mut gone_while_running) = (HashSet::new(), false);
    let deadline = Instant::now() + Duration::from_secs(180);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "hamux bench did not finish");
        let alive = busy_loops_of(bench_pid);
        seen.extend(alive.iter().copied());
        gone_while_running |= !seen.is_empty() && alive.is_empty();
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "hamux bench failed\n--- stdout\n{stdout}--- stderr\n{stderr}");
    assert!(busy_loops_of(bench_pid).is_empty(), "busy processes outlived the bench");
    assert!(gone_while_running, "the busy processes ({seen:?}) were not stopped before the bench went on");

    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"));
    let rows = scenarios(&report);
    // No unloaded pipelined run was asked for: the scenario measured its own first.
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["pipelined", "pipelined-loaded", "one-at-a-time"]);
    let loaded = rows[1];
    for row in [loaded, &loaded["baseline"]] {
        assert_ran(row);
        assert_eq!(count(row, "busy-processes"), 2, "{row}");
        assert!(row["ratio-to-unloaded"].as_f64().is_some_and(|x| x > 0.0), "{row}");
        assert!(row["busy-cpus"].is_number(), "{row}");
    }
    let pids: HashSet<u32> = loaded["busy-pids"]
        .as_array()
        .expect("busy-pids")
        .iter()
        .filter_map(|p| p.as_u64())
        .map(|p| p as u32)
        .collect();
    assert_eq!(pids.len(), 2, "{loaded}");
    assert!(pids.is_subset(&seen), "the reported busy pids {pids:?} are not those seen running {seen:?}");
}

#[test]
fn busy_processes_die_with_a_killed_bench() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hamux"));
    cmd.args(["bench", "--seconds", "1", "--scenario", "pipelined-loaded", "--no-baseline"])
        .args(["--busy-processes", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("hamux bench starts");
    let bench_pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(120);
    while busy_loops_of(bench_pid).len() < 2 {
        assert!(child.try_wait().unwrap().is_none(), "hamux bench exited before its load started");
        assert!(Instant::now() < deadline, "no busy processes started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The kernel delivers the death signal at once; give the children a moment to exit.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !busy_loops_of(bench_pid).is_empty() {
        assert!(Instant::now() < deadline, "busy processes outlived a killed bench");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `hamux busy-loop` processes started by the bench with process id `bench_pid`
/// (found by their command line, which names it, as they outlive it if not killed).
fn busy_loops_of(bench_pid: u32) -> Vec<u32> {
    let parent = format!("busy-loop\0--parent\0{bench_pid}\0");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        // A zombie's command line is empty: it is dead already.
        if String::from_utf8_lossy(&cmdline).contains(&parent) {
            found.push(pid);
        }
    }
    found
}
