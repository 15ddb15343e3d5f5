//! The built `libdhcp_hamux.so` as a Kea operator installs it: loadable by path with
//! nothing on the loader's path (libhamux linked in), and exporting only the hook's
//! entry points, so hamux's Rust and C++ internals cannot clash with another library
//! Kea loads.

mod support;

use std::collections::BTreeSet;
use std::process::Command;
use support::kea_hook::{self, Family, Replicator};

fn output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} (binutils) cannot run: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn exports_only_the_hook_entry_points() {
    if !kea_hook::ready(Family::V4, &[Replicator::Hamux]) {
        return;
    }
    let library = kea_hook::hook_library().to_str().unwrap();
    let symbols = output("nm", &["-D", "--defined-only", library]);
    let exported: BTreeSet<&str> = symbols.lines().filter_map(|l| l.split_whitespace().nth(2)).collect();
    let expected: BTreeSet<&str> = [
        "version",
        "load",
        "unload",
        "multi_threading_compatible",
        "dhcp4_srv_configured",
        "dhcp6_srv_configured",
        "buffer4_receive",
        "buffer6_receive",
        "command_processed",
        "leases4_committed",
        "leases6_committed",
    ]
    .into();
    assert_eq!(exported, expected, "nm -D --defined-only {library}:\n{symbols}");
}

#[test]
fn needs_no_libhamux_on_the_loader_path() {
    if !kea_hook::ready(Family::V4, &[Replicator::Hamux]) {
        return;
    }
    let library = kea_hook::hook_library().to_str().unwrap();
    let dynamic = output("readelf", &["-d", library]);
    let needed: Vec<&str> = dynamic.lines().filter(|l| l.contains("(NEEDED)")).collect();
    assert!(needed.iter().all(|l| !l.contains("libhamux")), "{needed:#?}");
    // Kea's own libraries, by their versioned names: the hook is built for Kea 2.2.
    assert!(needed.iter().any(|l| l.contains("libkea-hooks.so.")), "{needed:#?}");
}
