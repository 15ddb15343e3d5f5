//! `hamux bench --scenario kea-hub` in a short run: one real kea-dhcp4 with the hook as
//! the backup of 1, then 3 primaries, 2 s each (after the 64,000 leases were sent once).
//! Every row is there, updates were acked with no failure, the backup holds exactly the
//! leases each primary sent, and the JSON has its fields. No timing is asserted: the machine is shared.
//!
//! Skips (one `SKIPPED:` line) where kea-dhcp4 or `target/kea/libdhcp_hamux.so` is
//! missing, and fails instead under `HAMUX_REQUIRE_KEA=1`. The bench takes the Kea tests'
//! lock (`hamux-perfdhcp.lock`) itself, so it never runs beside them; the test must not
//! hold it too, or the bench would wait for it for ever.

use std::path::Path;
use testkit::{kea, skip};

mod support;
use support::count;

/// Where the bench looks for the hook first: `target/kea/`, beside the binary's profile
/// directory (`make kea` puts it there).
fn hook_built() -> Result<(), String> {
    let exe = Path::new(env!("CARGO_BIN_EXE_hamux"));
    let near = exe.parent().and_then(Path::parent).map(|t| t.join("kea/libdhcp_hamux.so"));
    let in_tree = testkit::library::manifest_dir().join("target/kea/libdhcp_hamux.so");
    if near.iter().chain([&in_tree]).any(|p| p.exists()) {
        return Ok(());
    }
    Err(format!("{} is missing (make kea; needs kea-dev, libboost-dev)", in_tree.display()))
}

#[test]
fn one_backup_for_one_and_for_three_primaries() {
    if !skip::needs(kea::installed("kea-dhcp4", &["libdhcp_lease_cmds.so"])) || !skip::needs(hook_built()) {
        return;
    }
    let report = support::bench(&["--scenario", "kea-hub", "--primaries", "1,3", "--seconds", "2"]);
    let rows = report["kea-hub"].as_array().unwrap_or_else(|| panic!("no kea-hub list in {report}"));
    let primaries: Vec<u64> = rows.iter().map(|r| count(r, "primaries")).collect();
    assert_eq!(primaries, [1, 3]);
    for row in rows {
        assert!(count(row, "acked") > 0, "{row}");
        assert_eq!((count(row, "errors"), count(row, "failures")), (0, 0), "{row}");
        assert_eq!(row["lease-check"], "passed", "{row}");
        // Each of the 64 chains sent each of its 1,000 leases before the measured run
        // renewed them, and each primary's warm-up 4 more: the backup holds them all.
        let found = count(row, "leases-found");
        assert_eq!(found, count(row, "leases-expected"), "{row}");
        assert_eq!(found, 64_000 + 4 * count(row, "primaries"), "{row}");
        assert!(count(row, "backup-rss-bytes") > 0, "{row}");
        assert_eq!(count(row, "in-flight"), 64, "{row}");
        for key in
            ["updates-per-second", "backup-cpu-us-per-update", "primaries-cpu-us-per-update", "seconds"]
        {
            assert!(row[key].as_f64().is_some_and(|v| v > 0.0), "{key} in {row}");
        }
        assert!(count(&row["update-latency-us"], "p99") >= count(&row["update-latency-us"], "p50"), "{row}");
    }
    let ratio = &report["backup-cpu-ratio"];
    assert_eq!(count(ratio, "primaries"), 3, "{report}");
    assert!(ratio["ratio-to-one"].as_f64().is_some_and(|r| r > 0.0), "{report}");
    assert!(report["kea-version"].as_str().is_some_and(|v| v.starts_with("2.")), "{report}");
}
