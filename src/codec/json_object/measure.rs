//! What the one pass saves over the serde_json passes it replaced, on `hamux bench`'s
//! 350-byte `lease4-update`. Not a pass/fail test (timings are noise on a shared machine):
//! it prints, when asked for, and is meant to be read in release, ideally by instruction
//! counts:
//!
//! ```sh
//! cargo test --release --lib measure_against_serde -- --ignored --nocapture
//! # instructions per call: the four `#[inline(never)]` functions below, inclusive
//! HAMUX_MEASURE_ROUNDS=1 valgrind --tool=callgrind --callgrind-out-file=cg.out \
//!   target/release/deps/hamux-<hash> measure_against_serde --ignored --exact --test-threads=1
//! callgrind_annotate --inclusive=yes cg.out | grep json_object::measure
//! ```

use super::differential::{lease4_update, old_check, old_is_json_object};
use super::*;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Calls per round of each check.
const CALLS: usize = 10_000;

#[inline(never)]
fn old_client(body: &[u8]) -> bool {
    old_is_json_object(body)
}

#[inline(never)]
fn new_client(body: &[u8]) -> bool {
    check_is_object(body).is_ok()
}

/// The listener's old `CheckedBody::check`, copy included.
#[inline(never)]
fn old_listener(body: &[u8]) -> (Vec<u8>, Option<String>) {
    let command = old_check(body).flatten();
    (body.to_vec(), command)
}

/// The new `CheckedBody::check` and `command()`, copy included.
#[inline(never)]
fn new_listener(body: &[u8]) -> (Vec<u8>, usize) {
    let command = check_object(body).ok().flatten();
    let bytes = body.to_vec();
    let len = command.and_then(|c| c.as_str(&bytes).map(str::len)).unwrap_or(0);
    (bytes, len)
}

fn time<T>(f: impl Fn(&[u8]) -> T, body: &[u8]) -> Duration {
    let start = Instant::now();
    for _ in 0..CALLS {
        black_box(f(black_box(body)));
    }
    start.elapsed()
}

/// The same lease as Kea's own HA hook writes it (`Element::str()`: keys sorted, a space
/// after each `:` and `,`, inside brackets), which is what a Kea peer sends.
fn lease4_update_kea_style() -> Vec<u8> {
    concat!(
        r#"{ "arguments": { "client-id": "01:02:00:00:00:00:01", "expire": 1764000000, "#,
        r#""force-create": true, "fqdn-fwd": false, "fqdn-rev": false, "hostname": "#,
        r#""client-000001.example.org", "hw-address": "02:00:00:00:00:01", "#,
        r#""ip-address": "192.0.2.1", "origin": "ha-partner", "state": 0, "subnet-id": 1, "#,
        r#""valid-lft": 3600 }, "command": "lease4-update", "service": [ "dhcp4" ] }"#
    )
    .as_bytes()
    .to_vec()
}

#[test]
#[ignore = "prints figures; run in release: see the module's doc"]
fn measure_against_serde() {
    let body = if std::env::var_os("HAMUX_MEASURE_KEA_STYLE").is_some() {
        lease4_update_kea_style()
    } else {
        lease4_update()
    };
    assert!(old_client(&body) && new_client(&body));
    assert_eq!(old_listener(&body).1.as_deref(), Some("lease4-update"));
    assert_eq!(new_listener(&body).1, "lease4-update".len());
    let rounds: u32 = std::env::var("HAMUX_MEASURE_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(50);
    let mut sums = [Duration::ZERO; 4];
    // Alternating, so that whatever else the machine does falls on both alike.
    for _ in 0..rounds {
        sums[0] += time(old_client, &body);
        sums[1] += time(new_client, &body);
        sums[2] += time(old_listener, &body);
        sums[3] += time(new_listener, &body);
    }
    let per_call = |d: Duration| d.as_nanos() as f64 / f64::from(rounds) / CALLS as f64;
    let [oc, nc, ol, nl] = sums.map(per_call);
    println!("{}-byte lease4-update, {rounds} rounds of {CALLS} calls each, ns per call:", body.len());
    println!("  client:   serde IgnoredAny {oc:7.1}  check_is_object {nc:7.1}  ({:.1}x)", oc / nc);
    println!(
        "  listener: serde Visitor    {ol:7.1}  check_object    {nl:7.1}  ({:.1}x, copy included)",
        ol / nl
    );
}
