//! Hub and spoke in hot-standby (libdhcp_ha 2.5.5+'s: one central server, the standby of
//! several branch primaries, in a relationship with each, every relationship with its own
//! state machine and its own listener URL), with hamux's Kea hook as the central in a real
//! kea-dhcp4 2.2 server (DHCPv6 in part, below) and two branches in one relationship each
//! — Kea's own libdhcp_ha 2.2 (over `http://`) or the hook too (over `hamux://`) — with
//! short HA timers (a heartbeat every 500 ms, communication interrupted after 2 s, no
//! traffic analysis):
//!
//! - branch A ("server1", subnet 10.1.0.0/16 relayed from 127.0.0.2) and branch B
//!   ("server3", 10.2.0.0/16 relayed from 127.0.0.3) are primaries; the central is
//!   "server2" in A's relationship and "server4" in B's, has both subnets, each tied to
//!   its relationship by `ha-server-name`, and listens on one URL per relationship;
//! - all reach `hot-standby` with libdhcp_ha's scopes: the central's `ha-heartbeat` with a
//!   `server-name` answers that relationship's state and scopes (libdhcp_ha 2.5.5+ picks
//!   the relationship so), and its `status-get` has one `high-availability` entry per
//!   relationship, the central the standby in each;
//! - each branch serves perfdhcp through its relay and its leases reach the central; the
//!   central answers neither relay;
//! - branch A is SIGKILLed: the central's relationship with it reaches `partner-down`
//!   (serving A's scope) while the one with branch B stays in `hot-standby`; the central
//!   then answers A's relay (new leases in 10.1/16 only) but not B's, and none of the
//!   leases it allocates for A reaches branch B (a relationship's lease updates go to its
//!   partner only);
//! - branch A is restarted with no leases: it syncs the central's leases (those the
//!   central allocated in its absence among them) and both return to `hot-standby`;
//!   branch A serves and replicates again, and the central answers A's relay no more.
//!
//! - under AddressSanitizer (the central's C++ instrumented, Kea with libasan preloaded,
//!   hook branches): both relays unanswered, A's takeover and return, the unload: no
//!   report;
//! - DHCPv6 (hook branches; perfdhcp -6 relays from ::1 only, which selects branch A's
//!   subnet): the central answers none of A's clients while A lives, and once A is
//!   SIGKILLed serves them, with leases of A's subnet only, none on branch B.
//!
//! A branch of Kea 2.2 syncs all the central's leases, of both subnets: leases are
//! compared within each branch's subnet only. States are read by polling `ha-heartbeat`
//! on the control channel; how long a transition took is printed, not asserted. Needs
//! Kea, kea-dev and root (for 127.0.0.2 and 127.0.0.3 on lo); run with
//! `--test-threads=1`.

mod support;

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};
use support::failover::{
    can_run, check_running, check_served, check_unanswered, config, failover_settings, lacking, load, scopes,
    state, wait_for_state,
};
use support::kea;
use support::kea_hook::{
    asan_hook_library, dhcp_body, first, free_ports, ha_entry, hamux_stats, hook_library, hook_under_test,
    lease_difference, perfdhcp_via, relay_ready, scheme, server_config, Family, PerfdhcpReport, PerfdhcpTurn,
    Replicator, Server, TempDir, RELAY4,
};
use support::sanitizer::{asan_launcher, check_no_asan_report, shut_down, ReportsShownOnPanic};

const V4: Family = Family::V4;
const V6: Family = Family::V6;
const HAMUX: Replicator = Replicator::Hamux;
const KEA_HA: Replicator = Replicator::KeaHa;

/// Branch B's relay (branch A's is [`RELAY4`], 127.0.0.2).
const RELAY_B: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
const RELAY_B_TEXT: &str = "127.0.0.3";

/// What [`heartbeat`] takes for one of the central's relationships: this prefix, then
/// the central's name in it.
const CENTRAL: &str = "central's ";

/// A server of a relationship: its name, URL and role.
type Peer = (&'static str, String, &'static str);

/// A branch and the central's relationship with it.
struct Spoke {
    branch: &'static str,
    /// The branch's name, the primary.
    primary: &'static str,
    /// The central's name in the relationship, the standby.
    standby: &'static str,
    /// Its subnet's id: the subnet is 10.<id>.0.0/16.
    id: u32,
    /// The prefix of its subnet's addresses.
    prefix: &'static str,
    /// Where its clients' queries are relayed from (selecting its subnet).
    relay: &'static str,
}

const A: Spoke =
    Spoke { branch: "A", primary: "server1", standby: "server2", id: 1, prefix: "10.1.", relay: RELAY4 };
const B: Spoke = Spoke {
    branch: "B",
    primary: "server3",
    standby: "server4",
    id: 2,
    prefix: "10.2.",
    relay: RELAY_B_TEXT,
};

impl Spoke {
    /// The relationship's servers: the branch at `branch_url`, the central at `central_url`.
    fn peers(&self, branch_url: String, central_url: String) -> Vec<Peer> {
        vec![(self.primary, branch_url, "primary"), (self.standby, central_url, "standby")]
    }

    /// Its subnet, tied to a relationship by the name of one of its servers, `server`.
    /// DHCPv6: 2001:db8:<id>::/64; perfdhcp relays from ::1 only, so only branch A's
    /// subnet is selected by it (B's has a relay address nothing sends from).
    fn subnet(&self, family: Family, server: &str) -> Value {
        let id = self.id;
        match family {
            Family::V4 => json!({"id": id, "subnet": format!("10.{id}.0.0/16"),
                                 "relay": {"ip-addresses": [self.relay]},
                                 "pools": [{"pool": format!("10.{id}.0.1 - 10.{id}.255.255")}],
                                 "user-context": {"ha-server-name": server}}),
            Family::V6 => json!({"id": id, "subnet": format!("2001:db8:{id}::/64"),
                                 "relay": {"ip-addresses": [if id == 1 { "::1" } else { "2001:db8:ffff::1" }]},
                                 "pools": [{"pool": format!("2001:db8:{id}::1000 - 2001:db8:{id}::ffff")}],
                                 "user-context": {"ha-server-name": server}}),
        }
    }

    /// The prefix of its subnet's addresses in `family`.
    fn prefix_of(&self, family: Family) -> String {
        match family {
            Family::V4 => self.prefix.to_string(),
            Family::V6 => format!("2001:db8:{}:", self.id),
        }
    }

    /// How the branch is named in messages (and to [`heartbeat`]).
    fn name(&self, replicator: Replicator) -> String {
        format!("branch {} ({}, {})", self.branch, self.primary, label(replicator))
    }

    /// How the central's relationship with the branch is named in messages (and to
    /// [`heartbeat`]).
    fn central(&self) -> String {
        format!("{CENTRAL}{}", self.standby)
    }
}

fn label(replicator: Replicator) -> &'static str {
    match replicator {
        Replicator::Hamux => "hook",
        Replicator::KeaHa => "Kea's HA",
    }
}

// ---------------------------------------------------------------- configurations

/// A branch's configuration: the primary of `spoke`'s relationship with `peers`,
/// replicating with `replicator` ([`config`] with [`failover_settings`]), serving its
/// subnet only.
fn branch_config(family: Family, replicator: Replicator, spoke: &Spoke, peers: &[Peer]) -> Value {
    let mut config =
        config(family, replicator, spoke.primary, "hot-standby", peers, failover_settings(), true);
    config[family.key()][subnets_key(family)] = json!([spoke.subnet(family, spoke.primary)]);
    config
}

fn subnets_key(family: Family) -> &'static str {
    match family {
        Family::V4 => "subnet4",
        Family::V6 => "subnet6",
    }
}

/// The central's configuration: the hook with a hot-standby relationship with each of
/// `spokes` (the standby in each, with [`failover_settings`] and the hook's settings),
/// in one hooks-libraries entry; both subnets, each tied to its relationship by the
/// central's name in it; the hook's messages at INFO in its log.
fn central_config(family: Family, spokes: &[(&Spoke, &[Peer])]) -> Value {
    let relationships: Vec<Value> = spokes
        .iter()
        .map(|(spoke, peers)| {
            let entry = ha_entry(HAMUX, spoke.standby, "hot-standby", peers, failover_settings());
            entry["parameters"]["high-availability"][0].clone()
        })
        .collect();
    let hook = json!({"library": hook_library(), "parameters": {"high-availability": relationships}});
    // dhcp_body's interfaces and lifetimes, with both subnets.
    let mut body = dhcp_body(family, true);
    body[subnets_key(family)] = spokes.iter().map(|(spoke, _)| spoke.subnet(family, spoke.standby)).collect();
    let mut config = server_config(family, vec![kea::lease_cmds_hook(), hook], body);
    let loggers = config[family.key()]["loggers"].as_array_mut().expect("kea::server's loggers");
    loggers.push(json!({"name": format!("{}.hamux-hooks", family.daemon()),
                        "output_options": [{"output": "stdout"}], "severity": "INFO"}));
    config
}

// ---------------------------------------------------------------- states

/// `ha-heartbeat` on `server`'s control channel, result 0 (also every answer the waits
/// for a state poll): for `what` "central's <name>" with `{"server-name": <name>}`, the
/// state of the central's relationship that has a server of that name; a branch's
/// without arguments.
fn heartbeat(server: &Server, what: &str) -> Value {
    let arguments = what.strip_prefix(CENTRAL).map(|name| json!({"server-name": name}));
    let answer = server.command("ha-heartbeat", arguments);
    assert_eq!(answer["result"], 0, "{what}: ha-heartbeat: {answer}\n{}", server.log());
    answer
}

/// Checks that each of `answers` (`ha-heartbeat`s, of `servers`) has its `scopes`.
fn check_scopes(servers: &[(&str, &Server)], answers: &[Value], want: &[Value]) {
    for (((name, server), answer), scopes_wanted) in servers.iter().zip(answers).zip(want) {
        assert_eq!(scopes(answer), scopes_wanted, "the scopes of {name}: {answer}\n{}", server.log());
    }
}

/// Checks that `server`'s `what` is in `want`, serving `scopes_wanted`, now.
fn check_state(server: &Server, what: &str, want: &str, scopes_wanted: Value, logs: &dyn Fn() -> String) {
    let answer = heartbeat(server, what);
    assert!(
        state(&answer) == want && scopes(&answer) == &scopes_wanted,
        "{what} must be in {want} serving {scopes_wanted}: {answer}{}",
        logs()
    );
}

/// The central's `status-get`: one `high-availability` entry per relationship (in their
/// order), each in hot-standby with the central the standby serving no scope and the
/// branch the remote primary.
fn check_central_status(central: &Server, spokes: &[&Spoke]) {
    let answer = central.command("status-get", None);
    assert_eq!(answer["result"], 0, "the central's status-get: {answer}\n{}", central.log());
    let entries = answer["arguments"]["high-availability"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        entries.len(),
        spokes.len(),
        "the central's status-get: a high-availability entry per relationship: {answer}\n{}",
        central.log()
    );
    for (entry, spoke) in entries.iter().zip(spokes) {
        let what =
            format!("the central's status-get entry for {}: {entry}\n{}", spoke.standby, central.log());
        assert_eq!(entry["ha-mode"], "hot-standby", "{what}");
        let (local, remote) = (&entry["ha-servers"]["local"], &entry["ha-servers"]["remote"]);
        assert_eq!(local["role"], "standby", "{what}");
        assert_eq!(local["state"], "hot-standby", "{what}");
        assert_eq!(local["scopes"], json!([]), "{what}");
        assert!(remote.is_object(), "no remote: {what}");
        assert_eq!(remote["role"], "primary", "{what}");
    }
    println!("the central's status-get: {}", answer["arguments"]["high-availability"]);
}

// ---------------------------------------------------------------- perfdhcp and leases

/// perfdhcp DORA via `relay` against `dhcp_port` for `seconds`, as `failover::load`:
/// 100 new clients/s out of 100,000, renewals at 10/s, no releases; `clients` picks a
/// set of clients of its own (perfdhcp draws the same ones in every run otherwise).
fn load_via(dhcp_port: u16, relay: &str, seconds: u32, clients: u8) -> PerfdhcpReport {
    let seconds = seconds.to_string();
    let base = format!("mac=00:{clients:02x}:00:00:00:00");
    perfdhcp_via(
        V4,
        dhcp_port,
        relay,
        &["-r", "100", "-R", "100000", "-f", "10", "-p", &seconds, "-b", &base],
    )
}

/// `leases` whose address starts with `prefix`.
fn within(leases: &BTreeMap<String, String>, prefix: &str) -> BTreeMap<String, String> {
    leases.iter().filter(|(a, _)| a.starts_with(prefix)).map(|(a, o)| (a.clone(), o.clone())).collect()
}

/// The leases of `now` that `before` lacks.
fn added(before: &BTreeMap<String, String>, now: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    now.iter().filter(|(a, _)| !before.contains_key(*a)).map(|(a, o)| (a.clone(), o.clone())).collect()
}

/// Polls `get` every 200 ms until `done` holds of its value or 10 s passed; returns the
/// last value.
fn poll<T>(mut get: impl FnMut() -> T, done: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = get();
        if done(&value) || Instant::now() > deadline {
            return value;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The logs of `servers`, for messages.
fn logs_of(servers: &[(&str, &Server)]) -> String {
    servers.iter().map(|(name, server)| format!("\n--- {name}\n{}", server.log())).collect()
}

// ---------------------------------------------------------------- the scenario

#[test]
fn v4_hub_with_kea_ha_branches_fails_over_per_relationship() {
    hub_and_spoke(KEA_HA);
}

#[test]
fn v4_hub_with_hook_branches_fails_over_per_relationship() {
    hub_and_spoke(HAMUX);
}

/// The hook as the central standby of two branch primaries replicating with
/// `branches_with` (see the module documentation).
fn hub_and_spoke(branches_with: Replicator) {
    let _one_at_a_time = PerfdhcpTurn::wait();
    // Only the hook has several hot-standby relationships (Kea 2.2's HA has one).
    if hook_under_test() != HAMUX {
        println!("Kea's HA standing in for the hook has one relationship: nothing to test");
        return;
    }
    if !can_run(V4, &[HAMUX, branches_with]) || !relay_ready(RELAY_B) {
        return;
    }
    let began = Instant::now();
    let [a_port, b_port, central_a_port, central_b_port, a_dhcp, b_dhcp, central_dhcp] = free_ports();
    let scheme = scheme(branches_with, HAMUX, false);
    let url = |port: u16| format!("{scheme}://127.0.0.1:{port}/");
    // One listener per relationship: the central has a URL in each.
    let a_peers = A.peers(url(a_port), url(central_a_port));
    let b_peers = B.peers(url(b_port), url(central_b_port));
    let a_config = branch_config(V4, branches_with, &A, &a_peers);
    let b_config = branch_config(V4, branches_with, &B, &b_peers);
    let central_config = central_config(V4, &[(&A, &a_peers), (&B, &b_peers)]);
    let (an, bn) = (A.name(branches_with), B.name(branches_with));
    let (ca, cb) = (A.central(), B.central());
    let (an, bn, ca, cb) = (an.as_str(), bn.as_str(), ca.as_str(), cb.as_str());

    // 1. All in hot-standby: each branch serving its scope, the central none.
    let branch_a = Server::start(V4, a_config.clone(), &a_peers[0].1, Some(a_dhcp));
    let branch_b = Server::start(V4, b_config, &b_peers[0].1, Some(b_dhcp));
    let central = Server::start(V4, central_config, &a_peers[1].1, Some(central_dhcp));
    let all = [(an, &branch_a), (bn, &branch_b), (ca, &central), (cb, &central)];
    let answers = wait_for_state(&all, "hot-standby", heartbeat);
    check_scopes(&all, &answers, &[json!([A.primary]), json!([B.primary]), json!([]), json!([])]);
    let up_at = began.elapsed();
    check_central_status(&central, &[&A, &B]);
    let mut summary =
        format!("{} branches: all in hot-standby {up_at:?} after the start", label(branches_with));

    // 2. Each branch serves its relay; its leases reach the central.
    let logs = || logs_of(&[(an, &branch_a), (bn, &branch_b), ("central", &central)]);
    let report = load_via(a_dhcp, A.relay, 2, 1);
    check_served(&report, V4, an, &branch_a);
    let served_a = report.lease_acks(V4);
    let report = load_via(b_dhcp, B.relay, 2, 2);
    check_served(&report, V4, bn, &branch_b);
    let served_b = report.lease_acks(V4);
    let (at_a, at_b, at_central) = poll(
        || (branch_a.leases(), branch_b.leases(), central.leases()),
        |(a, b, c)| within(c, A.prefix) == within(a, A.prefix) && within(c, B.prefix) == within(b, B.prefix),
    );
    for (spoke, name, at_branch) in [(&A, an, &at_a), (&B, bn, &at_b)] {
        let (mine, there) = (within(at_branch, spoke.prefix), within(&at_central, spoke.prefix));
        assert!(!mine.is_empty(), "no lease in {}* on {name}{}", spoke.prefix, logs());
        assert!(
            mine == there,
            "the central must hold {name}'s leases in {}*: {}{}",
            spoke.prefix,
            lease_difference(&mine, &there),
            logs()
        );
    }
    summary += &format!(
        "; A answered {served_a}, B {served_b} ({} and {} leases, on the central too)",
        within(&at_a, A.prefix).len(),
        within(&at_b, B.prefix).len()
    );

    // 3. The central, the standby in both relationships, answers neither relay.
    let before = central.leases();
    for (spoke, clients) in [(&A, 3), (&B, 4)] {
        let report = load_via(central_dhcp, spoke.relay, 2, clients);
        check_running(&central, "central");
        let what = format!("the central, the standby of branch {} (relay {})", spoke.branch, spoke.relay);
        check_unanswered(&report, &what, &|| central.log());
    }
    let now = central.leases();
    assert!(
        now == before,
        "the central in hot-standby changed its leases: {}{}",
        lease_difference(&before, &now),
        logs()
    );
    // Every query was decided at subnet4_select by its subnet, before any allocation (as
    // libdhcp_ha), none later at a lease callout; each was dropped.
    let status = central.command("hamux-status", None);
    let scope = &status["arguments"]["scope-by-subnet"];
    let count = |key: &str| scope[key].as_u64().unwrap_or_else(|| panic!("{key}: {status}"));
    let (at_subnet, at_lease) = (count("decided-at-subnet-select"), count("decided-at-lease"));
    assert!(at_subnet > 0 && at_lease == 0, "the central's hamux-status: {status}");
    assert_eq!(count("not-for-us"), at_subnet, "every query not for it: {status}");
    assert_eq!(count("undecided-dropped"), 0, "the central's hamux-status: {status}");
    summary += &format!("; the central dropped {at_subnet} queries at subnet4_select");

    // 4. Branch A dies: the central's relationship with it reaches partner-down (serving
    // A's scope), the one with branch B stays in hot-standby.
    let killed_a_log = branch_a.kill();
    let killed = Instant::now();
    let answer = wait_for_state(&[(ca, &central)], "partner-down", heartbeat).remove(0);
    let down_after = killed.elapsed();
    let logs =
        || format!("{}\n--- killed {an}\n{killed_a_log}", logs_of(&[(bn, &branch_b), ("central", &central)]));
    assert_eq!(scopes(&answer), &json!([A.primary]), "{ca} must serve branch A's scope: {answer}{}", logs());
    check_state(&central, cb, "hot-standby", json!([]), &logs);
    check_state(&branch_b, bn, "hot-standby", json!([B.primary]), &logs);
    summary += &format!("; {ca} in partner-down {down_after:?} after A's kill, {cb} still in hot-standby");

    // 5. The central answers branch A's relay (leases of A's subnet), not branch B's; none
    // of its new leases reaches branch B.
    let before = central.leases();
    let (central_stats, b_stats) = (hamux_stats(&central), hamux_stats(&branch_b));
    let report = load_via(central_dhcp, A.relay, 3, 5);
    check_served(&report, V4, &format!("central ({ca} in partner-down)"), &central);
    let served_central = report.lease_acks(V4);
    let after = central.leases();
    let new = added(&before, &after);
    let lost = lacking(&before, &after);
    assert!(lost.is_empty(), "the central lost leases in partner-down: {:?}{}", first(&lost, 20), logs());
    assert!(!new.is_empty(), "no new lease on the central in partner-down{}", logs());
    let stray: Vec<&String> = new.keys().filter(|a| !a.starts_with(A.prefix)).collect();
    assert!(
        stray.is_empty(),
        "the central's new leases for relay {} must be in {}*, not {:?}{}",
        A.relay,
        A.prefix,
        first(&stray, 20),
        logs()
    );
    let report = load_via(central_dhcp, B.relay, 2, 6);
    check_running(&central, "central");
    let what = format!("the central, still the standby of branch B (relay {})", B.relay);
    check_unanswered(&report, &what, &|| central.log());
    check_state(&central, cb, "hot-standby", json!([]), &logs);
    let at_b = branch_b.leases();
    let leaked: Vec<&String> = new.keys().filter(|a| at_b.contains_key(*a)).collect();
    assert!(
        leaked.is_empty(),
        "{bn} must get none of the {} leases the central allocated for branch A's subnet, got {} of them: \
         {:?}{}",
        new.len(),
        leaked.len(),
        first(&leaked, 20),
        logs()
    );
    // libdhcp_ha sends a partner in partner-down no update, and those of A's subnet go
    // to no other partner.
    let (central_now, b_now) = (hamux_stats(&central), hamux_stats(&branch_b));
    assert_eq!(
        central_now.get("hamux-updates-sent"),
        central_stats.get("hamux-updates-sent"),
        "the central sent lease updates with branch A down: before {central_stats:?}, now {central_now:?}{}",
        logs()
    );
    if branches_with == HAMUX {
        assert_eq!(
            b_now.get("hamux-updates-received"),
            b_stats.get("hamux-updates-received"),
            "{bn} received lease updates with branch A down: before {b_stats:?}, now {b_now:?}{}",
            logs()
        );
    }
    summary += &format!(
        "; the central answered {served_central} ({} new leases in {}*, none on B)",
        new.len(),
        A.prefix
    );

    // 6. Branch A returns with no leases: it syncs the central's, both return to
    // hot-standby; A serves again and the central answers A's relay no more.
    let switched = |log: &str, what: &str| log.matches(&format!("{what} {}", A.standby)).count();
    let central_log = central.log();
    let disabled_before = switched(&central_log, "HAMUX_PARTNER_DHCP_DISABLE");
    let restarted = Instant::now();
    let branch_a = Server::start(V4, a_config, &a_peers[0].1, Some(a_dhcp));
    let pair = [(an, &branch_a), (ca, &central)];
    let answers = wait_for_state(&pair, "hot-standby", heartbeat);
    check_scopes(&pair, &answers, &[json!([A.primary]), json!([])]);
    let back_after = restarted.elapsed();
    let logs = || {
        format!(
            "{}\n--- killed {an}\n{killed_a_log}",
            logs_of(&[(&format!("restarted {an}"), &branch_a), (bn, &branch_b), ("central", &central)])
        )
    };
    check_state(&central, cb, "hot-standby", json!([]), &logs);
    // Its sync switched the central's service off and on for A's relationship (held
    // apart from the other's: kea/service_gate.h).
    let central_log = central.log();
    assert!(
        switched(&central_log, "HAMUX_PARTNER_DHCP_DISABLE") > disabled_before
            && switched(&central_log, "HAMUX_PARTNER_DHCP_ENABLE") > 0,
        "the restarted {an}'s sync must disable and enable the central's service for {}{}",
        A.standby,
        logs()
    );
    let synced = poll(|| within(&branch_a.leases(), A.prefix), |at_a| lacking(&new, at_a).is_empty());
    let unsynced = lacking(&new, &synced);
    assert!(
        unsynced.is_empty(),
        "the restarted {an} lacks {} of the {} leases the central allocated in its absence: {:?}{}",
        unsynced.len(),
        new.len(),
        first(&unsynced, 20),
        logs()
    );
    summary += &format!(
        "; A back in hot-standby {back_after:?} after its restart, with the central's {} leases in {}*",
        synced.len(),
        A.prefix
    );

    let report = load_via(a_dhcp, A.relay, 2, 7);
    check_served(&report, V4, &format!("restarted {an}"), &branch_a);
    let report = load_via(central_dhcp, A.relay, 2, 8);
    check_running(&central, "central");
    check_unanswered(&report, "the central, the standby of the restarted branch A", &|| central.log());
    let (at_a, at_central) =
        poll(|| (within(&branch_a.leases(), A.prefix), within(&central.leases(), A.prefix)), |(a, c)| a == c);
    assert!(
        at_a == at_central,
        "the central must hold the restarted {an}'s leases in {}*: {}{}",
        A.prefix,
        lease_difference(&at_a, &at_central),
        logs()
    );
    println!(
        "{summary}; then A replicated again ({} leases in {}*); {:?} in all",
        at_a.len(),
        A.prefix,
        began.elapsed()
    );
}

/// Waits until hook branches A and B and both of the central's relationships are in
/// hot-standby; returns their names (A, B, the central's with A, with B).
fn all_in_hot_standby(
    branch_a: &Server,
    branch_b: &Server,
    central: &Server,
) -> (String, String, String, String) {
    let (an, bn, ca, cb) = (A.name(HAMUX), B.name(HAMUX), A.central(), B.central());
    let all =
        [(an.as_str(), branch_a), (bn.as_str(), branch_b), (ca.as_str(), central), (cb.as_str(), central)];
    wait_for_state(&all, "hot-standby", heartbeat);
    (an, bn, ca, cb)
}

/// DHCPv6, hook branches: the central's DHCPv6 callouts (subnet6_select, lease6_select,
/// ...). perfdhcp -6 relays from ::1 only, which selects branch A's subnet: the central
/// answers none of it while branch A lives, and serves it (leases of A's subnet only)
/// once A is SIGKILLed and that relationship alone is in partner-down.
#[test]
fn v6_hub_serves_only_a_stopped_branch_subnet() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if hook_under_test() != HAMUX || !can_run(V6, &[HAMUX]) {
        return;
    }
    let [a_port, b_port, central_a_port, central_b_port, a_dhcp, b_dhcp, central_dhcp] = free_ports();
    let url = |port: u16| format!("hamux://127.0.0.1:{port}/");
    let a_peers = A.peers(url(a_port), url(central_a_port));
    let b_peers = B.peers(url(b_port), url(central_b_port));
    let branch_a = Server::start(V6, branch_config(V6, HAMUX, &A, &a_peers), &a_peers[0].1, Some(a_dhcp));
    let branch_b = Server::start(V6, branch_config(V6, HAMUX, &B, &b_peers), &b_peers[0].1, Some(b_dhcp));
    let config = central_config(V6, &[(&A, &a_peers), (&B, &b_peers)]);
    let central = Server::start(V6, config, &a_peers[1].1, Some(central_dhcp));
    let (an, bn, ca, cb) = all_in_hot_standby(&branch_a, &branch_b, &central);

    let report = load(V6, central_dhcp, 2, 1);
    check_running(&central, "central");
    check_unanswered(&report, "the DHCPv6 central, the standby of branch A", &|| central.log());
    let before = central.leases();

    let killed_a_log = branch_a.kill();
    wait_for_state(&[(ca.as_str(), &central)], "partner-down", heartbeat);
    let logs = || {
        format!("{}\n--- killed {an}\n{killed_a_log}", logs_of(&[(&bn, &branch_b), ("central", &central)]))
    };
    check_state(&central, &cb, "hot-standby", json!([]), &logs);
    let report = load(V6, central_dhcp, 3, 2);
    check_served(&report, V6, "the DHCPv6 central in partner-down with branch A", &central);
    let new = added(&before, &central.leases());
    let prefix = A.prefix_of(V6);
    let stray: Vec<&String> = new.keys().filter(|a| !a.starts_with(&prefix)).collect();
    assert!(!new.is_empty() && stray.is_empty(), "new leases {new:?} must all be in {prefix}*{}", logs());
    let at_b = branch_b.leases();
    let leaked: Vec<&String> = new.keys().filter(|a| at_b.contains_key(*a)).collect();
    assert!(leaked.is_empty(), "{bn} got leases of branch A's subnet: {:?}{}", first(&leaked, 20), logs());
    println!(
        "DHCPv6: the central answered {} in partner-down, {} new leases in {prefix}*",
        report.lease_acks(V6),
        new.len()
    );
}

/// The central under AddressSanitizer (its C++ instrumented, Kea with libasan
/// preloaded; the branches plain hooks): the subnet callout reading Kea's subnets and
/// deciding (both relays unanswered), one relationship's takeover (A's relay served),
/// the branch's return through a lease sync (the partner's dhcp-disable / dhcp-enable
/// held in the gate), then the unload: no report.
#[test]
fn v4_hub_central_under_address_sanitizer() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if hook_under_test() != HAMUX || !can_run(V4, &[HAMUX]) || !relay_ready(RELAY_B) {
        return;
    }
    let library = asan_hook_library();
    let reports = TempDir::new("asan-hub");
    let _shown = ReportsShownOnPanic(&reports);
    let launcher = asan_launcher(&reports);
    let [a_port, b_port, central_a_port, central_b_port, a_dhcp, b_dhcp, central_dhcp] = free_ports();
    let url = |port: u16| format!("hamux://127.0.0.1:{port}/");
    let a_peers = A.peers(url(a_port), url(central_a_port));
    let b_peers = B.peers(url(b_port), url(central_b_port));
    let a_config = branch_config(V4, HAMUX, &A, &a_peers);
    let mut config = central_config(V4, &[(&A, &a_peers), (&B, &b_peers)]);
    config["Dhcp4"]["hooks-libraries"][1]["library"] = json!(library);
    // INFO: shut_down waits for Kea's HOOKS_LIBRARY_CLOSED.
    config["Dhcp4"]["loggers"][0]["severity"] = json!("INFO");
    let branch_a = Server::start(V4, a_config.clone(), &a_peers[0].1, Some(a_dhcp));
    let branch_b = Server::start(V4, branch_config(V4, HAMUX, &B, &b_peers), &b_peers[0].1, Some(b_dhcp));
    let central = Server::start_with(V4, config, &a_peers[1].1, Some(central_dhcp), &launcher);
    let (an, _, ca, _) = all_in_hot_standby(&branch_a, &branch_b, &central);
    for (spoke, clients) in [(&A, 9), (&B, 10)] {
        let report = load_via(central_dhcp, spoke.relay, 1, clients);
        check_unanswered(&report, "the central under ASan, a standby", &|| central.log());
    }
    drop(branch_a.kill());
    wait_for_state(&[(ca.as_str(), &central)], "partner-down", heartbeat);
    let report = load_via(central_dhcp, A.relay, 1, 11);
    check_served(&report, V4, "the central under ASan in partner-down", &central);
    let branch_a = Server::start(V4, a_config, &a_peers[0].1, Some(a_dhcp));
    wait_for_state(&[(an.as_str(), &branch_a), (ca.as_str(), &central)], "hot-standby", heartbeat);
    assert!(central.running(), "the central died:\n{}", central.log());
    shut_down(&central, library);
    // As in kea_hook_instrumented.rs: Server's drop ends a Kea that hangs at exit.
    drop(central);
    check_no_asan_report(&reports);
}
