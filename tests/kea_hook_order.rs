//! The hook's per-address order, for real: a kea-dhcp4 primary with `libdhcp_hamux.so`
//! (passive-backup, `wait-backup-ack: false`) replicates to an in-process hamux
//! [`Listener`] playing the backup. The listener holds every `lease4-update` for
//! [`HOLD`] before answering it (from another thread) and answers `lease4-del` at once,
//! while perfdhcp releases most leases right after their ACK: the ACK goes out at once,
//! so the RELEASE is committed while that address's update is still unanswered, and its
//! `lease4-del` must wait at the primary for that answer.
//!
//! Checked: never two requests of one address outstanding at the listener at once; some
//! deletes did wait (they arrived within [`WAITED`] of their update's answer); the
//! listener's lease table ends equal to the primary's (a delete overtaking its update
//! would leave a lease behind); requests of other addresses were not held back (many
//! outstanding at once).
//!
//! hamux-only (skipped with `HAMUX_KEA_HOOK_STANDIN=1`: Kea's libdhcp_ha promises no such
//! order). Needs Kea, kea-dev, perfdhcp and root (for 127.0.0.2 on lo).

mod support;

use hamux::listener::{Listener, Request};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use support::kea;
use support::kea_hook::{
    dhcp_body, free_ports, ha_entry, hamux_stats, hook_under_test, lease_difference, perfdhcp_with, ready,
    relay_address_ready, server_config, Family, PerfdhcpTurn, Replicator, Server,
};

/// How long the fake backup holds every lease4-update before answering it.
const HOLD: Duration = Duration::from_millis(150);

/// A lease4-del that arrives this soon after its address's update was answered had been
/// waiting for that answer at the primary.
const WAITED: Duration = Duration::from_millis(20);

/// One request the fake backup received.
struct Record {
    arrived: Instant,
    command: String,
    ip: String,
    /// When the answer was handed to the listener (taken just before `respond`).
    answered: Option<Instant>,
}

#[derive(Default)]
struct State {
    records: Vec<Record>,
    /// ip-address → hw-address: lease4-update inserts, lease4-del removes (when answered).
    leases: BTreeMap<String, String>,
    /// Requests not yet answered, per address.
    outstanding: HashMap<String, usize>,
    outstanding_total: usize,
    max_outstanding: usize,
    /// lease4-updates being held right now.
    held: usize,
    /// Requests that arrived while an update of another address was held.
    beside_held: usize,
}

/// The fake backup: a hamux listener answering as Kea's HA + lease_cmds would.
struct Backup {
    state: Arc<Mutex<State>>,
    listener: Listener,
}

/// Applies `command` to the lease table, records the answer time and answers.
fn answer(state: &Mutex<State>, req: Request, index: usize, command: &Value) {
    let args = &command["arguments"];
    let ip = args["ip-address"].as_str().unwrap_or("").to_string();
    let name = command["command"].as_str().unwrap_or("");
    let reply = {
        let mut state = state.lock().unwrap();
        let reply = match name {
            "lease4-update" => {
                let hw = args["hw-address"].as_str().unwrap_or("").to_string();
                state.held -= 1;
                if state.leases.insert(ip.clone(), hw).is_some() {
                    json!([{"result": 0, "text": "IPv4 lease updated."}])
                } else {
                    json!([{"result": 0, "text": "IPv4 lease added."}])
                }
            }
            "lease4-del" => {
                if state.leases.remove(&ip).is_some() {
                    json!([{"result": 0, "text": "IPv4 lease deleted."}])
                } else {
                    json!([{"result": 3, "text": "IPv4 lease not found."}])
                }
            }
            other => json!([{"result": 2, "text": format!("'{other}' command not supported.")}]),
        };
        if let Some(n) = state.outstanding.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                state.outstanding.remove(&ip);
            }
        }
        state.outstanding_total -= 1;
        state.records[index].answered = Some(Instant::now());
        reply
    };
    let _ = req.respond(reply.to_string().as_bytes());
}

impl Backup {
    fn start() -> Backup {
        let state: Arc<Mutex<State>> = Arc::default();
        // The held updates, in arrival order (one hold for all: deadlines in order).
        let (hold_tx, hold_rx) = mpsc::channel::<(Instant, Request, usize, Value)>();
        let held_state = state.clone();
        std::thread::spawn(move || {
            for (deadline, req, index, command) in hold_rx {
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                answer(&held_state, req, index, &command);
            }
        });
        let handler_state = state.clone();
        let hold_tx = Mutex::new(hold_tx);
        let handler = Arc::new(move |req: Request| {
            let command: Value = serde_json::from_slice(req.body()).unwrap_or(Value::Null);
            let name = command["command"].as_str().unwrap_or("").to_string();
            let ip = command["arguments"]["ip-address"].as_str().unwrap_or("").to_string();
            let update = name == "lease4-update";
            let (index, arrived) = {
                let mut state = handler_state.lock().unwrap();
                let arrived = Instant::now();
                let own_held = usize::from(state.outstanding.contains_key(&ip));
                if state.held > own_held {
                    state.beside_held += 1;
                }
                *state.outstanding.entry(ip.clone()).or_default() += 1;
                state.outstanding_total += 1;
                state.max_outstanding = state.max_outstanding.max(state.outstanding_total);
                if update {
                    state.held += 1;
                }
                state.records.push(Record { arrived, command: name, ip, answered: None });
                (state.records.len() - 1, arrived)
            };
            if update {
                hold_tx.lock().unwrap().send((arrived + HOLD, req, index, command)).unwrap();
            } else {
                answer(&handler_state, req, index, &command);
            }
        });
        let listener = Listener::new(&json!({"handler-threads": 2}).to_string(), handler).unwrap();
        Backup { state, listener }
    }

    fn url(&self) -> String {
        format!("hamux://127.0.0.1:{}/", self.listener.local_addr().port())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[test]
fn updates_of_one_address_wait_for_each_other_and_others_do_not() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if hook_under_test() != Replicator::Hamux {
        eprintln!("SKIPPED: per-address order is the hamux hook's promise, not libdhcp_ha's");
        return;
    }
    if !ready(Family::V4, &[Replicator::Hamux]) || !relay_address_ready() {
        return;
    }
    let backup = Backup::start();
    let [primary_port, dhcp_port] = free_ports();
    let peers = [
        ("server1", format!("hamux://127.0.0.1:{primary_port}/"), "primary"),
        ("server2", backup.url(), "backup"),
    ];
    let entry =
        ha_entry(Replicator::Hamux, "server1", "passive-backup", &peers, json!({"wait-backup-ack": false}));
    let config = server_config(Family::V4, vec![kea::lease_cmds_hook(), entry], dhcp_body(Family::V4, true));
    let primary = Server::start(Family::V4, config, &peers[0].1, Some(dhcp_port));
    primary.wait_until_serving();
    let start = Instant::now();

    // 100 new clients/s for 4 s, out of 200 (some come back for their address), 80 of
    // them released and 10 renewed per second: perfdhcp releases acquired leases as
    // soon as it has them, mostly well within the hold of their update.
    let report =
        perfdhcp_with(Family::V4, dhcp_port, &["-r", "100", "-R", "200", "-F", "80", "-f", "10", "-p", "4"]);
    let acks = report.lease_acks(Family::V4);
    assert!(acks > 100, "perfdhcp got only {acks} leases answered:\n{}\n{}", report.text, primary.log());

    // Drain: nothing outstanding at the listener and at the hook, then the same leases.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (at_primary, at_backup, stats) = loop {
        let stats = hamux_stats(&primary);
        let get = |k: &str| stats.get(k).copied().unwrap_or(-1);
        let settled = get("hamux-updates-sent") == get("hamux-updates-acked") + get("hamux-updates-failed")
            && backup.state.lock().unwrap().outstanding_total == 0;
        let at_primary = primary.leases();
        let at_backup = backup.state.lock().unwrap().leases.clone();
        if (settled && at_primary == at_backup) || Instant::now() > deadline {
            break (at_primary, at_backup, stats);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let logs = || format!("{stats:?}\n--- perfdhcp\n{}\n--- primary\n{}", report.text, primary.log());
    assert_eq!(stats.get("hamux-updates-failed"), Some(&0), "{}", logs());

    let state = backup.state.lock().unwrap();
    assert_eq!(state.outstanding_total, 0, "requests never answered: {}", logs());
    let at = |t: Instant| ms(t.saturating_duration_since(start));

    // 1. One address: the next request arrives only after the previous one's answer.
    let mut by_address: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    for record in state.records.iter().filter(|r| !r.ip.is_empty()) {
        by_address.entry(&record.ip).or_default().push(record);
    }
    let mut overlaps = Vec::new();
    let mut waited_deletes = 0;
    let mut deletes_after_update = 0;
    for (ip, records) in &by_address {
        for pair in records.windows(2) {
            let (prev, next) = (pair[0], pair[1]);
            let answered = prev.answered.expect("every request answered");
            if next.arrived < answered {
                overlaps.push(format!(
                    "{ip}: {} arrived at {:.1} ms, {} arrived at {:.1} ms and was answered at {:.1} ms",
                    next.command,
                    at(next.arrived),
                    prev.command,
                    at(prev.arrived),
                    at(answered)
                ));
            } else if prev.command == "lease4-update" && next.command == "lease4-del" {
                deletes_after_update += 1;
                if next.arrived - answered < WAITED {
                    waited_deletes += 1;
                }
            }
        }
    }
    let requests = state.records.len();
    let deletes = state.records.iter().filter(|r| r.command == "lease4-del").count();
    println!(
        "{acks} leases answered; the backup got {requests} requests ({deletes} lease4-del) for {} \
         addresses; {waited_deletes} of {deletes_after_update} deletes following an update arrived \
         < {WAITED:?} after its answer; max outstanding {}, {} requests arrived while another \
         address's update was held; {} leases at both",
        by_address.len(),
        state.max_outstanding,
        state.beside_held,
        at_backup.len()
    );
    assert!(
        overlaps.is_empty(),
        "{} times two requests of one address were outstanding at once (first 10):\n{}\n{}",
        overlaps.len(),
        overlaps.iter().take(10).cloned().collect::<Vec<_>>().join("\n"),
        logs()
    );

    // 2. Not vacuous: some deletes were committed while their update was held.
    assert!(waited_deletes > 0, "no lease4-del waited for its update's answer: {}", logs());

    // 3. The deletes did not overtake their updates: the backup has the primary's leases.
    assert!(
        at_primary == at_backup,
        "the backup must hold exactly the primary's leases: {}\n{}",
        lease_difference(&at_primary, &at_backup),
        logs()
    );

    // 4. Other addresses were not held back behind a held update.
    assert!(state.max_outstanding > 1, "never more than one request outstanding: {}", logs());
    assert!(state.beside_held > 0, "no request arrived while an update was held: {}", logs());
}
