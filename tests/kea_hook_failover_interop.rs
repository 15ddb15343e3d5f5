//! hamux's Kea hook (`libdhcp_hamux.so`) in `hot-standby` next to Kea's own `libdhcp_ha.so`
//! 2.2, and the hook's HA commands as libdhcp_ha answers them, in real kea-dhcp4 /
//! kea-dhcp6 2.2 servers with short HA timers (a heartbeat every 500 ms, communication
//! interrupted after 2 s, no traffic analysis) and lease syncs of 7 leases a page:
//!
//! - mixed failover, both ways (Kea's HA primary with the hook as standby, DHCPv4 and
//!   DHCPv6; the hook as primary with Kea's HA as standby, DHCPv4), over `http://`: both
//!   reach `hot-standby` with libdhcp_ha's scopes; the primary serves perfdhcp and its
//!   leases are on the standby, which answers nothing; the primary is SIGKILLed: the
//!   standby reaches `partner-down`, serves the primary's scope and answers perfdhcp; the
//!   primary is restarted (with no leases), syncs the standby's leases (`lease4-get-page`
//!   / `lease6-get-page` pages through the other implementation's listener: it logs
//!   every page, none of more than 7 leases, and `*_SYNC_SUCCESSFUL`) and both return to
//!   `hot-standby` with the same leases; then the primary serves and replicates again;
//! - maintenance between two hooks (`hamux://`): `ha-maintenance-start` on the standby
//!   puts it in `partner-in-maintenance` (serving the primary's scope) and the primary in
//!   `in-maintenance` (serving none), with libdhcp_ha's answer; the standby answers
//!   perfdhcp, the primary nothing, and the standby's leases reach the primary anyway;
//!   `ha-maintenance-cancel` (libdhcp_ha's answer) brings both back to `hot-standby` and
//!   the primary serves again;
//! - `status-get`'s `high-availability` entry has libdhcp_ha's shape: two mixed pairs run
//!   at once (Kea's HA primary + hook standby, hook primary + Kea's HA standby; then the
//!   same in `passive-backup` with a backup), and the hook's entry equals, key for key and
//!   value for value (all but the `age` in seconds, a number in both), the entry of Kea's
//!   HA in the same role, in addition to the literal keys and values checked;
//! - `ha-scopes`, `ha-maintenance-notify`, `ha-maintenance-cancel` and `ha-continue` on a
//!   hook pair: the errors and answers are libdhcp_ha's, checked literally and against a
//!   pair of Kea's HA — except that to an `ha-maintenance-notify` with a missing or
//!   non-boolean `cancel` Kea's HA 2.2 sends no answer at all (its handler throws and sets
//!   no response), where the hook answers result 1 with the same words; `ha-scopes` with
//!   no scope makes the primary stop answering perfdhcp, and with its own scope answer
//!   again.
//!
//! States are read by polling `ha-heartbeat` on the control channel; how long a
//! transition took is printed, not asserted. Needs Kea, kea-dev and root (for 127.0.0.2
//! on lo); run with `--test-threads=1`.

mod support;

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::thread::sleep;
use std::time::{Duration, Instant};
use support::failover::{
    can_run, check_converged, check_running, check_served, check_unanswered, config, failover_settings,
    ha_status, lacking, load, scopes, state, sync_pages, timers, wait_for_hot_standby, wait_for_state,
    PRIMARY, STANDBY, SYNC_PAGE_LIMIT,
};
use support::kea;
use support::kea_hook::{
    first, free_ports, lease_difference, ready, scheme, Family, PerfdhcpTurn, Replicator, Server,
};

const V4: Family = Family::V4;
const BACKUP: &str = "server3";
const HAMUX: Replicator = Replicator::Hamux;
const KEA_HA: Replicator = Replicator::KeaHa;

fn url(scheme: &str, port: u16) -> String {
    format!("{scheme}://127.0.0.1:{port}/")
}

/// A primary and its partner (a standby in hot-standby, a backup in passive-backup) on
/// `ports`, replicating with `replicators`.
fn pair_peers(
    replicators: [Replicator; 2],
    partner: (&'static str, &'static str),
    ports: [u16; 2],
) -> Vec<(&'static str, String, &'static str)> {
    let scheme = scheme(replicators[0], replicators[1], false);
    vec![(PRIMARY, url(scheme, ports[0]), "primary"), (partner.0, url(scheme, ports[1]), partner.1)]
}

/// A hot-standby configuration ([`config`] with [`failover_settings`]).
fn hot_standby(
    family: Family,
    replicator: Replicator,
    this: &str,
    peers: &[(&str, String, &str)],
    dhcp: bool,
) -> Value {
    config(family, replicator, this, "hot-standby", peers, failover_settings(), dhcp)
}

fn label(replicator: Replicator) -> &'static str {
    match replicator {
        Replicator::Hamux => "hook",
        Replicator::KeaHa => "Kea's HA",
    }
}

// ---------------------------------------------------------------- states

/// `ha-heartbeat` on `server`'s control channel; must be result 0 (also every answer the
/// waits for a state poll).
fn heartbeat(server: &Server, what: &str) -> Value {
    let answer = server.command("ha-heartbeat", None);
    assert_eq!(answer["result"], 0, "{what}: ha-heartbeat: {answer}\n{}", server.log());
    answer
}

// ---------------------------------------------------------------- answers

/// Checks that `answer` is `{"result": result, "text": text}` (what else it has aside).
fn check_answer(answer: &Value, result: i64, text: &str, what: &str, log: &dyn Fn() -> String) {
    assert!(
        answer["result"] == result && answer["text"] == text,
        "{what}: want result {result} {text:?}, got {answer}\n{}",
        log()
    );
}

// ---------------------------------------------------------------- mixed failover

#[test]
fn v4_kea_ha_primary_fails_over_to_hook_standby_and_back() {
    mixed_failover(V4, KEA_HA, HAMUX);
}

#[test]
fn v4_hook_primary_fails_over_to_kea_ha_standby_and_back() {
    mixed_failover(V4, HAMUX, KEA_HA);
}

#[test]
fn v6_kea_ha_primary_fails_over_to_hook_standby_and_back() {
    mixed_failover(Family::V6, KEA_HA, HAMUX);
}

/// A primary replicating with `primary_with` and a standby with `standby_with`, over
/// `http://`, in hot-standby under perfdhcp: the standby takes over when the primary is
/// SIGKILLed, the restarted primary syncs from it and both return to hot-standby (see the
/// module documentation).
fn mixed_failover(family: Family, primary_with: Replicator, standby_with: Replicator) {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run(family, &[HAMUX, KEA_HA]) {
        return;
    }
    let began = Instant::now();
    let [primary_port, standby_port, primary_dhcp, standby_dhcp] = free_ports();
    let peers = pair_peers([primary_with, standby_with], (STANDBY, "standby"), [primary_port, standby_port]);
    let primary_name = format!("primary ({})", label(primary_with));
    let standby_name = format!("standby ({})", label(standby_with));
    let (pn, sn) = (primary_name.as_str(), standby_name.as_str());
    let primary_config = hot_standby(family, primary_with, PRIMARY, &peers, true);
    let standby_config = hot_standby(family, standby_with, STANDBY, &peers, true);
    let standby = Server::start(family, standby_config, &peers[1].1, Some(standby_dhcp));
    let primary = Server::start(family, primary_config.clone(), &peers[0].1, Some(primary_dhcp));
    wait_for_hot_standby((pn, &primary), (sn, &standby), heartbeat);
    let up_at = began.elapsed();

    // The primary serves and replicates; the standby answers nothing.
    let report = load(family, primary_dhcp, 3, 1);
    check_served(&report, family, pn, &primary);
    let primary_answered = report.lease_acks(family);
    let logs = || format!("\n--- {pn}\n{}\n--- {sn}\n{}", primary.log(), standby.log());
    let before = check_converged((pn, &primary), (sn, &standby), &logs);
    assert!(!before.is_empty(), "no lease on the {pn}{}", logs());
    let report = load(family, standby_dhcp, 2, 2);
    check_running(&standby, &format!("{sn} in hot-standby"));
    check_unanswered(&report, &format!("the {sn} in hot-standby"), &|| standby.log());
    let now_at_standby = standby.leases();
    assert!(
        now_at_standby == before,
        "the {sn} in hot-standby changed its leases: {}",
        lease_difference(&before, &now_at_standby)
    );
    let mut summary = format!(
        "{family:?} {pn} + {sn}: hot-standby after {up_at:?}; the primary answered {primary_answered}, {} \
         leases on both",
        before.len()
    );

    // The primary dies: the standby takes over its scope and serves.
    let killed_primary_log = primary.kill();
    let killed = Instant::now();
    let answer = wait_for_state(&[(sn, &standby)], "partner-down", heartbeat).remove(0);
    let down_after = killed.elapsed();
    assert_eq!(scopes(&answer), &json!([PRIMARY]), "the {sn} serves the primary's scope: {answer}");
    let report = load(family, standby_dhcp, 3, 3);
    check_served(&report, family, &format!("{sn} in partner-down"), &standby);
    let in_partner_down = standby.leases();
    let lost = lacking(&before, &in_partner_down);
    assert!(lost.is_empty(), "the {sn} lost leases in partner-down: {:?}", first(&lost, 20));
    assert!(
        in_partner_down.len() > before.len(),
        "no new lease in partner-down: {} before, {} now",
        before.len(),
        in_partner_down.len()
    );
    summary += &format!(
        "; partner-down {down_after:?} after the kill, the standby answered {} ({} leases)",
        report.lease_acks(family),
        in_partner_down.len()
    );

    // The primary returns with the same configuration and ports and no leases: it syncs
    // the standby's leases, pages of 7 through the standby's listener.
    let restarted = Instant::now();
    let primary = Server::start(family, primary_config, &peers[0].1, Some(primary_dhcp));
    wait_for_hot_standby((pn, &primary), (sn, &standby), heartbeat);
    let back_after = restarted.elapsed();
    let logs = || {
        format!(
            "\n--- restarted {pn}\n{}\n--- {sn}\n{}\n--- killed {pn}\n{killed_primary_log}",
            primary.log(),
            standby.log()
        )
    };
    let after = check_converged((sn, &standby), (pn, &primary), &logs);
    let unsynced = lacking(&in_partner_down, &after);
    assert!(
        unsynced.is_empty(),
        "leases of the {sn} not on the restarted {pn}: {:?}{}",
        first(&unsynced, 20),
        logs()
    );
    assert!(
        primary.log().contains("_SYNC_SUCCESSFUL"),
        "the restarted {pn} logged no *_SYNC_SUCCESSFUL{}",
        logs()
    );
    let pages = sync_pages(&primary.log());
    let synced: u64 = pages.iter().sum();
    assert!(
        pages.iter().all(|&n| n <= SYNC_PAGE_LIMIT) && synced >= in_partner_down.len() as u64,
        "the restarted {pn} must get the {} leases in pages of at most {SYNC_PAGE_LIMIT}, got pages {pages:?}{}",
        in_partner_down.len(),
        logs()
    );
    summary += &format!(
        "; back in hot-standby {back_after:?} after the restart, {} leases there, {synced} synced in {} pages",
        after.len(),
        pages.len()
    );

    // Back to normal: the primary serves and replicates again.
    let report = load(family, primary_dhcp, 2, 4);
    check_served(&report, family, &format!("restarted {pn}"), &primary);
    check_converged((pn, &primary), (sn, &standby), &logs);
    println!("{summary}; {:?} in all", began.elapsed());
}

// ---------------------------------------------------------------- maintenance

/// Two hooks over `hamux://`: the standby's `ha-maintenance-start` puts the primary in
/// maintenance; the standby serves, still replicating to it; `ha-maintenance-cancel`
/// brings both back (see the module documentation).
#[test]
fn v4_hook_pair_maintenance_start_and_cancel() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run(V4, &[HAMUX, KEA_HA]) {
        return;
    }
    let [primary_port, standby_port, primary_dhcp, standby_dhcp] = free_ports();
    let peers = pair_peers([HAMUX, HAMUX], (STANDBY, "standby"), [primary_port, standby_port]);
    let standby =
        Server::start(V4, hot_standby(V4, HAMUX, STANDBY, &peers, true), &peers[1].1, Some(standby_dhcp));
    let primary =
        Server::start(V4, hot_standby(V4, HAMUX, PRIMARY, &peers, true), &peers[0].1, Some(primary_dhcp));
    wait_for_hot_standby(("primary", &primary), ("standby", &standby), heartbeat);
    let logs = || format!("\n--- primary\n{}\n--- standby\n{}", primary.log(), standby.log());

    let answer = standby.command("ha-maintenance-start", None);
    check_answer(
        &answer,
        0,
        "Server is now in the partner-in-maintenance state and its partner is in-maintenance state. \
         The partner can be now safely shut down.",
        "ha-maintenance-start on the standby",
        &logs,
    );
    let answer = wait_for_state(&[("standby", &standby)], "partner-in-maintenance", heartbeat).remove(0);
    assert_eq!(scopes(&answer), &json!([PRIMARY]), "the standby serves the primary's scope: {answer}");
    let answer = wait_for_state(&[("primary", &primary)], "in-maintenance", heartbeat).remove(0);
    assert_eq!(scopes(&answer), &json!([]), "the primary in maintenance serves no scope: {answer}");

    // The standby serves, the primary does not; the standby's leases reach the primary.
    let report = load(V4, standby_dhcp, 3, 1);
    check_served(&report, V4, "standby in partner-in-maintenance", &standby);
    let served = report.lease_acks(V4);
    let report = load(V4, primary_dhcp, 2, 2);
    check_running(&primary, "primary in in-maintenance");
    check_unanswered(&report, "the primary in in-maintenance", &|| primary.log());
    let leases = check_converged(("standby", &standby), ("primary", &primary), &logs);
    assert!(!leases.is_empty(), "no lease on the standby{}", logs());
    for (name, server, want) in
        [("standby", &standby, "partner-in-maintenance"), ("primary", &primary, "in-maintenance")]
    {
        let answer = heartbeat(server, name);
        assert_eq!(state(&answer), want, "the {name} left {want} under perfdhcp: {answer}{}", logs());
    }

    let answer = standby.command("ha-maintenance-cancel", None);
    check_answer(&answer, 0, "Server maintenance successfully canceled.", "ha-maintenance-cancel", &logs);
    wait_for_hot_standby(("primary", &primary), ("standby", &standby), heartbeat);
    let report = load(V4, primary_dhcp, 2, 3);
    check_served(&report, V4, "primary after the maintenance", &primary);
    let after = check_converged(("primary", &primary), ("standby", &standby), &logs);
    println!(
        "in maintenance the standby answered {served} ({} leases, on the primary too); after it the \
         primary answered {} ({} leases on both)",
        leases.len(),
        report.lease_acks(V4),
        after.len()
    );
}

// ---------------------------------------------------------------- status-get

/// The JSON type of each leaf of `value`, by path: the shape of an answer.
fn shape(value: &Value, path: &str, out: &mut BTreeMap<String, &'static str>) {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "real",
        Value::String(_) => "string",
        Value::Array(items) => {
            for item in items {
                shape(item, &format!("{path}[]"), out);
            }
            "list"
        }
        Value::Object(map) => {
            for (key, item) in map {
                shape(item, &format!("{path}.{key}"), out);
            }
            "map"
        }
    };
    out.insert(path.to_string(), kind);
}

/// `entry` without what changes by the second (the partner's `age`).
fn timeless(entry: &Value) -> Value {
    let mut entry = entry.clone();
    if let Some(remote) = entry["ha-servers"].get_mut("remote").and_then(Value::as_object_mut) {
        remote.remove("age");
    }
    entry
}

/// Checks that the hook's `status-get` entry `hook` has the shape of Kea's HA's `kea` in
/// the same role, and the same values but the age.
fn check_like_kea(hook: &Value, kea: &Value, role: &str) {
    let (mut hook_shape, mut kea_shape) = (BTreeMap::new(), BTreeMap::new());
    shape(hook, "", &mut hook_shape);
    shape(kea, "", &mut kea_shape);
    assert_eq!(
        hook_shape, kea_shape,
        "{role}: the hook's status-get entry {hook} has not the shape of Kea's {kea}"
    );
    assert_eq!(timeless(hook), timeless(kea), "{role}: the hook's status-get entry differs from Kea's");
    println!("{role}: the hook's and Kea's HA's status-get entries agree: {hook}");
}

/// The keys of a map (sorted).
fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value.as_object().into_iter().flatten().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    keys
}

/// Two mixed pairs in hot-standby at once, Kea's HA primary with a hook standby and a
/// hook primary with Kea's HA standby: each hook's `status-get` entry is that of Kea's HA
/// in its role (see the module documentation).
#[test]
fn v4_status_get_like_kea_ha_in_hot_standby() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !ready(V4, &[HAMUX, KEA_HA]) {
        return;
    }
    let ports: [u16; 4] = free_ports();
    let start = |with: [Replicator; 2], ports: [u16; 2]| {
        let peers = pair_peers(with, (STANDBY, "standby"), ports);
        let standby = Server::start(V4, hot_standby(V4, with[1], STANDBY, &peers, false), &peers[1].1, None);
        let primary = Server::start(V4, hot_standby(V4, with[0], PRIMARY, &peers, false), &peers[0].1, None);
        (primary, standby)
    };
    let (kea_primary, hook_standby) = start([KEA_HA, HAMUX], [ports[0], ports[1]]);
    let (hook_primary, kea_standby) = start([HAMUX, KEA_HA], [ports[2], ports[3]]);
    wait_for_hot_standby(("Kea's HA primary", &kea_primary), ("hook standby", &hook_standby), heartbeat);
    wait_for_hot_standby(("hook primary", &hook_primary), ("Kea's HA standby", &kea_standby), heartbeat);
    // A few heartbeats more: each knows its partner's state and scopes in hot-standby.
    sleep(Duration::from_millis(1500));

    for (role, hook, kea, scope, partner, partner_scope) in [
        ("primary", &hook_primary, &kea_primary, json!([PRIMARY]), "standby", json!([])),
        ("standby", &hook_standby, &kea_standby, json!([]), "primary", json!([PRIMARY])),
    ] {
        let hook_entry = ha_status(hook, &format!("hook {role}"));
        let kea_entry = ha_status(kea, &format!("Kea's HA {role}"));
        let what = format!("hook {role}: {hook_entry}\n{}", hook.log());
        assert_eq!(keys(&hook_entry), ["ha-mode", "ha-servers"], "{what}");
        assert_eq!(hook_entry["ha-mode"], "hot-standby", "{what}");
        assert_eq!(keys(&hook_entry["ha-servers"]), ["local", "remote"], "{what}");
        let local = &hook_entry["ha-servers"]["local"];
        assert_eq!(keys(local), ["role", "scopes", "state"], "{what}");
        assert_eq!(local, &json!({"role": role, "state": "hot-standby", "scopes": scope}), "{what}");
        let remote = &hook_entry["ha-servers"]["remote"];
        let remote_keys = [
            "age",
            "analyzed-packets",
            "communication-interrupted",
            "connecting-clients",
            "in-touch",
            "last-scopes",
            "last-state",
            "role",
            "unacked-clients",
            "unacked-clients-left",
        ];
        assert_eq!(keys(remote), remote_keys, "{what}");
        let expected = [
            ("role", json!(partner)),
            ("in-touch", json!(true)),
            ("last-state", json!("hot-standby")),
            ("last-scopes", partner_scope),
            ("communication-interrupted", json!(false)),
            ("connecting-clients", json!(0)),
            ("unacked-clients", json!(0)),
            ("unacked-clients-left", json!(0)),
            ("analyzed-packets", json!(0)),
        ];
        for (key, value) in expected {
            assert_eq!(remote[key], value, "remote {key}: {what}");
        }
        assert!(remote["age"].is_i64(), "remote age: {what}");
        check_like_kea(&hook_entry, &kea_entry, role);
    }
}

/// Two mixed pairs in passive-backup at once, Kea's HA primary with a hook backup and a
/// hook primary with Kea's HA backup: each hook's `status-get` entry is that of Kea's HA
/// in its role, "local" only.
#[test]
fn v4_status_get_like_kea_ha_in_passive_backup() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !ready(V4, &[HAMUX, KEA_HA]) {
        return;
    }
    let ports: [u16; 4] = free_ports();
    let start = |with: [Replicator; 2], ports: [u16; 2]| {
        let peers = pair_peers(with, (BACKUP, "backup"), ports);
        let mode = "passive-backup";
        let backup = config(V4, with[1], BACKUP, mode, &peers, timers(), false);
        let primary = config(V4, with[0], PRIMARY, mode, &peers, timers(), false);
        let backup = Server::start(V4, backup, &peers[1].1, None);
        let primary = Server::start(V4, primary, &peers[0].1, None);
        primary.wait_until_serving();
        (primary, backup)
    };
    let (kea_primary, hook_backup) = start([KEA_HA, HAMUX], [ports[0], ports[1]]);
    let (hook_primary, kea_backup) = start([HAMUX, KEA_HA], [ports[2], ports[3]]);

    for (role, hook, kea, state, scope) in [
        ("primary", &hook_primary, &kea_primary, "passive-backup", json!([PRIMARY])),
        ("backup", &hook_backup, &kea_backup, "backup", json!([])),
    ] {
        let hook_entry = ha_status(hook, &format!("hook {role}"));
        let kea_entry = ha_status(kea, &format!("Kea's HA {role}"));
        let what = format!("hook {role}: {hook_entry}\n{}", hook.log());
        assert_eq!(hook_entry["ha-mode"], "passive-backup", "{what}");
        assert_eq!(keys(&hook_entry["ha-servers"]), ["local"], "{what}");
        let local = &hook_entry["ha-servers"]["local"];
        assert_eq!(local, &json!({"role": role, "state": state, "scopes": scope}), "{what}");
        check_like_kea(&hook_entry, &kea_entry, role);
    }
}

// ---------------------------------------------------------------- ha-scopes and errors

/// What Kea's HA 2.2 answers to a command of [`command_cases`].
#[derive(Clone, Copy, Debug, PartialEq)]
enum KeaSays {
    /// The same as the hook.
    Same,
    /// Nothing: its handler throws on the arguments, logs
    /// `HA_MAINTENANCE_NOTIFY_HANDLER_FAILED` and sets no response, and the server closes
    /// the control connection without an answer (`COMMAND_RESPONSE_ERROR`). The hook
    /// answers result 1 with the exception's text instead.
    Nothing,
}

/// A command of [`v4_hook_pair_scopes_and_command_errors`] that does not change what a
/// primary in hot-standby serves, the hook's answer and what Kea's HA says.
struct Case {
    command: &'static str,
    arguments: Option<Value>,
    result: i64,
    text: &'static str,
    kea: KeaSays,
}

fn command_cases() -> Vec<Case> {
    let case = |command, arguments, result, text, kea| Case { command, arguments, result, text, kea };
    vec![
        case(
            "ha-scopes",
            Some(json!({"scopes": ["nobody"]})),
            1,
            "invalid server name specified 'nobody' while enabling/disabling HA scopes",
            KeaSays::Same,
        ),
        case(
            "ha-maintenance-notify",
            Some(json!({})),
            1,
            "'cancel' is mandatory for the 'ha-maintenance-notify' command",
            KeaSays::Nothing,
        ),
        case(
            "ha-maintenance-notify",
            Some(json!({"cancel": "yes"})),
            1,
            "'cancel' must be a boolean in the 'ha-maintenance-notify' command",
            KeaSays::Nothing,
        ),
        case(
            "ha-maintenance-notify",
            Some(json!({"cancel": true})),
            1,
            "Unable to cancel the maintenance for the server not in the in-maintenance state.",
            KeaSays::Same,
        ),
        case(
            "ha-maintenance-cancel",
            None,
            1,
            "Unable to cancel maintenance request because the server is not in the \
             partner-in-maintenance state.",
            KeaSays::Same,
        ),
        case("ha-continue", None, 0, "HA state machine is not paused.", KeaSays::Same),
    ]
}

/// Sends `command` with `arguments` over `server`'s control socket: its answer, or the
/// error (no answer, or not JSON).
fn try_command(server: &Server, command: &str, arguments: &Option<Value>) -> Result<Value, String> {
    let mut request = json!({"command": command});
    if let Some(arguments) = arguments {
        request["arguments"] = arguments.clone();
    }
    kea::control(&server.socket, &request, Duration::from_secs(20))
}

/// A hook pair in hot-standby: the errors and answers of `ha-scopes`,
/// `ha-maintenance-notify`, `ha-maintenance-cancel` and `ha-continue` are libdhcp_ha's
/// (literally, and those of a pair of Kea's HA where it answers); `ha-scopes` with no
/// scope stops the primary answering, with its own scope it answers again.
#[test]
fn v4_hook_pair_scopes_and_command_errors() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run(V4, &[HAMUX, KEA_HA]) {
        return;
    }
    let pair = |with: Replicator, dhcp: Option<u16>| {
        let ports: [u16; 2] = free_ports();
        let peers = pair_peers([with, with], (STANDBY, "standby"), ports);
        let standby = Server::start(V4, hot_standby(V4, with, STANDBY, &peers, false), &peers[1].1, None);
        let primary =
            Server::start(V4, hot_standby(V4, with, PRIMARY, &peers, dhcp.is_some()), &peers[0].1, dhcp);
        wait_for_hot_standby(("primary", &primary), ("standby", &standby), heartbeat);
        (primary, standby)
    };

    // Kea's HA's answers first, as the reference.
    let (kea_primary, kea_standby) = pair(KEA_HA, None);
    let kea_answers: Vec<Result<Value, String>> =
        command_cases().iter().map(|c| try_command(&kea_primary, c.command, &c.arguments)).collect();
    let kea_log = kea_primary.log();
    drop((kea_primary, kea_standby));

    let [primary_dhcp] = free_ports();
    let (primary, standby) = pair(HAMUX, Some(primary_dhcp));
    let logs = || format!("\n--- primary\n{}\n--- standby\n{}", primary.log(), standby.log());
    for (case, kea) in command_cases().iter().zip(&kea_answers) {
        let what = format!("{} {:?} on the hook primary", case.command, case.arguments);
        let answer = primary.command(case.command, case.arguments.clone());
        check_answer(&answer, case.result, case.text, &what, &logs);
        match (case.kea, kea) {
            (KeaSays::Same, Ok(kea)) => assert_eq!(&answer, kea, "{what}: Kea's HA answers otherwise"),
            (KeaSays::Nothing, Err(e)) if e.ends_with("): ") => {
                println!("{what}: the hook answers {answer}, Kea's HA 2.2 nothing ({e})")
            }
            (want, kea) => panic!("{what}: Kea's HA was to answer {want:?}, got {kea:?}\n{kea_log}"),
        }
    }
    let answer = heartbeat(&primary, "primary");
    assert_eq!(state(&answer), "hot-standby", "{answer}{}", logs());
    assert_eq!(
        scopes(&answer),
        &json!([PRIMARY]),
        "a rejected ha-scopes changed the scopes: {answer}{}",
        logs()
    );

    // No scope: the primary answers nothing.
    let answer = primary.command("ha-scopes", Some(json!({"scopes": []})));
    check_answer(&answer, 0, "New HA scopes configured.", "ha-scopes []", &logs);
    let answer = heartbeat(&primary, "primary");
    assert_eq!(scopes(&answer), &json!([]), "after ha-scopes []: {answer}{}", logs());
    let report = load(V4, primary_dhcp, 2, 1);
    check_running(&primary, "primary with no scope");
    check_unanswered(&report, "the primary with no scope", &|| primary.log());

    // Its own scope again: it answers.
    let answer = primary.command("ha-scopes", Some(json!({"scopes": [PRIMARY]})));
    check_answer(&answer, 0, "New HA scopes configured.", "ha-scopes [primary]", &logs);
    let answer = heartbeat(&primary, "primary");
    assert_eq!(scopes(&answer), &json!([PRIMARY]), "after ha-scopes [primary]: {answer}{}", logs());
    let report = load(V4, primary_dhcp, 2, 2);
    check_served(&report, V4, "primary with its scope again", &primary);
    let leases = check_converged(("primary", &primary), ("standby", &standby), &logs);
    println!(
        "with its scope again the primary answered {} ({} leases on both)",
        report.lease_acks(V4),
        leases.len()
    );
}
