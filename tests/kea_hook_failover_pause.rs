//! Pausing the HA state machine (libdhcp_ha 2.2's `state-machine` configuration and
//! `ha-continue`) with hamux's Kea hook in real kea-dhcp4 2.2 servers: a hot-standby
//! primary and standby with the short HA timers of `kea_hook_failover.rs` (a heartbeat
//! every 500 ms, communication interrupted after 2 s), the primary configured to pause in
//! `waiting` once and in `ready` always:
//!
//! - the primary (started first) pauses in `waiting` at start-up (its log says so, `ha-heartbeat` says
//!   `waiting`) and stays there for 4 s (8 heartbeat-delays, twice `max-response-delay`),
//!   serving nothing, while the standby stays in `waiting` too (a standby waits for its
//!   primary there): both still exchange heartbeats (each one's `status-get` shows the
//!   other in touch, in `waiting`, communication not interrupted), so the standby does
//!   not take over; `status-get` has no key saying "paused" (libdhcp_ha 2.2's has none);
//! - `ha-continue` answers "HA state machine continues." and logs that the machine is
//!   un-paused; the primary syncs and pauses in `ready`, where the standby, having synced
//!   in turn, joins it; both stay so for 4 s;
//! - `ha-continue` again: both reach `hot-standby`; once more: "HA state machine is not
//!   paused.";
//! - `ha-reset` on the primary: it goes through `waiting` without pausing (`once`) and
//!   pauses in `ready` again (`always`) while the standby stays in `hot-standby`;
//!   `ha-continue` brings it back to `hot-standby`, where it serves;
//! - the `state-machine` configurations libdhcp_ha refuses (not a map, `states` not a
//!   list, an entry not a map, without `state`, an unknown state, an unknown `pause`, a
//!   state twice) are refused with its words; and, the hook's own, any pause in
//!   passive-backup (the hook has no state machine there).
//!
//! Refusals are checked by starting kea-dhcp4 (as in the other Kea hook tests), not with
//! `kea-dhcp4 -t`: Kea 2.2's configuration check only opens the hook libraries and checks
//! their version (`LibraryManager::validateLibrary`), so it never calls their `load`.
//!
//! `HAMUX_KEA_HOOK_STANDIN=1` runs them with Kea's `libdhcp_ha.so` in the hook's place
//! (over `http://`; the hamux-only checks left out), to check the tests against Kea
//! itself. Needs Kea, kea-dev and root (for 127.0.0.2 on lo); run with `--test-threads=1`.

mod support;

use serde_json::{json, Value};
use std::thread::sleep;
use std::time::{Duration, Instant};
use support::failover::{
    self, can_run, check_each_refused, check_running, check_served, check_unanswered, failover_settings,
    ha_status, load, scopes, state, wait_for_hot_standby, wait_for_state, PRIMARY, STANDBY, STATE_TIMEOUT,
};
use support::kea_hook::{
    free_ports, hamux_under_test, hook_under_test, hook_url, ready, Family, PerfdhcpTurn, Server,
};

const V4: Family = Family::V4;

/// How long a paused primary (and its partner) must stay in their states: 8
/// heartbeat-delays, twice `max-response-delay` ([`failover::timers`]).
const HOLD: Duration = Duration::from_secs(4);

/// `ha-continue`'s answers (libdhcp_ha's processContinue).
const CONTINUES: &str = "HA state machine continues.";
const NOT_PAUSED: &str = "HA state machine is not paused.";

/// The primary and the standby (name, url, role).
fn peers(primary_port: u16, standby_port: u16) -> Vec<(&'static str, String, &'static str)> {
    vec![(PRIMARY, hook_url(primary_port), "primary"), (STANDBY, hook_url(standby_port), "standby")]
}

/// The primary's `state-machine`: pause in `waiting` once, in `ready` always.
fn pausing() -> Value {
    json!({"states": [{"state": "waiting", "pause": "once"}, {"state": "ready", "pause": "always"}]})
}

/// A kea-dhcp4 configuration for `this` among `peers` in `mode` with the hook under test
/// and [`failover_settings`] (but in passive-backup), and `state_machine` if given;
/// serving DHCP on loopback if `dhcp`.
fn config(
    this: &str,
    mode: &str,
    peers: &[(&str, String, &str)],
    state_machine: Option<Value>,
    dhcp: bool,
) -> Value {
    let mut settings = if mode == "passive-backup" { json!({}) } else { failover_settings() };
    if let Some(state_machine) = state_machine {
        settings["state-machine"] = state_machine;
    }
    failover::config(V4, hook_under_test(), this, mode, peers, settings, dhcp)
}

/// The HA entry (the one relationship) of a configuration from [`config`].
fn ha_of(config: &mut Value) -> &mut Value {
    &mut config[V4.key()]["hooks-libraries"][1]["parameters"]["high-availability"][0]
}

/// `ha-heartbeat` on `server`'s control channel; must be result 0.
fn heartbeat(server: &Server, what: &str) -> Value {
    let answer = server.command("ha-heartbeat", None);
    assert_eq!(answer["result"], 0, "{what}: ha-heartbeat: {answer}\n{}", server.log());
    answer
}

// ---------------------------------------------------------------- the log

/// The lines of `log` saying the state machine paused in `state` (upper case, as both
/// libraries log it): libdhcp_ha's `HA_STATE_MACHINE_PAUSED state machine paused in state
/// WAITING`, the hook's `HAMUX_STATE_MACHINE_PAUSED <server>: ` with the same words.
fn paused_in(log: &str, state: &str) -> usize {
    let words = format!("state machine paused in state {state}");
    log.lines().filter(|l| l.contains("_STATE_MACHINE_PAUSED ") && l.trim_end().ends_with(&words)).count()
}

/// The lines of `log` saying `ha-continue` un-paused the state machine
/// (`HA_STATE_MACHINE_CONTINUED`, `HAMUX_STATE_MACHINE_CONTINUED`).
fn continued(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("_STATE_MACHINE_CONTINUED ") && l.contains("state machine is un-paused"))
        .count()
}

/// Waits (up to [`STATE_TIMEOUT`]) until `count` of `server`'s log reaches `n`.
fn wait_for_log(
    server: &Server,
    what: &str,
    count: &dyn Fn(&str) -> usize,
    n: usize,
    logs: &dyn Fn() -> String,
) {
    let deadline = Instant::now() + STATE_TIMEOUT;
    while count(&server.log()) < n {
        assert!(Instant::now() < deadline, "{what}: not logged {n} times within {STATE_TIMEOUT:?}{}", logs());
        sleep(Duration::from_millis(100));
    }
    assert_eq!(count(&server.log()), n, "{what}: logged more than {n} times{}", logs());
}

// ---------------------------------------------------------------- checks

/// Polls `ha-heartbeat` on the primary and the standby every 100 ms for [`HOLD`]: the
/// primary must stay in `primary_state`, the standby in `standby_state`.
fn check_held(
    primary: &Server,
    primary_state: &str,
    standby: &Server,
    standby_state: &str,
    logs: &dyn Fn() -> String,
) {
    let start = Instant::now();
    while start.elapsed() < HOLD {
        for (name, server, want) in [("primary", primary, primary_state), ("standby", standby, standby_state)]
        {
            let answer = heartbeat(server, name);
            assert_eq!(
                state(&answer),
                want,
                "the {name} left {want} after {:?} (the primary paused): {answer}{}",
                start.elapsed(),
                logs()
            );
        }
        sleep(Duration::from_millis(100));
    }
    println!("the primary held in {primary_state}, the standby in {standby_state}, for {HOLD:?}");
}

/// Checks `server`'s `status-get` entry: its partner in touch and in `partner_state`, the
/// last heartbeat answer at most a second old, communication not interrupted (so its
/// heartbeats go and are answered); no key saying it is paused (libdhcp_ha 2.2 reports
/// none).
fn check_in_touch(server: &Server, what: &str, partner_state: &str) {
    let entry = ha_status(server, what);
    let local = &entry["ha-servers"]["local"];
    let remote = &entry["ha-servers"]["remote"];
    let mut keys: Vec<&String> = local.as_object().map(|m| m.keys().collect()).unwrap_or_default();
    keys.sort();
    assert_eq!(keys, ["role", "scopes", "state"], "{what}: status-get local: {entry}");
    assert!(
        remote["in-touch"] == true
            && remote["last-state"] == partner_state
            && remote["communication-interrupted"] == false
            && remote["age"].as_i64().is_some_and(|age| age <= 1),
        "{what}: status-get must show the partner in touch, in {partner_state}: {entry}\n{}",
        server.log()
    );
}

/// `ha-continue` on `server`: result 0 and `text`.
fn check_continue(server: &Server, text: &str, what: &str, logs: &dyn Fn() -> String) {
    let answer = server.command("ha-continue", None);
    assert!(
        answer["result"] == 0 && answer["text"] == text,
        "{what}: ha-continue: want {text:?}, got {answer}{}",
        logs()
    );
}

/// The hook's own `hamux-status` says whether its state machine is paused.
fn check_hamux_paused(server: &Server, paused: bool, what: &str) {
    let status = server.command("hamux-status", None);
    let entry = &status["arguments"]["high-availability"][0];
    assert_eq!(entry["paused"], paused, "{what}: hamux-status: {status}");
}

// ---------------------------------------------------------------- tests

/// A primary pausing in `waiting` once and in `ready` always beside its standby (see the
/// module documentation).
#[test]
fn v4_primary_pauses_in_waiting_once_and_in_ready_always() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run(V4, &[hook_under_test()]) {
        return;
    }
    let began = Instant::now();
    let [primary_port, standby_port, primary_dhcp] = free_ports();
    let peers = peers(primary_port, standby_port);
    // The primary first: paused, it waits for its partner; a standby started first could
    // count it as down before it listens and take over (partner-down, where a primary
    // in waiting leaves it).
    let primary_config = config(PRIMARY, "hot-standby", &peers, Some(pausing()), true);
    let primary = Server::start(V4, primary_config, &peers[0].1, Some(primary_dhcp));
    let standby = Server::start(V4, config(STANDBY, "hot-standby", &peers, None, false), &peers[1].1, None);
    let logs = || format!("\n--- primary\n{}\n--- standby\n{}", primary.log(), standby.log());
    let waiting = |log: &str| paused_in(log, "WAITING");
    let ready = |log: &str| paused_in(log, "READY");

    // Paused in waiting at start-up: both wait, heartbeats go both ways, nothing served.
    wait_for_log(&primary, "the primary paused in WAITING", &waiting, 1, &logs);
    check_held(&primary, "waiting", &standby, "waiting", &logs);
    check_in_touch(&primary, "the primary paused in waiting", "waiting");
    check_in_touch(&standby, "the standby beside its paused primary", "waiting");
    let answer = heartbeat(&primary, "primary");
    assert_eq!(scopes(&answer), &json!([]), "the primary paused in waiting serves no scope: {answer}");
    if hamux_under_test() {
        check_hamux_paused(&primary, true, "the primary paused in waiting");
    }
    let report = load(V4, primary_dhcp, 2, 30);
    check_running(&primary, "primary paused in waiting");
    check_unanswered(&report, "the primary paused in waiting", &logs);

    // ha-continue: on through syncing to ready, paused there; the standby follows to
    // ready and waits for its primary.
    check_continue(&primary, CONTINUES, "the primary paused in waiting", &logs);
    wait_for_log(&primary, "the primary un-paused", &continued, 1, &logs);
    wait_for_log(&primary, "the primary paused in READY", &ready, 1, &logs);
    wait_for_state(&[("primary", &primary), ("standby", &standby)], "ready", heartbeat);
    check_held(&primary, "ready", &standby, "ready", &logs);
    check_in_touch(&primary, "the primary paused in ready", "ready");
    check_in_touch(&standby, "the standby beside its primary paused in ready", "ready");
    if hamux_under_test() {
        check_hamux_paused(&primary, true, "the primary paused in ready");
    }

    // ha-continue: both in hot-standby; then nothing is paused.
    check_continue(&primary, CONTINUES, "the primary paused in ready", &logs);
    wait_for_hot_standby(("primary", &primary), ("standby", &standby), heartbeat);
    wait_for_log(&primary, "the primary un-paused", &continued, 2, &logs);
    check_continue(&primary, NOT_PAUSED, "the primary in hot-standby", &logs);
    if hamux_under_test() {
        check_hamux_paused(&primary, false, "the primary in hot-standby");
    }

    // ha-reset: through waiting (paused there once only) to ready, paused again (always);
    // the standby stays in hot-standby.
    let answer = primary.command("ha-reset", None);
    assert!(
        answer["result"] == 0 && answer["text"] == "HA state machine reset.",
        "ha-reset on the primary: {answer}{}",
        logs()
    );
    wait_for_log(&primary, "the primary paused in READY", &ready, 2, &logs);
    assert_eq!(waiting(&primary.log()), 1, "\"once\": the primary must not pause in WAITING again{}", logs());
    check_held(&primary, "ready", &standby, "hot-standby", &logs);
    check_continue(&primary, CONTINUES, "the primary paused in ready again", &logs);
    wait_for_hot_standby(("primary", &primary), ("standby", &standby), heartbeat);
    let report = load(V4, primary_dhcp, 2, 31);
    check_served(&report, V4, "primary back in hot-standby", &primary);
    check_continue(&primary, NOT_PAUSED, "the primary back in hot-standby", &logs);
    assert_eq!(continued(&primary.log()), 3, "three ha-continue un-paused the primary{}", logs());
    println!(
        "paused in waiting once, in ready twice; the primary answered {} after; {:?} in all",
        report.lease_acks(V4),
        began.elapsed()
    );
}

// ---------------------------------------------------------------- configuration errors

/// The `state-machine` configurations of a hot-standby primary that Kea's HA refuses,
/// each with its words; with the hook, also a pause in passive-backup. Every one must be
/// refused at startup with an ERROR line saying them; all are tried.
#[test]
fn refuses_bad_state_machine_configurations() {
    if !ready(V4, &[hook_under_test()]) {
        return;
    }
    let [primary_port, standby_port] = free_ports();
    let peers = peers(primary_port, standby_port);
    let states = |states: Value| json!({"states": states});
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        ("state-machine not a map", json!([]), vec!["'state-machine' parameter must be a map"]),
        ("states not a list", json!({"states": {}}), vec!["'states' parameter must be a list"]),
        ("a state not a map", states(json!(["waiting"])), vec!["state configuration must be a map"]),
        ("no state", states(json!([{"pause": "always"}])), vec!["missing parameter 'state'"]),
        (
            "an unknown state",
            states(json!([{"state": "sleeping", "pause": "once"}])),
            vec!["unknown state sleeping"],
        ),
        (
            "an unknown pause",
            states(json!([{"state": "waiting", "pause": "sometimes"}])),
            vec!["unsupported value sometimes of 'pause' parameter"],
        ),
        (
            "a state twice",
            states(json!([{"state": "ready", "pause": "once"}, {"state": "ready", "pause": "never"}])),
            vec!["duplicated configuration for the 'ready' state"],
        ),
    ];
    let mut configs: Vec<(&str, Value, Vec<&str>)> = cases
        .into_iter()
        .map(|(name, state_machine, says)| {
            let mut config = config(PRIMARY, "hot-standby", &peers, None, false);
            ha_of(&mut config)["state-machine"] = state_machine;
            (name, config, says)
        })
        .collect();
    if hamux_under_test() {
        let backup = [peers[0].clone(), (STANDBY, peers[1].1.clone(), "backup")];
        let pause = states(json!([{"state": "passive-backup", "pause": "always"}]));
        configs.push((
            "a pause in passive-backup",
            config(PRIMARY, "passive-backup", &backup, Some(pause), false),
            vec!["no HA state machine to pause in passive-backup mode"],
        ));
    }
    check_each_refused(&configs);
}
