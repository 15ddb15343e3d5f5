//! Faults around hamux's Kea hook (`libdhcp_hamux.so`) in real kea-dhcp4 2.2 servers under
//! perfdhcp load, with `wait-backup-ack`:
//!
//! - the backup is SIGKILLed mid-run and restarted on its port with its lease file;
//! - both servers are reconfigured mid-run (`config-reload` to the backup, `config-set`
//!   and SIGHUP to the primary);
//! - the backup is not there at all (with and without `wait-backup-ack`);
//! - a critical section starts while a partner's lease update is inside Kea (held there
//!   by a test hook): it waits for it;
//! - a configuration the hook cannot start with is refused at runtime: nothing of it is
//!   left half-started;
//! - Kea refuses a `config-set` under load (removing the hook's critical-section
//!   callbacks) and `libreload` (no `dhcp4_srv_configured`): the hook is neither left
//!   paused nor unstarted;
//! - Kea refuses to park a query: it is dropped, not answered unreplicated;
//! - a partner's `status-get` is answered while a lease update is held inside Kea.
//!
//! The key invariant: every address the primary ACKed to a client is a lease of that
//! client on the backup. Which addresses were ACKed comes from the primary's own log:
//! Kea 2.2 does not print yiaddr in any packet message (`DHCP4_RESPONSE_DATA`'s "packet
//! details" are addresses, ports, type, transid and options), so an ACK is the
//! `DHCP4_PACKET_SEND ... DHCPACK` line of `kea-dhcp4.packets` (debuglevel 50) and its
//! address the `DHCP4_LEASE_ALLOC` line (INFO, `kea-dhcp4.leases`) of the same query
//! label (hardware address, client id, transaction id).
//!
//! `HAMUX_KEA_HOOK_STANDIN=1` runs them with Kea's `libdhcp_ha.so` (hamux-only checks left
//! out). Needs Kea, kea-dev and root (for 127.0.0.2 on lo); run with `--test-threads=1`.

mod support;

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};
use support::ack_log::{missing_leases, Ack, AckLog};
use support::kea;
use support::kea_hook::{
    call, dhcp_body, first, free_ports, ha_entry, hamux_stats, hamux_under_test, hook_under_test, hook_url,
    perfdhcp_with, ready, relay_address_ready, server_config, test_hook, Family, PerfdhcpReport,
    PerfdhcpTurn, Server, TempDir,
};

const V4: Family = Family::V4;

/// What the test needs; false (and why) where it cannot run.
fn can_run() -> bool {
    ready(V4, &[hook_under_test()]) && relay_address_ready()
}

/// A kea-dhcp4 configuration for `this` among `peers` with the hook under test (and
/// lease_cmds): serving perfdhcp if `dhcp`; leases in memory, or persisted to
/// `lease_file` (`lfc-interval` 0, so the file only grows and a restart reloads it);
/// with `acks`, the primary's ACKs and allocations logged there. The hook logs at INFO
/// into the server's log (listener started, configured, update failures).
fn config(
    this: &str,
    peers: &[(&str, String, &str)],
    dhcp: bool,
    wait_backup_ack: bool,
    lease_file: Option<&Path>,
    acks: Option<&AckLog>,
) -> Value {
    let entry = ha_entry(
        hook_under_test(),
        this,
        "passive-backup",
        peers,
        json!({"wait-backup-ack": wait_backup_ack}),
    );
    let mut config = server_config(V4, vec![kea::lease_cmds_hook(), entry], dhcp_body(V4, dhcp));
    let server = &mut config[V4.key()];
    if let Some(file) = lease_file {
        server["lease-database"] =
            json!({"type": "memfile", "persist": true, "name": file, "lfc-interval": 0});
    }
    let loggers = server["loggers"].as_array_mut().expect("kea::server's loggers");
    loggers.push(json!({"name": "kea-dhcp4.hamux-hooks", "output_options": [{"output": "stdout"}],
                        "severity": "INFO"}));
    if let Some(acks) = acks {
        loggers.extend(acks.loggers());
    }
    config
}

// ---------------------------------------------------------------- the primary's ACKs

/// Checks that the log holds the ACKs perfdhcp counted: at least as many (every ACK
/// perfdhcp received was sent, and logged), and not many more (only those perfdhcp
/// stopped waiting for: sent after its end, or later than its drop time). Returns the
/// counts for messages.
fn check_ack_count(acks: &[Ack], report: &PerfdhcpReport) -> String {
    let logged = acks.len() as u64;
    let received = report.lease_acks(V4);
    let (requests_sent, _) = report.blocks.get("REQUEST-ACK").copied().unwrap_or_default();
    let (renewals_sent, _) = report.blocks.get("REQUEST-ACK (renewal)").copied().unwrap_or_default();
    let unanswered = requests_sent + renewals_sent - received;
    assert!(received > 0, "perfdhcp got no ACK:\n{}", report.text);
    assert!(
        logged >= received && logged <= received + unanswered,
        "the primary's log has {logged} ACKs, perfdhcp received {received} (and got no answer to \
         {unanswered}):\n{}",
        report.text
    );
    format!("{logged} ACKs logged, {received} received by perfdhcp ({unanswered} unanswered)")
}

// ---------------------------------------------------------------- helpers

/// perfdhcp's DORA with renewals and no releases (every ACKed address stays a lease) for
/// `seconds` at `rate` new clients/s, out of 100,000 hardware addresses.
fn dora_load(dhcp_port: u16, rate: u32, seconds: u32) -> std::thread::JoinHandle<PerfdhcpReport> {
    let (rate, renew, seconds) = (rate.to_string(), (rate / 10).to_string(), seconds.to_string());
    std::thread::spawn(move || {
        perfdhcp_with(V4, dhcp_port, &["-r", &rate, "-R", "100000", "-f", &renew, "-p", &seconds])
    })
}

fn stat(stats: &BTreeMap<String, i64>, name: &str) -> i64 {
    *stats.get(name).unwrap_or_else(|| panic!("no statistic {name} among {stats:?}"))
}

/// Waits (up to 10 s) until the primary's hook has no update outstanding and no query
/// parked: sent = acked + failed and parked = unparked + dropped. Returns its hamux
/// statistics (settled or not: the caller asserts).
fn settled(primary: &Server) -> BTreeMap<String, i64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = hamux_stats(primary);
        let get = |k: &str| stats.get(k).copied().unwrap_or(-1);
        let done = get("hamux-updates-sent") == get("hamux-updates-acked") + get("hamux-updates-failed")
            && get("hamux-packets-parked") == get("hamux-packets-unparked") + get("hamux-packets-dropped");
        if done || Instant::now() > deadline {
            return stats;
        }
        sleep(Duration::from_millis(100));
    }
}

/// Checks that nothing stayed parked on the primary: every parked query was unparked or
/// dropped.
fn check_nothing_parked(stats: &BTreeMap<String, i64>, logs: &dyn Fn() -> String) {
    let (parked, unparked, dropped) = (
        stat(stats, "hamux-packets-parked"),
        stat(stats, "hamux-packets-unparked"),
        stat(stats, "hamux-packets-dropped"),
    );
    assert!(parked > 0, "nothing was parked: {stats:?}");
    assert_eq!(
        parked,
        unparked + dropped,
        "queries parked forever: {parked} parked, {unparked} unparked, {dropped} dropped: {stats:?}\n{}",
        logs()
    );
}

/// Checks that the server's process is the one started (pid) and still runs, and that it
/// answers on its control socket.
fn check_alive(server: &Server, pid: u32, what: &str) {
    assert!(server.running(), "the {what} died:\n{}", server.log());
    assert_eq!(server.pid(), pid, "the {what} was restarted:\n{}", server.log());
    let status = server.command("status-get", None);
    assert_eq!(status["result"], 0, "{what}: status-get: {status}");
    assert_eq!(status["arguments"]["pid"], pid, "{what}: status-get: {status}");
}

/// `hamux-status` answers and shows the listener back on the server's own port.
fn check_listener(server: &Server, what: &str) -> Value {
    let status = server.command("hamux-status", None);
    assert_eq!(status["result"], 0, "{what}: hamux-status: {status}\n{}", server.log());
    assert_eq!(status["arguments"]["listener"]["port"], server.port, "{what}: hamux-status: {status}");
    status
}

/// How many times the hook's listener started in the server's life (once per load).
fn listener_starts(server: &Server) -> usize {
    server.log().matches("HAMUX_LISTENER_STARTED").count()
}

/// Waits (up to 5 s) until `f` holds; whether it did.
fn wait_for(mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        if Instant::now() > deadline {
            return false;
        }
        sleep(Duration::from_millis(50));
    }
    true
}

/// What a server looks like after a reconfiguration failed: its hook's parking
/// counters against Kea's ACKs sent (an unparked query whose ACK Kea never sent shows as
/// unparked > pkt4-ack-sent), what hooks it still has, and its error lines.
fn reload_diagnosis(server: &Server) -> String {
    let stats = server.stats();
    let get = |k: &str| stats.get(k).copied().unwrap_or(0);
    let hooks = server.command("hamux-status", None)["result"].clone();
    let log = server.log();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ") || l.contains(" FATAL ")).collect();
    format!(
        "hamux-packets-parked={} unparked={} dropped={}, pkt4-ack-sent={}, pkt4-received={}; hamux-status \
         result {hooks}; error lines:\n{}",
        get("hamux-packets-parked"),
        get("hamux-packets-unparked"),
        get("hamux-packets-dropped"),
        get("pkt4-ack-sent"),
        get("pkt4-received"),
        errors.join("\n")
    )
}

/// Waits (up to 10 s) until the backup holds every lease of `acks` (it applies each
/// before the primary ACKs, so at once in practice); returns what it lacks then.
fn converged(acks: &[Ack], backup: &Server) -> (BTreeMap<String, String>, Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let leases = backup.leases();
        let missing = missing_leases(acks, &leases, "at the backup");
        if missing.is_empty() || Instant::now() > deadline {
            return (leases, missing);
        }
        sleep(Duration::from_millis(200));
    }
}

/// The non-zero statistics of `stats`, without their "hamux-" prefix, for messages.
fn brief(stats: &BTreeMap<String, i64>) -> String {
    let parts: Vec<String> = stats
        .iter()
        .filter(|(_, v)| **v != 0)
        .map(|(k, v)| format!("{}={v}", k.trim_start_matches("hamux-")))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// The hook's failed updates in a server's log, per reason: how many, and the first line.
fn failures(log: &str) -> BTreeMap<String, (usize, String)> {
    let mut failures: BTreeMap<String, (usize, String)> = BTreeMap::new();
    // "<label>: <command> to <peer> failed (<reason>): <detail>"
    for line in log.lines().filter(|l| l.contains("HAMUX_LEASE_UPDATE_FAILED")) {
        let reason = line
            .split_once(" failed (")
            .and_then(|(_, rest)| rest.split_once(')'))
            .map_or("?", |(reason, _)| reason);
        let entry = failures.entry(reason.to_string()).or_insert((0, line.to_string()));
        entry.0 += 1;
    }
    failures
}

// ---------------------------------------------------------------- tests

/// The backup is SIGKILLed 2 s into 6 s of DORA (renewals, no releases) at 300 clients/s
/// and restarted 1.5 s later on its port with its lease file. The primary must survive,
/// feel the kill (failed updates, dropped queries), park nothing forever, replicate to
/// the restarted backup, and every address it ACKed must be a lease on it.
#[test]
fn backup_killed_under_load_and_restarted() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run() {
        return;
    }
    let began = Instant::now();
    let dir = TempDir::new("faults-kill");
    let ack_log = AckLog::new(dir.path(), "primary");
    let [primary_port, backup_port, dhcp_port] = free_ports();
    let peers =
        [("server1", hook_url(primary_port), "primary"), ("server2", hook_url(backup_port), "backup")];
    let lease_file = dir.path().join("leases4.csv");
    let backup_config = config("server2", &peers, false, true, Some(&lease_file), None);
    let backup = Server::start(V4, backup_config.clone(), &peers[1].1, None);
    let primary = Server::start(
        V4,
        config("server1", &peers, true, true, None, Some(&ack_log)),
        &peers[0].1,
        Some(dhcp_port),
    );
    primary.wait_until_serving();
    let primary_pid = primary.pid();

    let started = Instant::now();
    let load = dora_load(dhcp_port, 300, 6);
    sleep(Duration::from_secs(2));
    let at_kill = ack_log.mark();
    let killed_log = backup.kill();
    let killed_at = started.elapsed();
    sleep(Duration::from_millis(1500));
    let backup = Server::start(V4, backup_config, &peers[1].1, None);
    let restarted_at = started.elapsed();
    let report = load.join().expect("perfdhcp");

    let logs = || {
        format!(
            "\n--- primary\n{}\n--- killed backup\n{killed_log}\n--- restarted backup\n{}\n--- perfdhcp\n{}",
            primary.log(),
            backup.log(),
            report.text
        )
    };
    check_alive(&primary, primary_pid, "primary");

    let acks = ack_log.acks(0);
    let counts = check_ack_count(&acks, &report);
    let before_kill = ack_log.acks(at_kill).len();
    let before_kill = acks.len() - before_kill;
    assert!(before_kill > 100, "only {before_kill} ACKs before the kill: {counts}");
    let (leases, missing) = converged(&acks, &backup);
    assert!(
        missing.is_empty(),
        "{} of {} ACKed addresses are not leases of their clients on the restarted backup ({} leases), \
         first: {:#?}{}",
        missing.len(),
        acks.len(),
        leases.len(),
        first(&missing, 20),
        logs()
    );
    let mut summary = format!(
        "killed at {killed_at:?}, restarted at {restarted_at:?}: {counts}, {before_kill} before the kill; \
         all {} ACKed addresses are leases on the restarted backup ({} leases)",
        acks.len(),
        leases.len()
    );

    if hamux_under_test() {
        let stats = settled(&primary);
        assert!(stat(&stats, "hamux-updates-failed") > 0, "the kill was not felt: {stats:?}{}", logs());
        assert!(stat(&stats, "hamux-packets-dropped") > 0, "the kill was not felt: {stats:?}{}", logs());
        check_nothing_parked(&stats, &logs);
        // Every unparked query was answered, and every ACK was a query unparked once the
        // backup acknowledged its lease.
        assert_eq!(
            stat(&stats, "hamux-packets-unparked"),
            acks.len() as i64,
            "unparked queries vs ACKs sent: {stats:?}{}",
            logs()
        );
        let backup_stats = hamux_stats(&backup);
        assert!(
            stat(&backup_stats, "hamux-updates-applied") > 0,
            "replication did not resume: {backup_stats:?}{}",
            logs()
        );
        check_listener(&backup, "restarted backup");
        summary += &format!(
            "; primary {}; restarted backup {}; the primary's failed updates: {:#?}",
            brief(&stats),
            brief(&backup_stats),
            failures(&primary.log())
        );
    }
    println!("{summary}\n({:?} from the perfdhcp turn)", began.elapsed());
}

/// During 6 s of DORA at 300 clients/s: `config-reload` to the backup, `config-set` (the
/// same configuration) to the primary, then SIGHUP to the primary. Both must answer 0 and stay
/// up with their listeners back, the primary must park nothing forever, every address it
/// ACKed must be a lease on the backup, and the ACKs after the last reload too.
#[test]
fn reconfiguration_under_load() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run() {
        return;
    }
    let began = Instant::now();
    let dir = TempDir::new("faults-reconfigure");
    let ack_log = AckLog::new(dir.path(), "primary");
    let [primary_port, backup_port, dhcp_port] = free_ports();
    let peers =
        [("server1", hook_url(primary_port), "primary"), ("server2", hook_url(backup_port), "backup")];
    let backup_leases = dir.path().join("leases4.csv");
    let primary_leases = dir.path().join("primary-leases4.csv");
    let backup = Server::start(
        V4,
        config("server2", &peers, false, true, Some(&backup_leases), None),
        &peers[1].1,
        None,
    );
    let primary = Server::start(
        V4,
        config("server1", &peers, true, true, Some(&primary_leases), Some(&ack_log)),
        &peers[0].1,
        Some(dhcp_port),
    );
    primary.wait_until_serving();
    let (primary_pid, backup_pid) = (primary.pid(), backup.pid());
    let hook_loads = |s: &Server| if hamux_under_test() { listener_starts(s) } else { 0 };
    let (primary_loads, backup_loads) = (hook_loads(&primary), hook_loads(&backup));

    let started = Instant::now();
    let load = dora_load(dhcp_port, 300, 6);
    let mut timeline = Vec::new();
    let at = |t: u64| sleep(Duration::from_millis(t).saturating_sub(started.elapsed()));

    at(1500);
    let answer = backup.command("config-reload", None);
    timeline.push(format!("{:?} backup config-reload: {answer}", started.elapsed()));
    assert_eq!(answer["result"], 0, "backup config-reload: {answer}\n{}", backup.log());

    at(3000);
    let stats_before_set = if hamux_under_test() { hamux_stats(&primary) } else { BTreeMap::new() };
    let answer = primary.command("config-set", Some(primary.config()));
    timeline.push(format!("{:?} primary config-set: {answer}", started.elapsed()));
    assert_eq!(
        answer["result"],
        0,
        "primary config-set: {answer}\n{}\n{}\n--- primary\n{}",
        timeline.join("\n"),
        reload_diagnosis(&primary),
        primary.log()
    );
    let stats_after_set = if hamux_under_test() { hamux_stats(&primary) } else { BTreeMap::new() };

    at(4200);
    primary.signal(libc::SIGHUP);
    // Kea answers a SIGHUP with nothing: the reload is done when the hook has started its
    // listener again (Kea's HA: give it half a second).
    let reloaded = if hamux_under_test() {
        wait_for(|| listener_starts(&primary) == primary_loads + 2)
    } else {
        sleep(Duration::from_millis(500));
        true
    };
    timeline.push(format!("{:?} primary reloaded after SIGHUP: {reloaded}", started.elapsed()));
    assert!(
        reloaded,
        "the primary's hook did not start again after SIGHUP:\n{}\n{}\n--- primary\n{}",
        timeline.join("\n"),
        reload_diagnosis(&primary),
        primary.log()
    );
    // Queries parked before the reload are answered or dropped by now; the ACKs from
    // here on were replicated after the last reload.
    sleep(Duration::from_millis(200));
    let after_reloads = ack_log.mark();
    let report = load.join().expect("perfdhcp");

    let logs = || {
        format!(
            "\n{}\n--- primary\n{}\n--- backup\n{}\n--- perfdhcp\n{}",
            timeline.join("\n"),
            primary.log(),
            backup.log(),
            report.text
        )
    };
    check_alive(&primary, primary_pid, "primary");
    check_alive(&backup, backup_pid, "backup");
    for (server, what) in [(&primary, "primary"), (&backup, "backup")] {
        let status = server.command("status-get", None);
        assert!(
            status["arguments"]["reload"].as_i64().is_some_and(|r| r < 10),
            "the {what} did not reload: {status}{}",
            logs()
        );
    }

    let acks = ack_log.acks(0);
    let counts = check_ack_count(&acks, &report);
    let late = ack_log.acks(after_reloads);
    assert!(late.len() > 100, "only {} ACKs after the last reload: {counts}{}", late.len(), logs());
    let (leases, missing) = converged(&acks, &backup);
    let missing_late = missing_leases(&late, &leases, "at the backup");
    assert!(
        missing_late.is_empty(),
        "{} of the {} addresses ACKed after the last reload are not leases of their clients on the \
         backup, first: {:#?}{}",
        missing_late.len(),
        late.len(),
        first(&missing_late, 20),
        logs()
    );
    assert!(
        missing.is_empty(),
        "{} of {} ACKed addresses are not leases of their clients on the backup ({} leases), \
         first: {:#?}{}",
        missing.len(),
        acks.len(),
        leases.len(),
        first(&missing, 20),
        logs()
    );
    let mut summary = format!(
        "{}\n{counts}; all {} ACKed addresses ({} after the last reload) are leases on the backup ({} leases)",
        timeline.join("\n"),
        acks.len(),
        late.len(),
        leases.len()
    );

    if hamux_under_test() {
        // Each reconfiguration unloaded and loaded the hook: one listener start more each.
        assert_eq!(listener_starts(&primary), primary_loads + 2, "{}", logs());
        assert_eq!(listener_starts(&backup), backup_loads + 1, "{}", logs());
        check_listener(&primary, "primary");
        check_listener(&backup, "backup");
        let stats = settled(&primary);
        check_nothing_parked(&stats, &logs);
        // Every ACK was a query unparked once the backup acknowledged its lease (a query
        // unparked while Kea reconfigures may be dropped by Kea: not more ACKs).
        assert!(
            acks.len() as i64 <= stat(&stats, "hamux-packets-unparked"),
            "more ACKs ({}) than unparked queries: {stats:?}{}",
            acks.len(),
            logs()
        );
        // Kea keeps its statistics across a reconfiguration, the hook's too: they count
        // from the server's start, not from the last load.
        let parked = |s: &BTreeMap<String, i64>| s.get("hamux-packets-parked").copied().unwrap_or(0);
        assert!(
            parked(&stats_after_set) >= parked(&stats_before_set) && parked(&stats_before_set) > 0,
            "the primary's statistics across config-set: before {stats_before_set:?}, after \
             {stats_after_set:?}"
        );
        assert!(stat(&hamux_stats(&backup), "hamux-updates-applied") > 0);
        summary += &format!(
            "; primary before config-set {}, just after {}, at the end {}; backup {}; the primary's failed \
             updates: {:#?}",
            brief(&stats_before_set),
            brief(&stats_after_set),
            brief(&stats),
            brief(&hamux_stats(&backup)),
            failures(&primary.log())
        );
    }
    println!("{summary}\n({:?} from the perfdhcp turn)", began.elapsed());
}

/// The backup's URL is a closed port. With `wait-backup-ack` the primary drops every
/// query with a lease (no ACK), counting connect failures and drops; after `config-set`
/// with `wait-backup-ack: false` it ACKs the clients while the updates still fail and
/// are counted.
#[test]
fn backup_unreachable_drops_instead_of_acking() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run() || !hamux_under_test() {
        return;
    }
    let began = Instant::now();
    let [primary_port, closed_port, dhcp_port] = free_ports();
    let peers =
        [("server1", hook_url(primary_port), "primary"), ("server2", hook_url(closed_port), "backup")];
    let primary =
        Server::start(V4, config("server1", &peers, true, true, None, None), &peers[0].1, Some(dhcp_port));
    primary.wait_until_serving();
    let run = || perfdhcp_with(V4, dhcp_port, &["-r", "100", "-R", "100000", "-p", "2"]);

    let report = run();
    let stats = settled(&primary);
    let logs = |stats: &BTreeMap<String, i64>, report: &PerfdhcpReport| {
        format!("{stats:?}\n--- primary\n{}\n--- perfdhcp\n{}", primary.log(), report.text)
    };
    let (requests, acked) = report.blocks.get("REQUEST-ACK").copied().unwrap_or_default();
    assert!(requests > 50, "perfdhcp sent {requests} REQUESTs: {}", logs(&stats, &report));
    assert_eq!(acked, 0, "ACKs without the backup's acknowledgement: {}", logs(&stats, &report));
    assert!(stat(&stats, "hamux-updates-failed-connect") > 0, "{}", logs(&stats, &report));
    assert_eq!(stat(&stats, "hamux-updates-acked"), 0, "{}", logs(&stats, &report));
    assert_eq!(stat(&stats, "hamux-packets-unparked"), 0, "{}", logs(&stats, &report));
    assert!(stat(&stats, "hamux-packets-dropped") >= requests as i64, "{}", logs(&stats, &report));
    check_nothing_parked(&stats, &|| logs(&stats, &report));
    println!("wait-backup-ack true: {requests} REQUESTs, none ACKed; {}", brief(&stats));

    let mut without_wait = primary.config();
    without_wait["Dhcp4"]["hooks-libraries"][1]["parameters"]["high-availability"][0]["wait-backup-ack"] =
        json!(false);
    let answer = primary.command("config-set", Some(without_wait));
    assert_eq!(answer["result"], 0, "config-set: {answer}\n{}", primary.log());
    let report = run();
    let after = settled(&primary);
    let delta = |k: &str| stat(&after, k) - stat(&stats, k);
    let lease_acks = report.lease_acks(V4) as i64;
    let (requests, _) = report.blocks.get("REQUEST-ACK").copied().unwrap_or_default();
    assert!(
        lease_acks as u64 >= requests * 9 / 10,
        "without wait-backup-ack {lease_acks} of {requests} REQUESTs ACKed: {}",
        logs(&after, &report)
    );
    assert!(delta("hamux-updates-failed") >= lease_acks, "{}", logs(&after, &report));
    assert!(delta("hamux-updates-failed-connect") > 0, "{}", logs(&after, &report));
    assert_eq!(
        delta("hamux-packets-parked"),
        0,
        "nothing parks without wait-backup-ack: {}",
        logs(&after, &report)
    );
    assert_eq!(delta("hamux-updates-acked"), 0, "{}", logs(&after, &report));
    println!(
        "wait-backup-ack false: {lease_acks} of {requests} REQUESTs ACKed; {}\n({:?} from the perfdhcp turn)",
        brief(&after),
        began.elapsed()
    );
}

/// A hook backup holding a partner's `lease4-update` of 10.1.0.`octet` inside Kea for
/// `delay_ms`: a test hook listed before lease_cmds sleeps in it, noting "begin" and
/// "end" in its log. Started once the update has reached the test hook. The backup has
/// handler threads (`handler-threads: 2`, what a database lease backend gets): on
/// memfile's default, inline, a lease command held for seconds inside Kea (which only
/// another hook can make it) holds the IO thread that read it and its connections.
struct HeldUpdate {
    _dir: TempDir,
    log: PathBuf,
    backup: Server,
    url: String,
    update: Option<std::thread::JoinHandle<Value>>,
}

impl HeldUpdate {
    fn start(name: &str, delay_ms: u64, octet: u8) -> HeldUpdate {
        let dir = TempDir::new(name);
        let log = dir.path().join("slow.log");
        let [primary_port, backup_port] = free_ports();
        let peers =
            [("server1", hook_url(primary_port), "primary"), ("server2", hook_url(backup_port), "backup")];
        let mut backup_config = config("server2", &peers, false, false, None, None);
        if hamux_under_test() {
            backup_config[V4.key()]["hooks-libraries"][1]["parameters"]["high-availability"][0]["hamux"]
                ["handler-threads"] = json!(2);
        }
        let slow = json!({"library": test_hook(), "parameters": {"log": log, "delay-ms": delay_ms}});
        backup_config[V4.key()]["hooks-libraries"].as_array_mut().unwrap().insert(0, slow);
        let backup = Server::start(V4, backup_config, &peers[1].1, None);
        let target = peers[1].1.clone();
        let update = std::thread::spawn(move || {
            let command = json!({"command": "lease4-update", "service": ["dhcp4"], "arguments": {
                "ip-address": format!("10.1.0.{octet}"), "hw-address": format!("1a:1b:1c:1d:1e:{octet:02x}"),
                "subnet-id": 1, "valid-lft": 3600, "force-create": true, "origin": "ha-partner"}});
            call(&patient_client(), &target, &command)
        });
        let held = HeldUpdate { _dir: dir, log, backup, url: peers[1].1.clone(), update: Some(update) };
        assert!(
            wait_for(|| held.notes().contains("begin")),
            "the update did not reach the slow hook:\n{}",
            held.backup.log()
        );
        held
    }

    /// What the test hook noted so far.
    fn notes(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The update's answer, once it has one.
    fn answer(&mut self) -> Value {
        self.update.take().expect("answered once").join().expect("the update's thread")
    }
}

/// A client of one connection that waits a minute for an answer.
fn patient_client() -> hamux::client::Client {
    hamux::client::Client::new(r#"{"connections-per-peer": 1, "request-timeout-ms": 60000}"#).unwrap()
}

/// A critical section waits for a partner's lease command being applied, however long it
/// takes, as Kea's thread pool waits for its packet threads: a lease4-update is held
/// inside Kea's command handling for 12 s (a test hook listed before lease_cmds sleeps in
/// it), and `lease4-wipe` (lease_cmds runs it in a critical section) is sent meanwhile.
/// The wipe must come after the update: no lease is left. (The hook used to give up
/// waiting after 10 s, so the wipe ran first and the update's lease stayed.)
#[test]
fn critical_section_waits_for_a_lease_command_being_applied() {
    if !ready(V4, &[hook_under_test()]) {
        return;
    }
    let mut held = HeldUpdate::start("faults-slow-command", 12000, 5);
    let wipe = held.backup.command("lease4-wipe", Some(json!({"subnet-id": 1})));
    let answer = held.answer();
    let (backup, notes) = (&held.backup, || held.notes());
    assert_eq!(answer[0]["result"], 0, "lease4-update: {answer}\n{}", backup.log());
    let leases = backup.leases();
    assert!(
        leases.is_empty(),
        "lease4-wipe ({wipe}) ran while the lease4-update was inside Kea: {leases:?} left; slow hook: {:?}\n{}",
        notes(),
        backup.log()
    );
    assert!(backup.running(), "{}", backup.log());
    println!("lease4-update {answer}, then lease4-wipe {wipe}; slow hook: {:?}", notes());
}

/// A configuration the hook cannot start with (its own port is taken) is refused by Kea
/// at runtime (`config-set` answers an error; Kea 2.2 keeps the new libraries loaded),
/// and nothing of the hook is left half-started: with `wait-backup-ack` no query with a
/// lease is answered (none can be replicated: they are dropped and counted), no update
/// is sent, `hamux-status` says why. A good `config-set` then starts it again and it
/// replicates. (The hook used to keep the sender it had made before the listener
/// failed: it sent updates for a configuration Kea had refused and parked their queries
/// for good.) The primary is single-threaded: a config-set that fails after Kea 2.2
/// parsed `multi-threading` leaves a multi-threaded Kea with no packet thread at all.
#[test]
fn refused_configuration_leaves_nothing_half_started() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run() || !hamux_under_test() {
        return;
    }
    let [primary_port, backup_port, dhcp_port, taken_port] = free_ports();
    let peers =
        [("server1", hook_url(primary_port), "primary"), ("server2", hook_url(backup_port), "backup")];
    let backup = Server::start(V4, config("server2", &peers, false, true, None, None), &peers[1].1, None);
    let mut primary_config = config("server1", &peers, true, true, None, None);
    primary_config[V4.key()]["multi-threading"] = json!({"enable-multi-threading": false});
    let primary = Server::start(V4, primary_config, &peers[0].1, Some(dhcp_port));
    primary.wait_until_serving();
    let run = || perfdhcp_with(V4, dhcp_port, &["-r", "50", "-R", "100000", "-p", "2"]);
    let logs = |report: &PerfdhcpReport| {
        format!("{}\n--- primary\n{}\n--- backup\n{}", report.text, primary.log(), backup.log())
    };
    let report = run();
    assert!(report.lease_acks(V4) > 0, "no ACK to begin with: {}", logs(&report));

    let taken = std::net::TcpListener::bind(("127.0.0.1", taken_port)).unwrap();
    let mut bad = primary.config();
    bad[V4.key()]["hooks-libraries"][1]["parameters"]["high-availability"][0]["peers"][0]["url"] =
        json!(hook_url(taken_port));
    let answer = primary.command("config-set", Some(bad));
    assert_ne!(answer["result"], 0, "config-set with a taken port: {answer}\n{}", primary.log());
    let before = hamux_stats(&primary);
    let report = run();
    let after = settled(&primary);
    let delta = |k: &str| stat(&after, k) - stat(&before, k);
    let (requests, acked) = report.blocks.get("REQUEST-ACK").copied().unwrap_or_default();
    assert!(requests > 20, "perfdhcp sent {requests} REQUESTs: {}", logs(&report));
    assert_eq!(acked, 0, "ACKs from a refused configuration: {after:?}\n{}", logs(&report));
    assert_eq!(delta("hamux-updates-sent"), 0, "updates from a refused configuration: {after:?}");
    assert!(delta("hamux-packets-dropped") >= requests as i64, "{before:?} -> {after:?}\n{}", logs(&report));
    let status = primary.command("hamux-status", None);
    assert_eq!(status["result"], 1, "{status}");
    assert!(status["text"].as_str().is_some_and(|t| t.contains("not started")), "{status}");
    println!("refused: {answer}; {requests} REQUESTs, none ACKed; hamux-status: {status}");

    drop(taken);
    let answer = primary.command("config-set", Some(primary.config()));
    assert_eq!(answer["result"], 0, "config-set back: {answer}\n{}", primary.log());
    let report = run();
    let acks = report.lease_acks(V4);
    assert!(acks > 20, "{acks} ACKs after the good config-set: {}", logs(&report));
    check_listener(&primary, "primary");
    let stats = settled(&primary);
    let since = |k: &str| stat(&stats, k) - stat(&after, k);
    assert!(since("hamux-packets-parked") >= acks as i64, "{after:?} -> {stats:?}");
    assert_eq!(
        since("hamux-packets-parked"),
        since("hamux-packets-unparked") + since("hamux-packets-dropped"),
        "queries parked forever: {after:?} -> {stats:?}\n{}",
        logs(&report)
    );
    assert!(since("hamux-updates-acked") >= acks as i64, "{after:?} -> {stats:?}");
    println!("after the good config-set: {acks} ACKs; {}", brief(&stats));
}

/// The configuration given to `config-set` in [`failed_config_set_under_load`]: the
/// server's own with an option Kea does not know, refused while Kea 2.2 parses it, after
/// its critical section began, after it removed every critical-section callback and
/// stopped multi-threading (`MultiThreadingMgr::apply(false)`) and closed the DHCP
/// sockets, and before it parses `multi-threading` again: Kea then goes on
/// single-threaded with its old configuration, and serves no DHCP until a configuration
/// succeeds (`DHCP4_CONFIG_UNRECOVERABLE_ERROR`).
fn with_unknown_option(config: &Value) -> Value {
    let mut bad = config.clone();
    bad[V4.key()]["option-data"] = json!([{"name": "no-such-option", "data": "1"}]);
    bad
}

/// Kea refuses a `config-set` of both (multi-threaded) servers under load: it then
/// removes the hook's critical-section callbacks without calling their exit halves and
/// stays single-threaded, and the hook must not stay paused (it used to: the backup
/// refused every update from then on, the primary held the acknowledged queries for
/// good). The backup's refusal comes 1.5 s into 6 s of DORA at 300 clients/s: the
/// primary goes on ACKing, every address it ACKed is a lease on the backup. The
/// primary's comes during another run (Kea 2.2 serves no DHCP after it): nothing stays
/// parked; after a `config-reload` it ACKs and replicates again.
#[test]
fn failed_config_set_under_load() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run() || !hamux_under_test() {
        return;
    }
    let dir = TempDir::new("faults-failed-config-set");
    let ack_log = AckLog::new(dir.path(), "primary");
    let [primary_port, backup_port, dhcp_port] = free_ports();
    let peers =
        [("server1", hook_url(primary_port), "primary"), ("server2", hook_url(backup_port), "backup")];
    let backup = Server::start(V4, config("server2", &peers, false, true, None, None), &peers[1].1, None);
    let primary = Server::start(
        V4,
        config("server1", &peers, true, true, None, Some(&ack_log)),
        &peers[0].1,
        Some(dhcp_port),
    );
    primary.wait_until_serving();
    let timeline = std::cell::RefCell::new(Vec::new());
    let refuse = |server: &Server, what: &str| {
        let answer = server.command("config-set", Some(with_unknown_option(&server.config())));
        assert_ne!(answer["result"], 0, "{what}: config-set of a bad configuration: {answer}");
        let status = server.command("status-get", None);
        timeline.borrow_mut().push(format!(
            "{what}: config-set {answer}; multi-threading-enabled {}",
            status["arguments"]["multi-threading-enabled"]
        ));
    };

    let started = Instant::now();
    let load = dora_load(dhcp_port, 300, 6);
    sleep(Duration::from_millis(1500));
    refuse(&backup, "backup");
    let under_load = load.join().expect("perfdhcp");
    let after_refusal = ack_log.mark();
    let second = perfdhcp_with(V4, dhcp_port, &["-r", "100", "-R", "100000", "-p", "2"]);
    timeline.borrow_mut().push(format!("{:?} two runs done", started.elapsed()));
    let logs = || {
        format!(
            "\n{}\n--- primary\n{}\n--- backup\n{}\n--- perfdhcp\n{}\n{}",
            timeline.borrow().join("\n"),
            primary.log(),
            backup.log(),
            under_load.text,
            second.text
        )
    };
    let late = ack_log.acks(after_refusal);
    let (requests, _) = second.blocks.get("REQUEST-ACK").copied().unwrap_or_default();
    assert!(
        requests > 50 && late.len() as u64 >= requests * 9 / 10,
        "after the backup's refused config-set {} of {requests} REQUESTs ACKed{}",
        late.len(),
        logs()
    );
    let acks = ack_log.acks(0);
    let (leases, missing) = converged(&acks, &backup);
    assert!(
        missing.is_empty(),
        "{} of {} ACKed addresses are not leases of their clients on the backup, first: {:#?}{}",
        missing.len(),
        acks.len(),
        first(&missing, 20),
        logs()
    );
    check_listener(&backup, "backup");
    assert!(backup.log().contains("HAMUX_RESTARTING"), "{}", logs());

    let load = dora_load(dhcp_port, 300, 3);
    sleep(Duration::from_millis(1000));
    refuse(&primary, "primary");
    let third = load.join().expect("perfdhcp");
    let stats = settled(&primary);
    check_nothing_parked(&stats, &|| format!("{}\n{}", logs(), third.text));
    check_listener(&primary, "primary");
    assert!(primary.log().contains("HAMUX_RESTARTING"), "{}", logs());

    let answer = primary.command("config-reload", None);
    assert_eq!(answer["result"], 0, "config-reload: {answer}{}", logs());
    let mark = ack_log.mark();
    let fourth = perfdhcp_with(V4, dhcp_port, &["-r", "100", "-R", "100000", "-p", "2"]);
    let reloaded = ack_log.acks(mark);
    assert!(reloaded.len() > 50, "{} ACKs after config-reload{}\n{}", reloaded.len(), logs(), fourth.text);
    let (leases_now, missing) = converged(&reloaded, &backup);
    assert!(missing.is_empty(), "after config-reload: {:#?}{}", first(&missing, 20), logs());
    println!(
        "{}\n{} ACKs up to the primary's refusal ({} after the backup's), all leases on the backup ({} \
         leases); primary {}; after config-reload {} ACKs, replicated ({} leases); backup {}",
        timeline.borrow().join("\n"),
        acks.len(),
        late.len(),
        leases.len(),
        brief(&stats),
        reloaded.len(),
        leases_now.len(),
        brief(&hamux_stats(&backup))
    );
}

/// `libreload` reloads the hook without calling `dhcp4_srv_configured`: the hook must
/// start by itself (it used to stay unstarted: the primary answered without replicating,
/// the backup had no listener), in Kea's mode, and a backup must still not serve DHCP
/// (Kea passes no network state then: the hook disables it by Kea's dhcp-disable with
/// the HA origin).
#[test]
fn libreload_starts_the_hook() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run() || !hamux_under_test() {
        return;
    }
    let dir = TempDir::new("faults-libreload");
    let ack_log = AckLog::new(dir.path(), "primary");
    let [primary_port, backup_port, dhcp_port, backup_dhcp] = free_ports();
    let peers =
        [("server1", hook_url(primary_port), "primary"), ("server2", hook_url(backup_port), "backup")];
    let backup =
        Server::start(V4, config("server2", &peers, true, true, None, None), &peers[1].1, Some(backup_dhcp));
    let primary = Server::start(
        V4,
        config("server1", &peers, true, true, None, Some(&ack_log)),
        &peers[0].1,
        Some(dhcp_port),
    );
    primary.wait_until_serving();
    for server in [&backup, &primary] {
        let answer = server.command("libreload", None);
        assert_eq!(answer["result"], 0, "libreload: {answer}\n{}", server.log());
    }
    for server in [&backup, &primary] {
        assert!(wait_for(|| server.command("hamux-status", None)["result"] == 0), "{}", server.log());
        check_listener(server, "reloaded");
    }
    let mark = ack_log.mark();
    let report = perfdhcp_with(V4, dhcp_port, &["-r", "100", "-R", "100000", "-p", "2"]);
    let logs = || {
        format!(
            "\n--- primary\n{}\n--- backup\n{}\n--- perfdhcp\n{}",
            primary.log(),
            backup.log(),
            report.text
        )
    };
    let acks = ack_log.acks(mark);
    assert!(acks.len() > 50, "{} ACKs after libreload{}", acks.len(), logs());
    let (leases, missing) = converged(&acks, &backup);
    assert!(
        missing.is_empty(),
        "{} of {} addresses ACKed after libreload are not leases on the backup, first: {:#?}{}",
        missing.len(),
        acks.len(),
        first(&missing, 20),
        logs()
    );
    let stats = settled(&primary);
    check_nothing_parked(&stats, &logs);
    let backup_report = perfdhcp_with(V4, backup_dhcp, &["-r", "50", "-p", "2"]);
    let (discovers, offers) = backup_report.blocks.get("DISCOVER-OFFER").copied().unwrap_or_default();
    assert!(
        discovers > 20 && offers == 0,
        "the backup answered {offers} of {discovers} DISCOVERs after libreload{}",
        logs()
    );
    println!(
        "after libreload: {} ACKs, all on the backup ({} leases); backup: no OFFER; primary {}",
        acks.len(),
        leases.len(),
        brief(&stats)
    );
}

/// With `wait-backup-ack`, a query that cannot be parked (Kea refuses: a test hook takes
/// it out of the parking lot first, as Kea 2.2 never parks DHCPv4-over-DHCPv6 queries) is
/// dropped, not answered without replication, and nothing is sent for it. (The hook used
/// to throw there: Kea logged the callout's failure and sent the ACK unreplicated, and
/// the query's updates leaked.)
#[test]
fn query_kea_refuses_to_park_is_dropped() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run() || !hamux_under_test() {
        return;
    }
    let [primary_port, backup_port, dhcp_port] = free_ports();
    let peers =
        [("server1", hook_url(primary_port), "primary"), ("server2", hook_url(backup_port), "backup")];
    let backup = Server::start(V4, config("server2", &peers, false, true, None, None), &peers[1].1, None);
    let mut primary_config = config("server1", &peers, true, true, None, None);
    let refuse = json!({"library": test_hook(), "parameters": {"unpark-first": true}});
    primary_config[V4.key()]["hooks-libraries"].as_array_mut().unwrap().insert(0, refuse);
    let primary = Server::start(V4, primary_config, &peers[0].1, Some(dhcp_port));
    primary.wait_until_serving();
    let report = perfdhcp_with(V4, dhcp_port, &["-r", "50", "-R", "100000", "-p", "2"]);
    let stats = hamux_stats(&primary);
    let logs = || format!("{stats:?}\n--- primary\n{}\n--- perfdhcp\n{}", primary.log(), report.text);
    let (requests, acked) = report.blocks.get("REQUEST-ACK").copied().unwrap_or_default();
    assert!(requests > 20, "perfdhcp sent {requests} REQUESTs: {}", logs());
    assert_eq!(acked, 0, "ACKs without replication: {}", logs());
    assert_eq!(stat(&stats, "hamux-updates-sent"), 0, "{}", logs());
    assert_eq!(stat(&stats, "hamux-packets-parked"), 0, "{}", logs());
    assert!(stat(&stats, "hamux-packets-dropped") >= requests as i64, "{}", logs());
    assert!(primary.log().contains("HAMUX_PACKET_NOT_PARKED"), "{}", logs());
    assert_eq!(stat(&hamux_stats(&backup), "hamux-updates-received"), 0);
    println!("{requests} REQUESTs, none ACKed nor sent: {}", brief(&stats));
}

/// A partner's other commands (the serial lane, Kea's main thread) take no critical
/// section of their own, as on Kea's control channel: a `status-get` is answered while a
/// partner's lease4-update is held inside Kea for 8 s by a test hook. (Each used to take
/// one: it waited for that update, and stopped Kea's packet threads meanwhile.)
#[test]
fn serial_commands_do_not_wait_for_lease_commands() {
    if !ready(V4, &[hook_under_test()]) || !hamux_under_test() {
        return;
    }
    let mut held = HeldUpdate::start("faults-serial", 8000, 6);
    let status = call(&patient_client(), &held.url, &json!({"command": "status-get", "service": ["dhcp4"]}));
    let when = held.notes();
    assert_eq!(status[0]["result"], 0, "{status}");
    assert!(
        !when.contains("end"),
        "status-get was answered only after the lease update left Kea ({when:?}): {status}\n{}",
        held.backup.log()
    );
    let answer = held.answer();
    assert_eq!(answer[0]["result"], 0, "{answer}");
    println!("status-get answered while the update was inside Kea ({when:?}); then {answer}");
}

/// Inline (memfile's default: updates applied on the IO thread that read them), a lease
/// command that arrives while Kea is in a critical section waits for it on the hook's own
/// thread, not on the IO thread: a critical section of 6 s (the test hook's
/// `test-critical-section`, longer than the partner's 3 s ping timeout) neither stops the
/// heartbeats sent on the same connection meanwhile nor costs the connection (whose
/// pings that IO thread answers), and the update is applied once the section ends.
#[test]
fn inline_lease_command_waits_out_a_critical_section_off_the_io_thread() {
    if !ready(V4, &[hook_under_test()]) || !hamux_under_test() {
        return;
    }
    let dir = TempDir::new("faults-inline-cs");
    let log = dir.path().join("cs.log");
    let notes = || std::fs::read_to_string(&log).unwrap_or_default();
    let [primary_port, backup_port] = free_ports();
    let peers =
        [("server1", hook_url(primary_port), "primary"), ("server2", hook_url(backup_port), "backup")];
    let mut backup_config = config("server2", &peers, false, false, None, None);
    let holder = json!({"library": test_hook(), "parameters": {"log": log, "critical-section-ms": 6000}});
    backup_config[V4.key()]["hooks-libraries"].as_array_mut().unwrap().insert(0, holder);
    let backup = Server::start(V4, backup_config, &peers[1].1, None);
    let status = backup.command("hamux-status", None);
    assert_eq!(status["arguments"]["listener-threads"]["handler-threads"], 0, "inline by default: {status}");

    // One connection (default pings: every 2 s, 3 s to answer) for both.
    let client =
        hamux::client::Client::new(r#"{"connections-per-peer": 1, "request-timeout-ms": 30000}"#).unwrap();
    let target = peers[1].1.clone();
    std::thread::scope(|scope| {
        let section = scope.spawn(|| backup.command("test-critical-section", None));
        assert!(wait_for(|| notes().contains("cs-begin")), "no critical section:\n{}", backup.log());
        let update = scope.spawn(|| {
            let command = json!({"command": "lease4-update", "service": ["dhcp4"], "arguments": {
                "ip-address": "10.1.0.9", "hw-address": "1a:1b:1c:1d:1e:09",
                "subnet-id": 1, "valid-lft": 3600, "force-create": true, "origin": "ha-partner"}});
            let answer = call(&client, &target, &command);
            (answer, notes())
        });
        sleep(Duration::from_millis(3500));
        let heartbeat = call(&client, &target, &json!({"command": "ha-heartbeat", "service": ["dhcp4"]}));
        let during = notes();
        assert_eq!(heartbeat[0]["result"], 0, "{heartbeat}");
        assert!(
            !during.contains("cs-end"),
            "the heartbeat was answered only after the critical section ({during:?}): {heartbeat}\n{}",
            backup.log()
        );
        let (answer, when) = update.join().expect("the update's thread");
        assert_eq!(answer[0]["result"], 0, "lease4-update: {answer}\n{}", backup.log());
        assert!(when.contains("cs-end"), "the update was applied inside the critical section ({when:?})");
        assert_eq!(section.join().expect("the section's thread")["result"], 0);
    });
    let leases = backup.leases();
    assert!(leases.contains_key("10.1.0.9"), "the update's lease is missing: {leases:?}\n{}", backup.log());
    let stats = hamux_stats(&backup);
    assert_eq!(stat(&stats, "hamux-updates-applied"), 1, "{stats:?}");
    println!("heartbeat answered during the critical section; the update after it: {stats:?}");
}
