//! What the hot-standby tests (`kea_hook_failover.rs` and `kea_hook_failover_pause.rs`,
//! the hook alone, and `kea_hook_failover_interop.rs`, the hook next to Kea's HA) share:
//! the primary and the standby and their short HA timers, the configuration of one
//! server, waiting for an HA state by polling `ha-heartbeat`, a server's `status-get`
//! entry, perfdhcp's load and the checks of what a server answered, and the leases one
//! server lacks or got in a lease sync.

use super::kea;
use super::kea_hook::{
    check_refused, converged_leases, dhcp_body, ha_entry, lease_difference, loopback6_ready, perfdhcp_with,
    ready, relay_address_ready, server_config, Family, PerfdhcpReport, Replicator, Server,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::thread::sleep;
use std::time::{Duration, Instant};

pub const PRIMARY: &str = "server1";
pub const STANDBY: &str = "server2";

/// Leases per page of a lease sync: few, so that a sync takes many pages.
pub const SYNC_PAGE_LIMIT: u64 = 7;

/// How long a server may take to reach a state: generous, as the machine is shared.
pub const STATE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the tests of servers of `family` replicating with `replicators` need (and
/// perfdhcp's relay address, or IPv6 on loopback); false (and why) where they cannot run.
pub fn can_run(family: Family, replicators: &[Replicator]) -> bool {
    ready(family, replicators)
        && match family {
            Family::V4 => relay_address_ready(),
            Family::V6 => loopback6_ready(),
        }
}

// ---------------------------------------------------------------- configurations

/// The HA timers of every server, the hook's and Kea's HA alike: heartbeats every 500 ms,
/// the partner is down 2 s after its last answer, no traffic analysis
/// (`max-unacked-clients` 0).
pub fn timers() -> Value {
    json!({
        "heartbeat-delay": 500,
        "max-response-delay": 2000,
        "max-ack-delay": 1000,
        "max-unacked-clients": 0
    })
}

/// [`timers`] and lease syncs of [`SYNC_PAGE_LIMIT`] leases a page (hot-standby).
pub fn failover_settings() -> Value {
    let mut settings = timers();
    let obj = settings.as_object_mut().unwrap();
    obj.insert("sync-leases".into(), json!(true));
    obj.insert("sync-timeout".into(), json!(20000));
    obj.insert("sync-page-limit".into(), json!(SYNC_PAGE_LIMIT));
    settings
}

/// A configuration of `family`'s daemon for `this` among `peers` in `mode`, replicating
/// with `replicator` (`settings` merged into its HA entry), with lease_cmds and the HA
/// library's (the hook's or Kea's HA's) messages at INFO in the server's log; serving DHCP
/// on loopback if `dhcp`.
pub fn config(
    family: Family,
    replicator: Replicator,
    this: &str,
    mode: &str,
    peers: &[(&str, String, &str)],
    settings: Value,
    dhcp: bool,
) -> Value {
    let entry = ha_entry(replicator, this, mode, peers, settings);
    let mut config = server_config(family, vec![kea::lease_cmds_hook(), entry], dhcp_body(family, dhcp));
    let logger = match replicator {
        Replicator::Hamux => "hamux-hooks",
        Replicator::KeaHa => "ha-hooks",
    };
    let loggers = config[family.key()]["loggers"].as_array_mut().expect("kea::server's loggers");
    loggers.push(json!({"name": format!("{}.{logger}", family.daemon()),
                        "output_options": [{"output": "stdout"}], "severity": "INFO"}));
    config
}

// ---------------------------------------------------------------- states

/// How a test reads `ha-heartbeat` on a server's control channel (with the checks it
/// makes of every answer): `(server, what) -> answer`.
pub type Heartbeat = fn(&Server, &str) -> Value;

/// The state of an `ha-heartbeat` answer.
pub fn state(answer: &Value) -> &str {
    answer["arguments"]["state"].as_str().unwrap_or("?")
}

/// The scopes of an `ha-heartbeat` answer.
pub fn scopes(answer: &Value) -> &Value {
    &answer["arguments"]["scopes"]
}

/// Polls `heartbeat` on each of `servers` (name, server) every 100 ms until all of them
/// are in `want` at once; returns their last answers, in order, and prints the states
/// each went through (and when). Panics after [`STATE_TIMEOUT`] with, for each server,
/// its states seen, its last answer and its log.
pub fn wait_for_state(servers: &[(&str, &Server)], want: &str, heartbeat: Heartbeat) -> Vec<Value> {
    let start = Instant::now();
    let mut seen: Vec<Vec<(String, Duration)>> = vec![Vec::new(); servers.len()];
    let mut last = vec![Value::Null; servers.len()];
    loop {
        for (i, (name, server)) in servers.iter().enumerate() {
            let answer = heartbeat(server, name);
            let now = state(&answer).to_string();
            if seen[i].last().map(|(s, _)| s) != Some(&now) {
                seen[i].push((now, start.elapsed()));
            }
            last[i] = answer;
        }
        if last.iter().all(|a| state(a) == want) {
            for (i, (name, _)) in servers.iter().enumerate() {
                println!("{name} -> {want}: {:?}", seen[i]);
            }
            return last;
        }
        if start.elapsed() > STATE_TIMEOUT {
            let report: Vec<String> = servers
                .iter()
                .enumerate()
                .map(|(i, (name, server))| {
                    format!(
                        "--- {name}: states seen {:?}; last ha-heartbeat {}\n{}",
                        seen[i],
                        last[i],
                        server.log()
                    )
                })
                .collect();
            let names: Vec<&str> = servers.iter().map(|(name, _)| *name).collect();
            panic!("{names:?} did not all reach {want} within {STATE_TIMEOUT:?}:\n{}", report.join("\n"));
        }
        sleep(Duration::from_millis(100));
    }
}

/// Waits until `primary` and `standby` are in hot-standby, the primary serving its own
/// scope and the standby none (libdhcp_ha's scopes).
pub fn wait_for_hot_standby(primary: (&str, &Server), standby: (&str, &Server), heartbeat: Heartbeat) {
    let answers = wait_for_state(&[primary, standby], "hot-standby", heartbeat);
    assert_eq!(scopes(&answers[0]), &json!([PRIMARY]), "{}: {}", primary.0, answers[0]);
    assert_eq!(scopes(&answers[1]), &json!([]), "{}: {}", standby.0, answers[1]);
}

/// `status-get`'s `high-availability` of `server`: one entry.
pub fn ha_status(server: &Server, what: &str) -> Value {
    let answer = server.command("status-get", None);
    assert_eq!(answer["result"], 0, "{what}: status-get: {answer}\n{}", server.log());
    let entries = answer["arguments"]["high-availability"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        entries.len(),
        1,
        "{what}: status-get: one high-availability entry: {answer}\n{}",
        server.log()
    );
    entries[0].clone()
}

// ---------------------------------------------------------------- the servers' answers

/// perfdhcp DORA/SARR against `dhcp_port` for `seconds`: 100 new clients/s out of
/// 100,000, renewals at 10/s and no releases (every answered lease stays a lease). perfdhcp
/// draws the same DHCPv4 clients in every run: `clients` picks a set of its own (the
/// second byte of their hardware addresses; DHCPv6 clients differ in every run anyway, by
/// the time in their DUID-LLT).
pub fn load(family: Family, dhcp_port: u16, seconds: u32, clients: u8) -> PerfdhcpReport {
    let seconds = seconds.to_string();
    let mut args = vec!["-r", "100", "-R", "100000", "-f", "10", "-p", &seconds];
    let base = format!("mac=00:{clients:02x}:00:00:00:00");
    if family == Family::V4 {
        args.extend(["-b", &base]);
    }
    perfdhcp_with(family, dhcp_port, &args)
}

/// Checks that `server` still runs (it answers on its control socket only then).
pub fn check_running(server: &Server, what: &str) {
    assert!(server.running(), "the {what} died:\n{}", server.log());
}

/// Every answer perfdhcp received, of any exchange.
pub fn answers(report: &PerfdhcpReport) -> u64 {
    report.blocks.values().map(|(_, received)| received).sum()
}

/// Checks that a server still runs and answered some leases of `report` (perfdhcp sent
/// to it).
pub fn check_served(report: &PerfdhcpReport, family: Family, what: &str, server: &Server) {
    check_running(server, what);
    assert!(
        report.lease_acks(family) > 0,
        "the {what} answered no lease:\n{}\n{}",
        report.text,
        server.log()
    );
}

/// Checks that a server answered nothing of `report` (perfdhcp sent to it).
pub fn check_unanswered(report: &PerfdhcpReport, what: &str, log: &dyn Fn() -> String) {
    let sent: u64 = report.blocks.values().map(|(sent, _)| sent).sum();
    assert!(sent > 0, "{what}: perfdhcp sent nothing:\n{}", report.text);
    assert_eq!(answers(report), 0, "{what} must answer no query:\n{}\n{}", report.text, log());
}

// ---------------------------------------------------------------- leases

/// Waits until `b` holds `a`'s leases and checks it; returns them.
pub fn check_converged(
    a: (&str, &Server),
    b: (&str, &Server),
    logs: &dyn Fn() -> String,
) -> BTreeMap<String, String> {
    let (at_a, at_b) = converged_leases(a.1, b.1);
    assert!(
        at_a == at_b,
        "the {} must hold the {}'s leases: {}{}",
        b.0,
        a.0,
        lease_difference(&at_a, &at_b),
        logs()
    );
    at_a
}

/// The leases of `want` that `have` lacks (or holds for another owner).
pub fn lacking(want: &BTreeMap<String, String>, have: &BTreeMap<String, String>) -> Vec<String> {
    want.iter()
        .filter(|(address, owner)| have.get(*address) != Some(owner))
        .map(|(address, owner)| format!("{address} of {owner} ({:?} there)", have.get(address)))
        .collect()
}

/// The lease pages a server's log says it received in lease syncs, the leases of each:
/// libdhcp_ha's `HA_LEASES_SYNC_LEASE_PAGE_RECEIVED received <n> leases from <peer>`, the
/// hook's `HAMUX_SYNC_PAGE_RECEIVED` (the same words), both at INFO.
pub fn sync_pages(log: &str) -> Vec<u64> {
    log.lines()
        .filter_map(|line| line.split_once("_PAGE_RECEIVED received "))
        .filter_map(|(_, rest)| rest.split(' ').next()?.parse().ok())
        .collect()
}

/// Starts a server with each of `cases` (a name, a whole configuration, what the refusal
/// must say) and fails listing every one that was not refused so, rather than stopping
/// at the first: a refusal test shows all that is wrong at once.
pub fn check_each_refused(cases: &[(&str, Value, Vec<&str>)]) {
    let mut not_refused = Vec::new();
    for (name, config, says) in cases {
        println!("{name}:");
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_refused(config, says)));
        if let Err(panic) = checked {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            not_refused.push(format!("{name} (must say {says:?}): {why}"));
        }
    }
    assert!(
        not_refused.is_empty(),
        "{} of {} configurations were not refused as Kea's HA refuses them:\n{}",
        not_refused.len(),
        cases.len(),
        not_refused.join("\n\n")
    );
}
