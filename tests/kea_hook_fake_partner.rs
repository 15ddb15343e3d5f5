//! A kea-dhcp4 primary with the hook in hot-standby whose partner is a hamux listener of
//! the test's own, answering as a standby in hot-standby would (`ha-heartbeat`, an empty
//! lease sync, lease updates), but with a flaw chosen by each test:
//!
//! - its clock 40 s off (over libdhcp_ha's 30 s warning, under its 60 s limit): the
//!   primary warns (`HAMUX_HIGH_CLOCK_SKEW`) and goes on to hot-standby, serving its scope;
//! - 90 s off, ahead or behind: the primary goes to `terminated`
//!   (`HAMUX_HIGH_CLOCK_SKEW_TERMINATION`), where it stops its heartbeats and serves its
//!   own scope, as libdhcp_ha does;
//! - 1 % of the lease updates answered only after 5 s, on the one connection the primary
//!   has to it (`connections-per-peer` 1), which also carries the heartbeats: over
//!   hamux:// replies come in any order, so the heartbeats keep being answered every
//!   `heartbeat-delay`, no gap reaching `max-response-delay` (2 s), and the primary never
//!   leaves hot-standby. Behind Kea's in-order HTTP a heartbeat would wait the 5 s of the
//!   update before it, and the primary would go partner-down.
//!
//! Needs Kea and kea-dev; run with `--test-threads=1`.

mod support;

use hamux::listener::{Listener, Request};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use support::failover::{self, failover_settings, wait_for_state, Heartbeat, PRIMARY, STANDBY};
use support::kea::http_date;
use support::kea_hook::{
    free_ports, hook_under_test, hook_url, ready, relay_address_ready, Family, PerfdhcpTurn, Replicator,
    Server,
};

/// How the fake standby misbehaves.
#[derive(Clone, Copy, Default)]
struct Flaw {
    /// Seconds its clock is ahead of ours (behind if negative).
    skew_s: i64,
    /// Every n-th lease update is answered only after [`SLOW_UPDATE`] (0: none).
    slow_every: u64,
}

/// How long a slow update takes: longer than `max-response-delay`.
const SLOW_UPDATE: Duration = Duration::from_secs(5);

/// What the fake standby saw: when each heartbeat came, how many lease updates.
#[derive(Default)]
struct Seen {
    heartbeats: Mutex<Vec<Instant>>,
    updates: AtomicU64,
}

/// A standby in hot-standby with `flaw`, recording what it saw in `seen`.
fn fake_standby(flaw: Flaw, seen: Arc<Seen>) -> Listener {
    let handler = Arc::new(move |req: Request| {
        let command: Value = serde_json::from_slice(req.body()).unwrap_or(Value::Null);
        let answer = match command["command"].as_str().unwrap_or("") {
            "ha-heartbeat" => {
                seen.heartbeats.lock().unwrap().push(Instant::now());
                let now = SystemTime::now();
                let skew = Duration::from_secs(flaw.skew_s.unsigned_abs());
                let at = if flaw.skew_s >= 0 { now + skew } else { now - skew };
                json!([{"result": 0, "text": "HA peer status returned.", "arguments": {
                    "state": "hot-standby", "date-time": http_date(at), "scopes": [],
                    "unsent-update-count": 0}}])
            }
            "lease4-update" | "lease4-del" => {
                let n = seen.updates.fetch_add(1, Ordering::Relaxed) + 1;
                let answer = json!([{"result": 0, "text": "IPv4 lease updated."}]).to_string();
                if flaw.slow_every > 0 && n % flaw.slow_every == 0 {
                    // Answered later, from another thread: the listener goes on meanwhile.
                    std::thread::spawn(move || {
                        std::thread::sleep(SLOW_UPDATE);
                        let _ = req.respond(answer.as_bytes());
                    });
                    return;
                }
                let _ = req.respond(answer.as_bytes());
                return;
            }
            "lease4-get-page" => {
                json!([{"result": 3, "text": "0 IPv4 lease(s) found.", "arguments": {"leases": [], "count": 0}}])
            }
            "dhcp-disable" | "dhcp-enable" | "ha-sync-complete-notify" => {
                json!([{"result": 0, "text": "done"}])
            }
            other => json!([{"result": 2, "text": format!("'{other}' command not supported.")}]),
        };
        let _ = req.respond(answer.to_string().as_bytes());
    });
    Listener::new(r#"{"address": "127.0.0.1", "port": 0}"#, handler).unwrap()
}

/// The primary with the hook (serving DHCP on `dhcp_port` if given), its partner a fake
/// standby with `flaw`, over one connection; returns both and what the standby saw.
fn primary_beside(flaw: Flaw, dhcp_port: Option<u16>) -> Option<(Server, Listener, Arc<Seen>)> {
    if hook_under_test() != Replicator::Hamux || !ready(Family::V4, &[Replicator::Hamux]) {
        return None;
    }
    if dhcp_port.is_some() && !relay_address_ready() {
        return None;
    }
    let seen = Arc::new(Seen::default());
    let partner = fake_standby(flaw, seen.clone());
    let [primary_port] = free_ports();
    let peers = [
        (PRIMARY, hook_url(primary_port), "primary"),
        (STANDBY, hook_url(partner.local_addr().port()), "standby"),
    ];
    let mut config = failover::config(
        Family::V4,
        Replicator::Hamux,
        PRIMARY,
        "hot-standby",
        &peers,
        failover_settings(),
        dhcp_port.is_some(),
    );
    config["Dhcp4"]["hooks-libraries"][1]["parameters"]["high-availability"][0]["hamux"]
        ["connections-per-peer"] = json!(1);
    let server = Server::start(Family::V4, config, &peers[0].1, dhcp_port);
    Some((server, partner, seen))
}

const HEARTBEAT: Heartbeat = |server, _| server.command("ha-heartbeat", None);

#[test]
fn a_clock_40_s_off_is_warned_about_and_tolerated() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    let Some((primary, _partner, _)) = primary_beside(Flaw { skew_s: 40, ..Flaw::default() }, None) else {
        return;
    };
    let answers = wait_for_state(&[(PRIMARY, &primary)], "hot-standby", HEARTBEAT);
    assert_eq!(failover::scopes(&answers[0]), &json!([PRIMARY]), "{}", answers[0]);
    let log = primary.log();
    assert!(log.contains("HAMUX_HIGH_CLOCK_SKEW "), "no clock-skew warning:\n{log}");
    assert!(!log.contains("HAMUX_HIGH_CLOCK_SKEW_TERMINATION"), "terminated at 40 s:\n{log}");
}

#[test]
fn a_clock_90_s_ahead_terminates() {
    terminates_at(90);
}

#[test]
fn a_clock_90_s_behind_terminates() {
    terminates_at(-90);
}

fn terminates_at(skew_s: i64) {
    let _one_at_a_time = PerfdhcpTurn::wait();
    let Some((primary, _partner, seen)) = primary_beside(Flaw { skew_s, ..Flaw::default() }, None) else {
        return;
    };
    let answers = wait_for_state(&[(PRIMARY, &primary)], "terminated", HEARTBEAT);
    // libdhcp_ha's terminated state serves the default scopes: the primary its own.
    assert_eq!(failover::scopes(&answers[0]), &json!([PRIMARY]), "{}", answers[0]);
    let log = primary.log();
    assert!(log.contains("HAMUX_HIGH_CLOCK_SKEW_TERMINATION"), "no termination logged:\n{log}");
    assert!(log.contains("HAMUX_TERMINATED "), "no HAMUX_TERMINATED:\n{log}");
    // No more heartbeats once terminated.
    let then = seen.heartbeats.lock().unwrap().len();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(seen.heartbeats.lock().unwrap().len(), then, "heartbeats go on in terminated:\n{log}");
    assert_eq!(failover::state(&primary.command("ha-heartbeat", None)), "terminated");
}

#[test]
fn slow_lease_updates_do_not_delay_heartbeats_on_their_connection() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    let [dhcp_port] = free_ports();
    let flaw = Flaw { slow_every: 100, ..Flaw::default() };
    let Some((primary, _partner, seen)) = primary_beside(flaw, Some(dhcp_port)) else { return };
    wait_for_state(&[(PRIMARY, &primary)], "hot-standby", HEARTBEAT);
    let start = Instant::now();
    let report = failover::load(Family::V4, dhcp_port, 4, 0x51);
    // The last slow update is answered SLOW_UPDATE after it was sent.
    std::thread::sleep(SLOW_UPDATE + Duration::from_secs(1));
    let updates = seen.updates.load(Ordering::Relaxed);
    assert!(updates >= 200, "too few lease updates to have slow ones ({updates}):\n{}", report.text);
    let beats: Vec<Instant> =
        seen.heartbeats.lock().unwrap().iter().copied().filter(|t| *t >= start).collect();
    let gaps: Vec<Duration> = beats.windows(2).map(|w| w[1] - w[0]).collect();
    let longest = gaps.iter().max().copied().unwrap_or_default();
    println!(
        "{updates} lease updates ({} answered after {SLOW_UPDATE:?}), {} heartbeats meanwhile, longest gap {longest:?}",
        updates / flaw.slow_every,
        beats.len()
    );
    // Not a timing bound: a heartbeat that waited behind a slow update would leave a gap
    // over SLOW_UPDATE and, past max-response-delay (2 s), partner-down.
    assert!(longest < Duration::from_secs(2), "heartbeats waited behind updates: gaps {gaps:?}");
    let log = primary.log();
    assert!(!log.contains("PARTNER-DOWN"), "the primary went partner-down:\n{log}");
    assert_eq!(failover::state(&primary.command("ha-heartbeat", None)), "hot-standby", "{log}");
    assert!(report.lease_acks(Family::V4) > 0, "the primary answered no lease:\n{}", report.text);
}
