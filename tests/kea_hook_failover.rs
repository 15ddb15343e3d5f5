//! hamux's Kea hook (`libdhcp_hamux.so`) in `hot-standby`, libdhcp_ha 2.2's failover mode,
//! in real kea-dhcp4 / kea-dhcp6 2.2 servers: a primary and a standby, each serving DHCP on
//! its own port, with short HA timers (a heartbeat every 500 ms, communication interrupted
//! after 2 s, no traffic analysis) and lease syncs of 7 leases a page, so that a sync takes
//! many pages:
//!
//! - failover and back (DHCPv4 and DHCPv6): both reach `hot-standby` (`ha-heartbeat` on
//!   the control channel and over the HA URL: state and scopes); the primary serves
//!   perfdhcp and every lease it answered is on the standby, which answers nothing; the
//!   primary is SIGKILLed: the standby reaches `partner-down`, serves the primary's scope
//!   and counts the updates it could not send; the primary is restarted with the same
//!   configuration and ports, syncs the standby's leases (in pages of at most 7, as its
//!   log says) and both return to `hot-standby` with the same leases, none that either
//!   answered missing; then the primary serves and replicates again, and the standby
//!   answers nothing again;
//! - with `max-unacked-clients` 2, the standby whose primary is gone goes to
//!   `partner-down` only once a third client has tried for longer than `max-ack-delay`
//!   (`secs` of DISCOVERs of the test's own);
//! - with a backup: every lease the primary answers, and in `partner-down` the standby,
//!   is on the backup too;
//! - a standby whose own peer entry has `auto-failover: false` reaches `partner-down`
//!   but serves nothing there;
//! - a primary or a standby whose partner never answers goes from `waiting` to
//!   `partner-down` and serves the primary's scope;
//! - the hot-standby configurations Kea's HA refuses (missing or extra roles,
//!   `wait-backup-ack`, `delayed-updates-limit`, the 16-bit delays out of range), refused
//!   with libdhcp_ha's words.
//!
//! For DHCPv4 the leases a server answered come from its own log, as in
//! `kea_hook_faults.rs`: a `DHCP4_PACKET_SEND ... DHCPACK` line of `kea-dhcp4.packets` and
//! the `DHCP4_LEASE_ALLOC` line of the same query label; for DHCPv6 the two servers'
//! leases are compared. States are read by polling `ha-heartbeat` (Kea's own answer);
//! how long a transition took is printed, not asserted (bounds are generous: timings
//! belong to benchmarks).
//!
//! `HAMUX_KEA_HOOK_STANDIN=1` runs them with Kea's `libdhcp_ha.so` in the hook's place
//! (over `http://`; the hamux-only checks left out), to check the tests against Kea
//! itself. Needs Kea, kea-dev and root (for 127.0.0.2 on lo); run with `--test-threads=1`.

mod support;

use hamux::client::Client;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::thread::sleep;
use std::time::{Duration, Instant};
use support::ack_log::{missing_leases, Ack, AckLog};
use support::dhcp4;
use support::failover::{
    self, can_run, check_converged, check_each_refused, check_running, check_served, check_unanswered,
    failover_settings, lacking, load, scopes, sync_pages, wait_for_hot_standby, wait_for_state, PRIMARY,
    STANDBY, SYNC_PAGE_LIMIT,
};
use support::kea_hook::{
    call, first, free_ports, hamux_stats, hamux_under_test, hook_under_test, hook_url, lease_difference,
    ready, Family, PerfdhcpReport, PerfdhcpTurn, Server, TempDir,
};

const V4: Family = Family::V4;

/// The primary and the standby (name, url, role).
fn peers(primary_port: u16, standby_port: u16) -> Vec<(&'static str, String, &'static str)> {
    vec![(PRIMARY, hook_url(primary_port), "primary"), (STANDBY, hook_url(standby_port), "standby")]
}

/// A configuration of `family`'s daemon for `this` among `peers` in hot-standby with the
/// hook under test ([`failover::config`] with [`failover_settings`]): serving DHCP on
/// loopback if `dhcp`; with `acks`, the ACKs and lease allocations logged there (DHCPv4).
fn config(
    family: Family,
    this: &str,
    peers: &[(&str, String, &str)],
    dhcp: bool,
    acks: Option<&AckLog>,
) -> Value {
    let mut config =
        failover::config(family, hook_under_test(), this, "hot-standby", peers, failover_settings(), dhcp);
    if let Some(acks) = acks {
        let loggers = config[family.key()]["loggers"].as_array_mut().expect("kea::server's loggers");
        loggers.extend(acks.loggers());
    }
    config
}

/// The HA entry (the one relationship) of a configuration from [`config`].
fn ha_of(config: &mut Value, family: Family) -> &mut Value {
    &mut config[family.key()]["hooks-libraries"][1]["parameters"]["high-availability"][0]
}

// ---------------------------------------------------------------- ha-heartbeat

/// Checks that `answer` is Kea's answer to `ha-heartbeat`: result 0, its text, and the
/// state, date-time, scopes and unsent-update-count arguments.
fn check_heartbeat(answer: &Value, what: &str, log: &dyn Fn() -> String) {
    let args = &answer["arguments"];
    let shaped = answer["result"] == 0
        && answer["text"] == "HA peer status returned."
        && args["state"].is_string()
        && args["date-time"].is_string()
        && args["scopes"].as_array().is_some_and(|s| s.iter().all(Value::is_string))
        && args["unsent-update-count"].is_i64();
    assert!(shaped, "{what}: not Kea's answer to ha-heartbeat: {answer}\n{}", log());
}

/// `ha-heartbeat` on `server`'s control channel, checked by [`check_heartbeat`] (also
/// every answer the waits for a state poll).
fn heartbeat(server: &Server, what: &str) -> Value {
    let answer = server.command("ha-heartbeat", None);
    check_heartbeat(&answer, what, &|| server.log());
    answer
}

/// `ha-heartbeat` sent to `server`'s HA URL (as its partner sends it), checked by
/// [`check_heartbeat`].
fn heartbeat_over_url(client: &Client, server: &Server, what: &str) -> Value {
    let command = json!({"command": "ha-heartbeat", "service": [server.family.service()]});
    let answer = call(client, &server.url, &command);
    let answer = answer.get(0).cloned().unwrap_or(answer);
    check_heartbeat(&answer, &format!("{what} (over {})", server.url), &|| server.log());
    answer
}

/// `hamux-status`'s `high-availability` entry of `server` (one relationship): this
/// server's name, the mode, its state and scopes as `ha-heartbeat` says, and its
/// partner's state.
fn check_status(server: &Server, this: &str, heartbeat: &Value, partner_state: &str) {
    // The partner's state is what its last heartbeat answer said: one heartbeat-delay
    // behind the partner's own answer at most.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut status = server.command("hamux-status", None);
    while status["arguments"]["high-availability"][0]["partner-state"] != partner_state
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
        status = server.command("hamux-status", None);
    }
    assert_eq!(status["result"], 0, "{this}: hamux-status: {status}\n{}", server.log());
    let entries = status["arguments"]["high-availability"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{this}: hamux-status: one high-availability entry: {status}");
    let entry = &entries[0];
    let want = json!({
        "this-server-name": this,
        "mode": "hot-standby",
        "state": heartbeat["arguments"]["state"],
        "partner-state": partner_state,
        "scopes": scopes(heartbeat),
    });
    for (key, value) in want.as_object().unwrap() {
        assert_eq!(&entry[key], value, "{this}: hamux-status high-availability {key}: {status}");
    }
    assert!(entry["unsent-update-count"].is_i64(), "{this}: hamux-status: {status}");
}

// ---------------------------------------------------------------- the servers' answers

/// Waits (up to 10 s) until the hook's client has nothing outstanding and checks that
/// none of its updates failed and no query was dropped (every query it answered was
/// acknowledged by the standby first). Returns its hamux statistics.
fn check_replicated(server: &Server, what: &str) -> BTreeMap<String, i64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = hamux_stats(server);
        let get = |name: &str| stats.get(name).copied().unwrap_or(-1);
        let settled = get("hamux-updates-sent") == get("hamux-updates-acked") + get("hamux-updates-failed");
        if settled || Instant::now() > deadline {
            assert!(get("hamux-updates-sent") > 0, "{what}: no update sent: {stats:?}\n{}", server.log());
            assert_eq!(get("hamux-updates-failed"), 0, "{what}: {stats:?}\n{}", server.log());
            assert_eq!(get("hamux-packets-dropped"), 0, "{what}: {stats:?}\n{}", server.log());
            assert!(settled, "{what}: updates still outstanding: {stats:?}");
            return stats;
        }
        sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------- a server's ACKs (DHCPv4)

/// The ACKs of a DHCPv4 run against one server, read from its [`AckLog`] and checked
/// against perfdhcp's count: at least as many as perfdhcp received, and not more than it
/// sent requests for.
fn acks_of(log: &AckLog, mark: u64, report: &PerfdhcpReport, what: &str) -> Vec<Ack> {
    let acks = log.acks(mark);
    let logged = acks.len() as u64;
    let received = report.lease_acks(V4);
    let (requests, _) = report.blocks.get("REQUEST-ACK").copied().unwrap_or_default();
    let (renewals, _) = report.blocks.get("REQUEST-ACK (renewal)").copied().unwrap_or_default();
    assert!(
        logged >= received && logged <= requests + renewals,
        "{what}: the log has {logged} ACKs, perfdhcp received {received} of {} requests:\n{}",
        requests + renewals,
        report.text
    );
    acks
}

/// Checks that every address of `acks` (answered by `by`) is a lease of its client in
/// `leases` (those of `at`).
fn check_acked_leases(acks: &[Ack], by: &str, leases: &BTreeMap<String, String>, at: &Server, name: &str) {
    let missing = missing_leases(acks, leases, "there");
    assert!(
        missing.is_empty(),
        "{} of {} addresses ACKed by the {by} are not leases of their clients on the {name} ({} leases), \
         first: {:#?}\n--- {name}\n{}",
        missing.len(),
        acks.len(),
        leases.len(),
        first(&missing, 20),
        at.log()
    );
}

// ---------------------------------------------------------------- tests

#[test]
fn v4_hot_standby_fails_over_to_the_standby_and_back() {
    fails_over_and_back(Family::V4);
}

#[test]
fn v6_hot_standby_fails_over_to_the_standby_and_back() {
    fails_over_and_back(Family::V6);
}

/// A primary and a standby in hot-standby under perfdhcp: the standby takes over when the
/// primary is SIGKILLed and gives the primary's role back when it returns (see the module
/// documentation).
fn fails_over_and_back(family: Family) {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run(family, &[hook_under_test()]) {
        return;
    }
    let began = Instant::now();
    let dir = TempDir::new("failover");
    let [primary_port, standby_port, primary_dhcp, standby_dhcp] = free_ports();
    let peers = peers(primary_port, standby_port);
    let (primary_log, standby_log) = (AckLog::new(dir.path(), "primary"), AckLog::new(dir.path(), "standby"));
    let v4 = family == V4;
    let primary_config = config(family, PRIMARY, &peers, true, v4.then_some(&primary_log));
    let standby_config = config(family, STANDBY, &peers, true, v4.then_some(&standby_log));
    let standby = Server::start(family, standby_config, &peers[1].1, Some(standby_dhcp));
    let primary = Server::start(family, primary_config.clone(), &peers[0].1, Some(primary_dhcp));

    // Both in hot-standby: the primary serves its own scope, the standby none.
    wait_for_hot_standby(("primary", &primary), ("standby", &standby), heartbeat);
    let up_at = began.elapsed();
    let client = Client::new(r#"{"connections-per-peer": 1, "request-timeout-ms": 10000}"#).unwrap();
    for (name, server, scope) in [("primary", &primary, json!([PRIMARY])), ("standby", &standby, json!([]))] {
        let answer = heartbeat_over_url(&client, server, name);
        assert_eq!(answer["arguments"]["state"], "hot-standby", "{name}: {answer}");
        assert_eq!(scopes(&answer), &scope, "{name}: {answer}");
    }
    if hamux_under_test() {
        check_status(&primary, PRIMARY, &heartbeat(&primary, "primary"), "hot-standby");
        check_status(&standby, STANDBY, &heartbeat(&standby, "standby"), "hot-standby");
    }

    // The primary serves, and every lease it answered is on the standby first.
    let mark = primary_log.mark();
    let report = load(family, primary_dhcp, 3, 1);
    check_served(&report, family, "primary", &primary);
    let mut summary = format!("{family:?}: both in hot-standby after {up_at:?}");
    if hamux_under_test() {
        let stats = check_replicated(&primary, "primary in hot-standby");
        summary += &format!("; primary {stats:?}");
    }
    let at_primary = check_converged(("primary", &primary), ("standby", &standby), &|| {
        format!("\n--- standby\n{}", standby.log())
    });
    let primary_acks = if v4 { acks_of(&primary_log, mark, &report, "primary") } else { Vec::new() };
    check_acked_leases(&primary_acks, "primary", &at_primary, &standby, "standby");
    summary += &format!(
        "; the primary answered {} (perfdhcp), {} leases on both",
        report.lease_acks(family),
        at_primary.len()
    );

    // The standby answers nothing while its primary is there, and allocates nothing.
    let report = load(family, standby_dhcp, 2, 2);
    check_running(&standby, "standby in hot-standby");
    check_unanswered(&report, "the standby in hot-standby", &|| standby.log());
    let now_at_standby = standby.leases();
    assert!(
        now_at_standby == at_primary,
        "the standby in hot-standby changed its leases: {}",
        lease_difference(&at_primary, &now_at_standby)
    );

    // The primary dies: the standby takes over its scope.
    let killed_primary_log = primary.kill();
    let killed = Instant::now();
    let standby_only = [("standby", &standby)];
    let answer = wait_for_state(&standby_only, "partner-down", heartbeat).remove(0);
    let down_after = killed.elapsed();
    assert_eq!(scopes(&answer), &json!([PRIMARY]), "the standby serves the primary's scope: {answer}");
    let mark = standby_log.mark();
    let report = load(family, standby_dhcp, 3, 3);
    check_served(&report, family, "standby in partner-down", &standby);
    let standby_acks = if v4 { acks_of(&standby_log, mark, &report, "standby") } else { Vec::new() };
    let in_partner_down = standby.leases();
    let lost = lacking(&at_primary, &in_partner_down);
    assert!(lost.is_empty(), "the standby lost leases in partner-down: {:?}", first(&lost, 20));
    assert!(
        in_partner_down.len() > at_primary.len(),
        "no new lease in partner-down: {} before, {} now",
        at_primary.len(),
        in_partner_down.len()
    );
    let answer = heartbeat(&standby, "standby");
    assert_eq!(answer["arguments"]["state"], "partner-down", "{answer}\n{}", standby.log());
    assert!(
        answer["arguments"]["unsent-update-count"].as_i64().is_some_and(|n| n > 0),
        "the standby counts the updates it could not send in partner-down: {answer}"
    );
    summary += &format!(
        "; partner-down {down_after:?} after the kill, the standby answered {} ({} leases)",
        report.lease_acks(family),
        in_partner_down.len()
    );

    // The primary returns with the same configuration and ports (and no leases): it syncs
    // the standby's leases and both are back in hot-standby.
    let restarted = Instant::now();
    let primary = Server::start(family, primary_config, &peers[0].1, Some(primary_dhcp));
    wait_for_hot_standby(("primary", &primary), ("standby", &standby), heartbeat);
    let back_after = restarted.elapsed();
    let logs = || {
        format!(
            "\n--- restarted primary\n{}\n--- standby\n{}\n--- killed primary\n{killed_primary_log}",
            primary.log(),
            standby.log()
        )
    };
    let at_primary = check_converged(("standby", &standby), ("primary after the sync", &primary), &logs);
    let unsynced = lacking(&in_partner_down, &at_primary);
    assert!(
        unsynced.is_empty(),
        "{} leases of the standby in partner-down are not on the restarted primary, first: {:?}{}",
        unsynced.len(),
        first(&unsynced, 20),
        logs()
    );
    let pages = sync_pages(&primary.log());
    let synced: u64 = pages.iter().sum();
    assert!(
        pages.len() >= 2
            && pages.iter().all(|&n| n <= SYNC_PAGE_LIMIT)
            && synced >= in_partner_down.len() as u64,
        "the restarted primary must have synced the standby's {} leases in pages of at most \
         {SYNC_PAGE_LIMIT}: pages {pages:?}{}",
        in_partner_down.len(),
        logs()
    );
    check_acked_leases(&standby_acks, "standby in partner-down", &at_primary, &primary, "restarted primary");
    check_acked_leases(&primary_acks, "primary before its kill", &at_primary, &primary, "restarted primary");
    summary += &format!(
        "; back in hot-standby {back_after:?} after the restart, {synced} leases synced in {} pages, {} \
         leases on both",
        pages.len(),
        at_primary.len()
    );

    // Back to normal: the primary serves and replicates, the standby answers nothing.
    let mark = primary_log.mark();
    let report = load(family, primary_dhcp, 2, 4);
    check_running(&primary, "restarted primary");
    assert!(
        report.lease_acks(family) > 0,
        "the restarted primary answered nothing:\n{}{}",
        report.text,
        logs()
    );
    if hamux_under_test() {
        check_replicated(&primary, "restarted primary in hot-standby");
    }
    let at_standby = check_converged(("restarted primary", &primary), ("standby", &standby), &logs);
    if v4 {
        let acks = acks_of(&primary_log, mark, &report, "restarted primary");
        check_acked_leases(&acks, "restarted primary", &at_standby, &standby, "standby");
    }
    let report = load(family, standby_dhcp, 2, 5);
    check_running(&standby, "standby back in hot-standby");
    check_unanswered(&report, "the standby back in hot-standby", &|| standby.log());
    println!("{summary}; {:?} in all", began.elapsed());
}

/// Hot-standby with a backup (`server3`): the backup is in `backup` and serves no
/// DHCP; every lease the primary answers reaches both the standby and the backup; with
/// the primary SIGKILLed the standby in `partner-down` serves and its leases reach the
/// backup too, as libdhcp_ha sends updates to the backups in every state that serves.
#[test]
fn v4_hot_standby_replicates_to_a_backup_also_in_partner_down() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run(V4, &[hook_under_test()]) {
        return;
    }
    const BACKUP: &str = "server3";
    let [primary_port, standby_port, backup_port, primary_dhcp, standby_dhcp] = free_ports();
    let mut peers = peers(primary_port, standby_port);
    peers.push((BACKUP, hook_url(backup_port), "backup"));
    let backup = Server::start(V4, config(V4, BACKUP, &peers, false, None), &peers[2].1, None);
    let standby = Server::start(V4, config(V4, STANDBY, &peers, true, None), &peers[1].1, Some(standby_dhcp));
    let primary = Server::start(V4, config(V4, PRIMARY, &peers, true, None), &peers[0].1, Some(primary_dhcp));
    wait_for_hot_standby(("primary", &primary), ("standby", &standby), heartbeat);
    let answer = heartbeat(&backup, "backup");
    assert_eq!(answer["arguments"]["state"], "backup", "the backup's state: {answer}\n{}", backup.log());
    let logs = || {
        format!(
            "\n--- primary\n{}\n--- standby\n{}\n--- backup\n{}",
            primary.log(),
            standby.log(),
            backup.log()
        )
    };

    check_served(&load(V4, primary_dhcp, 2, 0x31), V4, "primary", &primary);
    let by_primary = check_converged(("primary", &primary), ("standby", &standby), &logs);
    check_converged(("primary", &primary), ("backup", &backup), &logs);

    let killed_primary_log = primary.kill();
    wait_for_state(&[("standby", &standby)], "partner-down", heartbeat);
    let logs = || {
        format!(
            "\n--- standby\n{}\n--- backup\n{}\n--- killed primary\n{killed_primary_log}",
            standby.log(),
            backup.log()
        )
    };
    check_served(&load(V4, standby_dhcp, 2, 0x32), V4, "standby in partner-down", &standby);
    let at_backup = check_converged(("standby", &standby), ("backup", &backup), &logs);
    assert!(
        at_backup.len() > by_primary.len(),
        "the standby's leases in partner-down reach the backup: {} leases there, {} before the kill{}",
        at_backup.len(),
        by_primary.len(),
        logs()
    );
}

/// Sends one relayed DISCOVER to a server's DHCP port on loopback (answers not awaited),
/// from the client `chaddr`, trying for `secs` (perfdhcp cannot set it).
fn send_discover(dhcp_port: u16, xid: u32, chaddr: [u8; 6], secs: u16) {
    let mut discover = dhcp4::client_message(xid, chaddr, None);
    dhcp4::set_secs(&mut discover, secs);
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP socket on loopback");
    socket.send_to(&discover, ("127.0.0.1", dhcp_port)).expect("DISCOVER sent");
}

/// A DHCPv4 primary and standby (started, standby first), serving DHCP, `change` made to
/// both HA entries; and the standby's DHCP port.
fn v4_pair(change: &dyn Fn(&mut Value)) -> (Server, Server, u16) {
    let [primary_port, standby_port, primary_dhcp, standby_dhcp] = free_ports();
    let peers = peers(primary_port, standby_port);
    let start = |this: &str, own: &str, dhcp_port: u16| {
        let mut config = config(V4, this, &peers, true, None);
        change(ha_of(&mut config, V4));
        Server::start(V4, config, own, Some(dhcp_port))
    };
    let standby = start(STANDBY, &peers[1].1, standby_dhcp);
    (start(PRIMARY, &peers[0].1, primary_dhcp), standby, standby_dhcp)
}

/// The standby's own peer entry has `auto-failover: false`: once its primary is killed it
/// reaches partner-down, but serves no scope there, so it answers nothing.
#[test]
fn v4_standby_without_auto_failover_serves_nothing_in_partner_down() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run(V4, &[hook_under_test()]) {
        return;
    }
    let (primary, standby, standby_dhcp) = v4_pair(&|ha| ha["peers"][1]["auto-failover"] = json!(false));
    wait_for_state(&[("primary", &primary), ("standby", &standby)], "hot-standby", heartbeat);

    let killed_primary_log = primary.kill();
    let answer = wait_for_state(&[("standby", &standby)], "partner-down", heartbeat).remove(0);
    assert_eq!(
        scopes(&answer),
        &json!([]),
        "without auto-failover the standby serves no scope in partner-down: {answer}"
    );
    let report = load(V4, standby_dhcp, 2, 6);
    check_running(&standby, "standby in partner-down");
    check_unanswered(&report, "the standby without auto-failover in partner-down", &|| {
        format!("{}\n--- killed primary\n{killed_primary_log}", standby.log())
    });
    let leases = standby.leases();
    assert!(leases.is_empty(), "the standby allocated leases: {leases:?}");
    let answer = heartbeat(&standby, "standby");
    assert_eq!(answer["arguments"]["state"], "partner-down", "{answer}\n{}", standby.log());
}

/// A primary, then a standby, started alone, their partner never there (its port
/// unused): each leaves `waiting` for `partner-down` once communication counts as
/// interrupted (`max-response-delay` after start-up), serves the primary's scope there and
/// counts the updates it could not send.
#[test]
fn v4_a_server_whose_partner_never_answers_takes_over() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run(V4, &[hook_under_test()]) {
        return;
    }
    for (k, (this, name)) in [(PRIMARY, "primary"), (STANDBY, "standby")].into_iter().enumerate() {
        let [primary_port, standby_port, dhcp_port] = free_ports();
        let peers = peers(primary_port, standby_port);
        let own = &peers.iter().find(|(peer, _, _)| *peer == this).expect("this server").1;
        let server = Server::start(V4, config(V4, this, &peers, true, None), own, Some(dhcp_port));
        let answer = wait_for_state(&[(name, &server)], "partner-down", heartbeat).remove(0);
        assert_eq!(scopes(&answer), &json!([PRIMARY]), "the {name} alone: {answer}");
        let report = load(V4, dhcp_port, 2, 7 + k as u8);
        check_served(&report, V4, &format!("{name} alone in partner-down"), &server);
        let answer = heartbeat(&server, name);
        assert_eq!(answer["arguments"]["state"], "partner-down", "{answer}\n{}", server.log());
        assert!(
            answer["arguments"]["unsent-update-count"].as_i64().is_some_and(|n| n > 0),
            "the {name} alone counts the updates it could not send: {answer}"
        );
        println!("the {name} alone answered {} in partner-down", report.lease_acks(V4));
    }
}

/// `max-unacked-clients` 2: with the primary SIGKILLed the standby's heartbeats fail and,
/// once `max-response-delay` has passed, communication is interrupted, but the standby stays
/// in hot-standby until more than 2 distinct clients have tried for longer than
/// `max-ack-delay` (their `secs`): a client seen twice counts once, one whose `secs` is
/// under the delay is connecting but not unacked. The third unacked client moves it to
/// partner-down, serving the primary's scope. `status-get` shows the count as libdhcp_ha
/// does (`unacked-clients`, `unacked-clients-left`).
#[test]
fn v4_standby_waits_for_unacked_clients_before_partner_down() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run(V4, &[hook_under_test()]) {
        return;
    }
    let (primary, standby, standby_dhcp) = v4_pair(&|ha| ha["max-unacked-clients"] = json!(2));
    wait_for_hot_standby(("primary", &primary), ("standby", &standby), heartbeat);
    let _killed_primary_log = primary.kill();

    let remote = |what: &str| -> Value {
        let answer = standby.command("status-get", None);
        let remote = answer["arguments"]["high-availability"][0]["ha-servers"]["remote"].clone();
        assert!(remote.is_object(), "{what}: status-get has no ha-servers.remote: {answer}");
        remote
    };
    let wait_for = |what: &str, done: &dyn Fn(&Value) -> bool| -> Value {
        let deadline = Instant::now() + failover::STATE_TIMEOUT;
        loop {
            let now = remote(what);
            if done(&now) {
                return now;
            }
            assert!(Instant::now() < deadline, "{what}: last status-get remote {now}\n{}", standby.log());
            sleep(Duration::from_millis(100));
        }
    };
    let still_hot_standby = |what: &str| {
        let answer = heartbeat(&standby, "standby");
        assert_eq!(answer["arguments"]["state"], "hot-standby", "{what}: {answer}\n{}", standby.log());
    };
    wait_for("communication interrupted", &|r| r["communication-interrupted"] == true);
    // Several failed heartbeats (every 500 ms) with no client analysed: no failover.
    sleep(Duration::from_millis(1500));
    still_hot_standby("interrupted, no clients yet");

    let client = |n: u8| [0x02, 0x55, 0, 0, 0, n];
    send_discover(standby_dhcp, 0x5500_0001, client(1), 5);
    send_discover(standby_dhcp, 0x5500_0002, client(1), 6); // the same client
    send_discover(standby_dhcp, 0x5500_0003, client(2), 5);
    send_discover(standby_dhcp, 0x5500_0004, client(3), 0); // not waiting long
    let counted = wait_for("3 clients connecting", &|r| r["connecting-clients"] == 3);
    assert_eq!(counted["unacked-clients"], 2, "2 unacked clients: {counted}");
    assert_eq!(counted["unacked-clients-left"], 1, "1 more unacked client to partner-down: {counted}");
    sleep(Duration::from_millis(1500));
    still_hot_standby("2 unacked clients, max-unacked-clients 2");

    send_discover(standby_dhcp, 0x5500_0005, client(4), 5);
    let answer = wait_for_state(&[("standby", &standby)], "partner-down", heartbeat).remove(0);
    assert_eq!(scopes(&answer), &json!([PRIMARY]), "the standby serves the primary's scope: {answer}");
}

// ---------------------------------------------------------------- configuration errors

/// The configurations of the primary (of a primary and a standby) that Kea's HA refuses,
/// each with its words; every one must be refused at startup with an ERROR line saying
/// them. All are tried; the test fails listing those that were not.
#[test]
fn refuses_bad_hot_standby_configurations() {
    if !ready(V4, &[hook_under_test()]) {
        return;
    }
    let [primary_port, standby_port, third_port] = free_ports();
    let peers = peers(primary_port, standby_port);
    let third = hook_url(third_port);
    let add_peer = |ha: &mut Value, role: &str| {
        let peer = json!({"name": "server3", "url": third, "role": role});
        ha["peers"].as_array_mut().expect("peers").push(peer);
    };
    type Change<'a> = Box<dyn Fn(&mut Value) + 'a>;
    let cases: Vec<(&str, Change, Vec<&str>)> = vec![
        (
            "no standby",
            Box::new(|ha: &mut Value| ha["peers"][1]["role"] = json!("backup")),
            vec!["standby server required in the hot standby configuration"],
        ),
        (
            "a secondary",
            Box::new(|ha: &mut Value| add_peer(ha, "secondary")),
            vec!["secondary servers not allowed in the hot standby configuration"],
        ),
        (
            "no primary",
            Box::new(|ha: &mut Value| {
                ha["this-server-name"] = json!(STANDBY);
                ha["peers"][0]["role"] = json!("backup");
            }),
            vec!["primary server required in the hot standby configuration"],
        ),
        (
            "two primaries",
            Box::new(|ha: &mut Value| {
                ha["peers"][1]["role"] = json!("primary");
                add_peer(ha, "standby");
            }),
            vec!["multiple primary servers"],
        ),
        (
            "wait-backup-ack",
            Box::new(|ha: &mut Value| {
                ha["wait-backup-ack"] = json!(true);
                add_peer(ha, "backup");
            }),
            vec!["'wait-backup-ack' must be set to false in the hot standby configuration"],
        ),
        (
            "delayed-updates-limit",
            Box::new(|ha: &mut Value| ha["delayed-updates-limit"] = json!(5)),
            vec!["'delayed-updates-limit' must be set to 0 in the hot standby configuration"],
        ),
        (
            "heartbeat-delay over 16 bits",
            Box::new(|ha: &mut Value| ha["heartbeat-delay"] = json!(70000)),
            vec!["'heartbeat-delay' must not be greater than 65535"],
        ),
        (
            "negative max-response-delay",
            Box::new(|ha: &mut Value| ha["max-response-delay"] = json!(-1)),
            vec!["'max-response-delay' must not be negative"],
        ),
    ];
    let configs: Vec<(&str, Value, Vec<&str>)> = cases
        .iter()
        .map(|(name, change, says)| {
            let mut config = config(V4, PRIMARY, &peers, false, None);
            change(ha_of(&mut config, V4));
            (*name, config, says.clone())
        })
        .collect();
    check_each_refused(&configs);
}
