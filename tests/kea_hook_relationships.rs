//! Several HA relationships in one server (libdhcp_ha 2.5.5+'s hub and spoke, in
//! passive-backup), with hamux's Kea hook in real kea-dhcp4 / kea-dhcp6 2.2 servers:
//!
//! - a primary in two relationships (DHCPv4 and DHCPv6), the subnets of its shared
//!   network tied to them by `ha-server-name`: each backup ends with exactly the leases
//!   of its relationship's subnet, none of the other's; the same after `libreload`
//!   (which gives the hook no configuration: it ties the subnets from Kea's running one);
//!   its one listener answers each relationship's `ha-heartbeat` with that relationship's
//!   state and scope, picked by `server-name` as libdhcp_ha 2.5.5+ picks it;
//! - eight primaries replicating into one central backup that has a relationship with
//!   each, all on one URL (one listener): every primary's leases are on the backup;
//! - the configurations the hook refuses with several relationships, each named in
//!   Kea's log (no `ha-server-name`, an unknown one, no subnet `id`, a server name in
//!   two relationships, two roles for this server, one URL with two listener settings,
//!   one backup with two client settings; in hot-standby: load-balancing among several,
//!   hot-standby beside passive-backup, two hot-standby relationships on one URL, one
//!   partner in two of them).
//!
//! Needs Kea, kea-dev and root (for 127.0.0.2 on lo); run with `--test-threads=1`.

mod support;

use hamux::client::Client;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use support::kea;
use support::kea_hook::{
    call, check_refused, converged_leases, dhcp_body, free_ports, hamux_settings, hamux_stats, hook_library,
    hook_under_test, lease_difference, loopback6_ready, perfdhcp, ready, relay_address_ready, server_config,
    Family, PerfdhcpTurn, Replicator, Server, RELAY4,
};

const V4: Family = Family::V4;

fn url(port: u16) -> String {
    format!("hamux://127.0.0.1:{port}/")
}

/// Only the hook has several passive-backup relationships (Kea 2.2's HA has one).
fn can_run(family: Family) -> bool {
    hook_under_test() == Replicator::Hamux
        && ready(family, &[Replicator::Hamux])
        && match family {
            Family::V4 => relay_address_ready(),
            Family::V6 => loopback6_ready(),
        }
}

/// One passive-backup relationship with wait-backup-ack: `this` among `peers` (name,
/// url, role).
fn relationship(this: &str, peers: &[(&str, &str, &str)]) -> Value {
    let peers: Vec<Value> =
        peers.iter().map(|(name, url, role)| json!({"name": name, "url": url, "role": role})).collect();
    json!({"this-server-name": this, "mode": "passive-backup", "wait-backup-ack": true,
           "peers": peers, "hamux": hamux_settings()})
}

/// A kea-dhcp4 configuration with the hook's `relationships` and `body`'s subnets
/// (`dhcp`: it answers perfdhcp on loopback).
fn config(relationships: Vec<Value>, dhcp: bool, body: Value) -> Value {
    config_of(V4, relationships, dhcp, body)
}

/// As [`config`], for `family`'s daemon.
fn config_of(family: Family, relationships: Vec<Value>, dhcp: bool, mut body: Value) -> Value {
    let hook = json!({"library": hook_library(), "parameters": {"high-availability": relationships}});
    // dhcp_body's interfaces and lifetimes, with this test's subnets.
    let common = dhcp_body(family, dhcp);
    for key in ["interfaces-config", "valid-lifetime", "preferred-lifetime"] {
        if let Some(value) = common.get(key) {
            body[key] = value.clone();
        }
    }
    server_config(family, vec![kea::lease_cmds_hook(), hook], body)
}

/// `leases` whose address starts with `prefix`.
fn within(leases: &BTreeMap<String, String>, prefix: &str) -> BTreeMap<String, String> {
    leases.iter().filter(|(a, _)| a.starts_with(prefix)).map(|(a, o)| (a.clone(), o.clone())).collect()
}

/// The hook's counters of `server` once its client has nothing outstanding; none of
/// its updates failed and no query was dropped.
fn check_all_acked(server: &Server, what: &str) -> BTreeMap<String, i64> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let stats = hamux_stats(server);
        let get = |name: &str| stats.get(name).copied().unwrap_or(-1);
        let settled = get("hamux-updates-sent") == get("hamux-updates-acked") + get("hamux-updates-failed");
        if settled || std::time::Instant::now() > deadline {
            assert_eq!(get("hamux-updates-failed"), 0, "{what}: {stats:?}\n{}", server.log());
            assert_eq!(get("hamux-packets-dropped"), 0, "{what}: {stats:?}\n{}", server.log());
            assert!(settled, "{what}: updates still outstanding: {stats:?}");
            return stats;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The primary's shared network: subnet 1 (a pool of 40, so perfdhcp exhausts it) is
/// tied to relationship "rel-a" by the name of its primary, subnet 2 to "rel-b" by the
/// name of its backup (any server of the relationship names it, as with libdhcp_ha).
fn two_subnets(family: Family) -> Value {
    match family {
        Family::V4 => json!({"shared-networks": [{
        "name": "branch", "relay": {"ip-addresses": [RELAY4]},
        "subnet4": [
            {"id": 1, "subnet": "10.1.0.0/16", "pools": [{"pool": "10.1.0.1 - 10.1.0.40"}],
             "user-context": {"ha-server-name": "p-a"}},
            {"id": 2, "subnet": "10.2.0.0/16", "pools": [{"pool": "10.2.0.1 - 10.2.255.255"}],
             "user-context": {"ha-server-name": "b2"}}
        ]}]}),
        Family::V6 => json!({"shared-networks": [{
        "name": "branch", "relay": {"ip-addresses": ["::1"]},
        "subnet6": [
            {"id": 1, "subnet": "2001:db8:1::/64", "pools": [{"pool": "2001:db8:1::1 - 2001:db8:1::28"}],
             "user-context": {"ha-server-name": "p-a"}},
            {"id": 2, "subnet": "2001:db8:2::/64", "pools": [{"pool": "2001:db8:2::1 - 2001:db8:2::ffff"}],
             "user-context": {"ha-server-name": "b2"}}
        ]}]}),
    }
}

/// The address prefixes of [`two_subnets`]' subnets 1 and 2.
fn prefixes(family: Family) -> [&'static str; 2] {
    match family {
        Family::V4 => ["10.1.", "10.2."],
        Family::V6 => ["2001:db8:1:", "2001:db8:2:"],
    }
}

/// Runs perfdhcp against the primary and checks that each backup holds exactly the
/// primary's leases of its relationship's subnet.
fn check_split(primary: &Server, dhcp_port: u16, b1: &Server, b2: &Server, round: &str) {
    let family = primary.family;
    let [one, two] = prefixes(family);
    let report = perfdhcp(family, dhcp_port, 3);
    assert!(report.lease_acks(family) > 0, "{round}: no lease answered:\n{}\n{}", report.text, primary.log());
    let stats = check_all_acked(primary, round);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (at_primary, at_b1, at_b2) = loop {
        let (p, l1, l2) = (primary.leases(), b1.leases(), b2.leases());
        if (within(&p, one) == l1 && within(&p, two) == l2) || std::time::Instant::now() > deadline {
            break (p, l1, l2);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let (want1, want2) = (within(&at_primary, one), within(&at_primary, two));
    assert!(!want1.is_empty() && !want2.is_empty(), "{round}: both subnets must have leases: {at_primary:?}");
    assert!(
        at_b1 == want1,
        "{round}: b1 (rel-a) must hold exactly subnet 1's leases: {}\n{}",
        lease_difference(&want1, &at_b1),
        b1.log()
    );
    assert!(
        at_b2 == want2,
        "{round}: b2 (rel-b) must hold exactly subnet 2's leases: {}\n{}",
        lease_difference(&want2, &at_b2),
        b2.log()
    );
    println!(
        "{family:?} {round}: {} answered; subnet 1: {} leases at p and b1, subnet 2: {} at p and b2; \
         primary {stats:?}",
        report.lease_acks(family),
        want1.len(),
        want2.len()
    );
}

#[test]
fn v4_primary_in_two_relationships_replicates_each_subnet_to_its_relationship_only() {
    two_relationships(Family::V4);
}

#[test]
fn v6_primary_in_two_relationships_replicates_each_subnet_to_its_relationship_only() {
    two_relationships(Family::V6);
}

fn two_relationships(family: Family) {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run(family) {
        return;
    }
    let [p_port, b1_port, b2_port, dhcp_port] = free_ports();
    let (p, b1, b2) = (url(p_port), url(b1_port), url(b2_port));
    // The primary has one URL in both relationships: one listener.
    let rel_a = relationship("p-a", &[("p-a", &p, "primary"), ("b1", &b1, "backup")]);
    let rel_b = relationship("p-b", &[("p-b", &p, "primary"), ("b2", &b2, "backup")]);
    let start = |relationships: Vec<Value>, url: &str, dhcp_port: Option<u16>| {
        let config = config_of(family, relationships, dhcp_port.is_some(), two_subnets(family));
        Server::start(family, config, url, dhcp_port)
    };
    let backup1 = start(vec![rel_a.clone().with_this("b1")], &b1, None);
    let backup2 = start(vec![rel_b.clone().with_this("b2")], &b2, None);
    let primary = start(vec![rel_a, rel_b], &p, Some(dhcp_port));
    primary.wait_until_serving();

    let status = primary.command("hamux-status", None);
    assert_eq!(status["result"], 0, "hamux-status: {status}");
    let arguments = &status["arguments"];
    assert_eq!(arguments["listeners"].as_array().map(Vec::len), Some(1), "one listener: {status}");
    let relationships = arguments["relationships"].as_array().cloned().unwrap_or_default();
    let backups: Vec<&Value> = relationships.iter().map(|r| &r["backups"]).collect();
    assert_eq!(backups, [&json!(["b1"]), &json!(["b2"])], "hamux-status: {status}");

    check_heartbeats(family, &p);
    check_split(&primary, dhcp_port, &backup1, &backup2, "configured");

    // libreload calls no dhcpX_srv_configured: the subnets come from config-get.
    let answer = primary.command("libreload", None);
    assert_eq!(answer["result"], 0, "libreload: {answer}\n{}", primary.log());
    primary.wait_until_serving();
    check_split(&primary, dhcp_port, &backup1, &backup2, "after libreload");
}

/// `ha-heartbeat` on the one listener of the primary in both relationships: each
/// relationship's state and scope, picked by `server-name` (the sender's name, as
/// libdhcp_ha 2.5.5+ sends it), the first relationship's without it, and an error
/// naming a name of neither.
fn check_heartbeats(family: Family, url: &str) {
    let client = Client::new(r#"{"connections-per-peer": 1, "request-timeout-ms": 10000}"#).unwrap();
    let heartbeat = |args: Option<Value>| {
        let mut command = json!({"command": "ha-heartbeat", "service": [family.service()]});
        if let Some(args) = args {
            command["arguments"] = args;
        }
        let answer = call(&client, url, &command);
        answer[0].clone()
    };
    for (args, scope) in [
        (None, "p-a"),
        (Some(json!({"server-name": "b1"})), "p-a"),
        (Some(json!({"server-name": "p-b"})), "p-b"),
        (Some(json!({"server-name": "b2"})), "p-b"),
    ] {
        let answer = heartbeat(args.clone());
        assert_eq!(answer["result"], 0, "{args:?}: {answer}");
        assert_eq!(answer["arguments"]["state"], "passive-backup", "{args:?}: {answer}");
        assert_eq!(answer["arguments"]["scopes"], json!([scope]), "{args:?}: {answer}");
    }
    let unknown = heartbeat(Some(json!({"server-name": "nobody"})));
    assert_eq!(unknown["result"], 1, "{unknown}");
    assert_eq!(unknown["text"], "nobody matches no configured 'server-name'", "{unknown}");
    let not_a_string = heartbeat(Some(json!({"server-name": 7})));
    assert_eq!(not_a_string["result"], 1, "{not_a_string}");
}

/// A relationship as another of its servers sees it.
trait WithThis {
    fn with_this(self, this: &str) -> Value;
}

impl WithThis for Value {
    fn with_this(mut self, this: &str) -> Value {
        self["this-server-name"] = json!(this);
        self
    }
}

const BRANCHES: usize = 8;

#[test]
fn eight_primaries_replicate_into_one_central_backup() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run(V4) {
        return;
    }
    let ports: [u16; 2 * BRANCHES + 1] = free_ports();
    let central = url(ports[0]);
    let branch = |k: usize| url(ports[k]);
    let dhcp_port = |k: usize| ports[BRANCHES + k];
    let rel = |k: usize| {
        let (primary, backup) = (format!("branch-{k}"), format!("central-{k}"));
        relationship(&backup, &[(&primary, &branch(k), "primary"), (&backup, &central, "backup")])
    };
    let subnet = |k: usize| {
        json!({"id": k, "subnet": format!("10.{k}.0.0/16"), "relay": {"ip-addresses": [RELAY4]},
               "pools": [{"pool": format!("10.{k}.0.1 - 10.{k}.255.255")}],
               "user-context": {"ha-server-name": format!("central-{k}")}})
    };
    let all: Vec<Value> = (1..=BRANCHES).map(subnet).collect();
    // The central backup: a relationship with each branch, all on its one URL.
    let hub = Server::start(
        V4,
        config((1..=BRANCHES).map(rel).collect(), false, json!({"subnet4": all})),
        &central,
        None,
    );
    let branches: Vec<Server> = (1..=BRANCHES)
        .map(|k| {
            let primary = rel(k).with_this(&format!("branch-{k}"));
            let body = json!({"subnet4": [subnet(k)]});
            Server::start(V4, config(vec![primary], true, body), &branch(k), Some(dhcp_port(k)))
        })
        .collect();

    let mut sent = 0;
    for (i, server) in branches.iter().enumerate() {
        server.wait_until_serving();
        let report = perfdhcp(V4, dhcp_port(i + 1), 2);
        assert!(report.lease_acks(V4) > 0, "branch-{}: nothing answered:\n{}", i + 1, report.text);
        sent += check_all_acked(server, &format!("branch-{}", i + 1))["hamux-updates-sent"];
    }
    let mut total = 0;
    for (i, server) in branches.iter().enumerate() {
        let k = i + 1;
        let (at_branch, at_hub) = converged_leases(server, &hub);
        let mine = within(&at_hub, &format!("10.{k}."));
        assert!(!at_branch.is_empty(), "branch-{k} has no leases");
        assert!(
            mine == at_branch,
            "the central backup must hold exactly branch-{k}'s leases in 10.{k}/16: {}\n{}",
            lease_difference(&at_branch, &mine),
            hub.log()
        );
        total += at_branch.len();
    }
    let at_hub = hub.leases();
    assert_eq!(at_hub.len(), total, "the central backup holds only the branches' leases");
    let stats = hamux_stats(&hub);
    assert_eq!(stats.get("hamux-updates-received"), Some(&sent), "every update reached the hub: {stats:?}");
    assert_eq!(stats.get("hamux-updates-applied"), Some(&sent), "every update was applied: {stats:?}");
    let status = hub.command("hamux-status", None);
    assert_eq!(status["arguments"]["listeners"].as_array().map(Vec::len), Some(1), "{status}");
    assert_eq!(status["arguments"]["relationships"].as_array().map(Vec::len), Some(BRANCHES), "{status}");
    println!(
        "{BRANCHES} primaries -> one backup: {total} leases on both sides, {sent} updates; hub {stats:?}"
    );
}

// ---------------------------------------------------------------- configuration errors

/// A central backup's configuration with two relationships and two subnets, changed by
/// `change` (relationships, subnets); Kea must refuse it with an ERROR line saying all
/// of `says` (case-insensitive).
fn refuse(change: fn(&mut Vec<Value>, &mut Vec<Value>), says: &[&str]) {
    if hook_under_test() != Replicator::Hamux || !ready(V4, &[Replicator::Hamux]) {
        return;
    }
    let [c, p1, p2] = free_ports();
    let mut relationships = vec![
        relationship("c-1", &[("p-1", &url(p1), "primary"), ("c-1", &url(c), "backup")]),
        relationship("c-2", &[("p-2", &url(p2), "primary"), ("c-2", &url(c), "backup")]),
    ];
    let mut subnets: Vec<Value> = (1..=2)
        .map(|k| {
            json!({"id": k, "subnet": format!("10.{k}.0.0/16"),
                   "pools": [{"pool": format!("10.{k}.0.1 - 10.{k}.0.200")}],
                   "user-context": {"ha-server-name": format!("c-{k}")}})
        })
        .collect();
    change(&mut relationships, &mut subnets);
    let config = config(relationships, false, json!({"subnet4": subnets}));
    check_refused(&config, says);
}

#[test]
fn refuses_a_subnet_without_ha_server_name() {
    refuse(
        |_, subnets| subnets[1]["user-context"] = json!({}),
        &["subnet4[1]", "10.2.0.0/16", "ha-server-name"],
    );
}

#[test]
fn refuses_an_ha_server_name_of_no_relationship() {
    refuse(
        |_, subnets| subnets[0]["user-context"]["ha-server-name"] = json!("nobody"),
        &["subnet4[0]", "'nobody'", "not a server of any relationship"],
    );
}

#[test]
fn refuses_a_subnet_without_an_id() {
    // The first: Kea 2.2 numbers it 1, which the second's explicit 2 leaves free.
    refuse(|_, subnets| drop(subnets[0].as_object_mut().unwrap().remove("id")), &["subnet4[0]", "no 'id'"]);
}

#[test]
fn refuses_a_server_name_in_two_relationships() {
    refuse(
        |relationships, _| relationships[1]["peers"][0]["name"] = json!("p-1"),
        &["high-availability[1]", "'p-1'", "unique"],
    );
}

#[test]
fn refuses_two_roles_for_this_server() {
    refuse(
        |relationships, _| {
            relationships[1]["peers"][0]["role"] = json!("backup");
            relationships[1]["peers"][1]["role"] = json!("primary");
        },
        &["high-availability[1]", "one role in every relationship"],
    );
}

#[test]
fn refuses_one_url_with_two_listener_settings() {
    refuse(
        |relationships, _| relationships[1]["restrict-commands"] = json!(true),
        &["high-availability[1]", "share one listener"],
    );
}

#[test]
fn refuses_one_backup_with_two_client_settings() {
    // A primary in two relationships with the same backup, once with other settings.
    refuse(
        |relationships, _| {
            for r in relationships.iter_mut() {
                r["this-server-name"] = r["peers"][0]["name"].clone();
            }
            relationships[1]["peers"][0]["url"] = relationships[0]["peers"][0]["url"].clone();
            relationships[1]["hamux"]["request-timeout-ms"] = json!(1234);
        },
        &["high-availability[1]", "one peer of the hook's client"],
    );
}

/// Makes a relationship of [`refuse`]'s hot-standby: its primary and this server as the
/// standby.
fn make_hot_standby(relationship: &mut Value) {
    relationship["mode"] = json!("hot-standby");
    relationship["peers"][1]["role"] = json!("standby");
    relationship.as_object_mut().unwrap().remove("wait-backup-ack");
}

#[test]
fn refuses_load_balancing_in_several_relationships() {
    refuse(
        |relationships, _| {
            for r in relationships.iter_mut() {
                r["mode"] = json!("load-balancing");
                r["peers"][1]["role"] = json!("secondary");
                r.as_object_mut().unwrap().remove("wait-backup-ack");
            }
        },
        &["high-availability[0].mode", "load-balancing in one of several relationships"],
    );
}

#[test]
fn refuses_hot_standby_beside_passive_backup() {
    refuse(
        |relationships, _| make_hot_standby(&mut relationships[1]),
        &["high-availability[1].mode", "hot-standby here but passive-backup"],
    );
}

#[test]
fn refuses_two_hot_standby_relationships_on_one_url() {
    // Each needs its own listener: a Kea 2.2 partner's commands name no relationship.
    refuse(
        |relationships, _| relationships.iter_mut().for_each(make_hot_standby),
        &["high-availability[1]", "needs its own URL"],
    );
}

#[test]
fn refuses_one_partner_in_two_hot_standby_relationships() {
    refuse(
        |relationships, _| {
            relationships.iter_mut().for_each(make_hot_standby);
            let [other] = free_ports();
            relationships[1]["peers"][1]["url"] = json!(url(other));
            relationships[1]["peers"][0]["url"] = relationships[0]["peers"][0]["url"].clone();
        },
        &["high-availability[1].peers", "its own partner"],
    );
}

#[test]
fn refuses_a_shared_network_across_hot_standby_relationships() {
    if hook_under_test() != Replicator::Hamux || !ready(V4, &[Replicator::Hamux]) {
        return;
    }
    let [c1, c2, p1, p2] = free_ports();
    let mut relationships = vec![
        relationship("c-1", &[("p-1", &url(p1), "primary"), ("c-1", &url(c1), "backup")]),
        relationship("c-2", &[("p-2", &url(p2), "primary"), ("c-2", &url(c2), "backup")]),
    ];
    relationships.iter_mut().for_each(make_hot_standby);
    // A query's relationship is learned from any of its leases, which may come from any
    // subnet of its shared network.
    let subnets: Vec<Value> = (1..=2)
        .map(|k| {
            json!({"id": k, "subnet": format!("10.{k}.0.0/16"),
                   "pools": [{"pool": format!("10.{k}.0.1 - 10.{k}.0.200")}],
                   "user-context": {"ha-server-name": format!("c-{k}")}})
        })
        .collect();
    let body = json!({"shared-networks": [{"name": "site", "subnet4": subnets}]});
    check_refused(
        &config(relationships, false, body),
        &["shared-networks[0].subnet4[1]", "'c-2'", "of the same shared network", "one relationship"],
    );
}
