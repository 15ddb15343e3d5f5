//! Real Kea 2.2 replicating to hamux: a kea-dhcp4 primary whose HA partner URL is a hamux
//! listener, driven by perfdhcp. The leases perfdhcp obtained must be exactly the ones the
//! hamux host received, and perfdhcp's clients must get their ACKs (Kea holds each ACK
//! until the partner acknowledges the lease update).

use hamux::client::{Client, Reply};
use hamux::listener::{Listener, Request};
use hamux::Status;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use testkit::certs::Pki;
use testkit::kea::{self, http_date, Kea};
use testkit::perfdhcp::{self, relay_address_ready, PerfdhcpTurn, RELAY4};
use testkit::skip;

/// Leases the hamux host holds: ip-address → hw-address.
type Leases = Arc<Mutex<BTreeMap<String, String>>>;

/// What a Kea HA partner answers; lease updates go into `leases`.
fn partner_answer(command: &Value, leases: &Leases) -> Value {
    let args = &command["arguments"];
    let ip = args["ip-address"].as_str().unwrap_or("").to_string();
    match command["command"].as_str().unwrap_or("") {
        "lease4-update" => {
            let hw = args["hw-address"].as_str().unwrap_or("").to_string();
            leases.lock().unwrap().insert(ip, hw);
            json!([{"result": 0, "text": "IPv4 lease updated."}])
        }
        "lease4-del" => {
            leases.lock().unwrap().remove(&ip);
            json!([{"result": 0, "text": "IPv4 lease deleted."}])
        }
        "ha-heartbeat" => json!([{"result": 0, "text": "HA peer status returned.", "arguments": {
            "state": "hot-standby", "date-time": http_date(SystemTime::now()), "scopes": [],
            "unsent-update-count": 0}}]),
        "lease4-get-page" => {
            json!([{"result": 3, "text": "0 IPv4 lease(s) found.", "arguments": {"leases": [], "count": 0}}])
        }
        "dhcp-disable" | "dhcp-enable" | "ha-sync-complete-notify" => json!([{"result": 0, "text": "done"}]),
        other => json!([{"result": 2, "text": format!("'{other}' command not supported.")}]),
    }
}

fn partner_listener(leases: &Leases, config: Value) -> Listener {
    let leases = leases.clone();
    let handler = Arc::new(move |req: Request| {
        let command: Value = serde_json::from_slice(req.body()).unwrap_or(Value::Null);
        let answer = partner_answer(&command, &leases);
        let _ = req.respond(answer.to_string().as_bytes());
    });
    Listener::new(&config.to_string(), handler).unwrap()
}

fn command_over_http(client: &Client, url: &str, command: Value) -> Value {
    let (tx, rx) = mpsc::channel();
    let done = Box::new(move |r: Reply<'_>| {
        let _ = tx.send((r.status, r.body.to_vec()));
    });
    client.send(url, command.to_string().as_bytes(), done, None).unwrap();
    let (status, body) = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(status, Status::Ok, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// The primary's HA state, as its own heartbeat answer reports it.
fn ha_state(client: &Client, url: &str) -> String {
    let reply = command_over_http(client, url, json!({"command": "ha-heartbeat", "service": ["dhcp4"]}));
    reply[0]["arguments"]["state"].as_str().unwrap_or("").to_string()
}

/// The primary's HA settings, the hamux listener's and the test client's (which asks the
/// primary for its state and leases) for a run with or without TLS.
struct Setup {
    scheme: &'static str,
    ha: Value,
    listener: Value,
    client: Value,
    _pki: Option<Pki>,
}

fn plain_setup(extra: Value) -> Setup {
    Setup {
        scheme: "http",
        ha: extra,
        listener: json!({"handler-threads": 2}),
        client: json!({}),
        _pki: None,
    }
}

/// Mutual TLS everywhere: Kea presents one certificate as server and as client, the hamux
/// listener requires client certificates from the same CA.
fn tls_setup(mut extra: Value) -> Setup {
    let pki = Pki::new("kea-primary");
    let (kea_id, server, client) =
        (pki.identity("", "peer"), pki.identity("", "server"), pki.identity("", "client"));
    let ha = extra.as_object_mut().unwrap();
    ha.insert("trust-anchor".into(), pki.ca("").into());
    ha.insert("cert-file".into(), kea_id.cert.into());
    ha.insert("key-file".into(), kea_id.key.into());
    ha.insert("require-client-certs".into(), true.into());
    Setup {
        scheme: "https",
        ha: extra,
        listener: json!({"handler-threads": 2, "trust-anchor": pki.ca(""), "cert-file": server.cert,
                         "key-file": server.key, "require-client-certs": true}),
        client: json!({"trust-anchor": pki.ca(""), "cert-file": client.cert, "key-file": client.key}),
        _pki: Some(pki),
    }
}

fn run_primary_against_hamux(mode: &str, setup: Setup, normal_state: &str) {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !kea::available("kea-dhcp4") || !skip::needs(perfdhcp::installed()) || !relay_address_ready() {
        return;
    }
    let leases: Leases = Arc::default();
    let listener = partner_listener(&leases, setup.listener.clone());
    let primary_port = kea::free_port();
    let dhcp_port = kea::free_port();
    let scheme = setup.scheme;
    let primary_url = format!("{scheme}://127.0.0.1:{primary_port}/");
    let role = if mode == "passive-backup" { "backup" } else { "standby" };
    let peers = [
        ("server1", primary_url.clone(), "primary"),
        ("server2", format!("{scheme}://127.0.0.1:{}/", listener.local_addr().port()), role),
    ];
    let hooks = vec![kea::lease_cmds_hook(), kea::ha_hook("server1", mode, &peers, setup.ha.clone())];
    let config = kea::server(
        "Dhcp4",
        hooks,
        json!({
            "interfaces-config": {"interfaces": ["lo"], "dhcp-socket-type": "udp"},
            "valid-lifetime": 3600,
            "subnet4": [{"id": 1, "subnet": "10.0.0.0/8", "relay": {"ip-addresses": [RELAY4.to_string()]},
                "pools": [{"pool": "10.1.0.0 - 10.1.255.255"}]}]
        }),
    );
    let kea = Kea::start(
        "kea-dhcp4",
        &config,
        &["-p", &dhcp_port.to_string()],
        SocketAddr::from(([127, 0, 0, 1], primary_port)),
    );
    let client = Client::new(&setup.client.to_string()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while ha_state(&client, &primary_url) != normal_state {
        assert!(Instant::now() < deadline, "primary never reached {normal_state}: {}", kea.log());
        std::thread::sleep(Duration::from_millis(100));
    }

    let output = Command::new(perfdhcp::PERFDHCP)
        .args([
            "-4",
            "-r",
            "100",
            "-R",
            "150",
            "-p",
            "3",
            // Wait up to 2 s after the last request for its ACK: without it perfdhcp exits
            // at once and a reply still on its way counts as a drop.
            "-W",
            "2000000",
            "-l",
            &RELAY4.to_string(),
            "-L",
            "67",
            "-N",
            &dhcp_port.to_string(),
            "127.0.0.1",
        ])
        .output()
        .expect("perfdhcp runs");
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    let Some(&(sent, received)) = perfdhcp::blocks(&report).get("REQUEST-ACK") else {
        panic!("no REQUEST-ACK block in perfdhcp's report:\n{report}")
    };
    assert!(sent > 100, "perfdhcp sent only {sent} requests:\n{report}");
    assert_eq!(received, sent, "every client must get its ACK:\n{report}\n{}", kea.log());

    let all =
        command_over_http(&client, &primary_url, json!({"command": "lease4-get-all", "service": ["dhcp4"]}));
    let at_primary: BTreeMap<String, String> = all[0]["arguments"]["leases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (l["ip-address"].as_str().unwrap().to_string(), l["hw-address"].as_str().unwrap().to_string())
        })
        .collect();
    assert!(at_primary.len() >= 100, "{} leases at the primary", at_primary.len());
    assert_eq!(*leases.lock().unwrap(), at_primary, "the hamux host must hold exactly the primary's leases");
    assert_eq!(ha_state(&client, &primary_url), normal_state, "{}", kea.log());
    if scheme == "https" {
        let stats: Value = serde_json::from_str(&listener.stats_json()).unwrap();
        assert_eq!(stats["tls-failures"], 0, "{stats}");
    }
    println!(
        "{mode} over {scheme}: {received}/{sent} ACKs, {} leases at the primary and at the hamux host",
        at_primary.len()
    );
}

#[test]
fn kea_primary_in_passive_backup_waits_for_hamux_acks() {
    run_primary_against_hamux(
        "passive-backup",
        plain_setup(json!({"wait-backup-ack": true})),
        "passive-backup",
    );
}

#[test]
fn kea_primary_replicates_to_a_hamux_listener_over_mutual_tls() {
    run_primary_against_hamux(
        "passive-backup",
        tls_setup(json!({"wait-backup-ack": true})),
        "passive-backup",
    );
}

#[test]
fn kea_primary_in_hot_standby_with_a_hamux_partner_stays_normal() {
    run_primary_against_hamux("hot-standby", plain_setup(json!({})), "hot-standby");
}

#[test]
fn http_date_is_rfc_1123() {
    assert_eq!(http_date(UNIX_EPOCH + Duration::from_secs(1_795_512_033)), "Tue, 24 Nov 2026 09:20:33 GMT");
    assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
}
