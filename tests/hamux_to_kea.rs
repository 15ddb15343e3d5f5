//! hamux against real Kea 2.2: the hamux HTTP client driving Kea's HA listener.

use hamux::client::{Client, Reply};
use hamux::Status;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;
use testkit::kea::{self, Kea};

/// Sends one command and waits for its completion; returns the status and the reply JSON.
fn call(client: &Client, url: &str, command: Value) -> (Status, Value) {
    let (tx, rx) = mpsc::channel();
    let done = Box::new(move |r: Reply<'_>| {
        let _ = tx.send((r.status, r.body.to_vec()));
    });
    client.send(url, command.to_string().as_bytes(), done, None).unwrap();
    let (status, body) = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    (status, value)
}

/// Kea answers with a list holding one result object.
fn result(reply: &Value) -> (i64, &str) {
    let first = &reply[0];
    (first["result"].as_i64().unwrap_or(-1), first["text"].as_str().unwrap_or(""))
}

/// Adds leases 192.0.2.20-39 through `lease4-update`, as an HA partner would.
fn add_twenty_leases(client: &Client, url: &str, kea: &Kea) {
    for i in 0..20 {
        let update = json!({"command": "lease4-update", "service": ["dhcp4"], "arguments": {
            "ip-address": format!("192.0.2.{}", 20 + i), "hw-address": format!("1a:1b:1c:1d:1e:{:02x}", i),
            "subnet-id": 1, "valid-lft": 3600, "force-create": true, "origin": "ha-partner"}});
        let (status, reply) = call(client, url, update);
        assert_eq!(status, Status::Ok, "{reply}\n{}", kea.log());
        assert_eq!(result(&reply), (0, "IPv4 lease added."), "{reply}");
    }
}

/// A Kea server in the standby role whose primary does not exist: it serves its HA
/// listener (and lease commands) at `port`.
fn standby_kea(daemon: &str, family: &str, subnets: Value, port: u16) -> Kea {
    let peers = [
        ("server1", format!("http://127.0.0.1:{}/", kea::free_port()), "primary"),
        ("server2", format!("http://127.0.0.1:{port}/"), "standby"),
    ];
    let hooks = vec![kea::lease_cmds_hook(), kea::ha_hook("server2", "hot-standby", &peers, json!({}))];
    let config = kea::server(family, hooks, subnets);
    Kea::start(daemon, &config, &[], SocketAddr::from(([127, 0, 0, 1], port)))
}

#[test]
fn hamux_client_drives_kea_dhcp4_lease_commands() {
    if !kea::available("kea-dhcp4") {
        return;
    }
    let port = kea::free_port();
    let subnets = json!({"subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.200"}]}]});
    let kea = standby_kea("kea-dhcp4", "Dhcp4", subnets, port);
    let url = format!("http://127.0.0.1:{port}/");
    let client = Client::new(r#"{"connections-per-peer": 4}"#).unwrap();

    add_twenty_leases(&client, &url, &kea);
    let (_, reply) = call(
        &client,
        &url,
        json!({"command": "lease4-get", "service": ["dhcp4"],
        "arguments": {"ip-address": "192.0.2.25"}}),
    );
    assert_eq!(result(&reply).0, 0, "{reply}");
    assert_eq!(reply[0]["arguments"]["hw-address"], "1a:1b:1c:1d:1e:05");

    let (_, reply) = call(
        &client,
        &url,
        json!({"command": "lease4-del", "service": ["dhcp4"],
        "arguments": {"ip-address": "192.0.2.25", "origin": "ha-partner"}}),
    );
    assert_eq!(result(&reply), (0, "IPv4 lease deleted."), "{reply}");
    let (_, reply) = call(
        &client,
        &url,
        json!({"command": "lease4-get", "service": ["dhcp4"],
        "arguments": {"ip-address": "192.0.2.25"}}),
    );
    assert_eq!(result(&reply).0, 3, "deleted lease is gone: {reply}");

    let (_, reply) = call(&client, &url, json!({"command": "ha-heartbeat", "service": ["dhcp4"]}));
    assert_eq!(result(&reply).0, 0, "{reply}");
    assert!(reply[0]["arguments"]["state"].is_string(), "{reply}");
    assert!(reply[0]["arguments"]["date-time"].is_string(), "{reply}");

    // Errors Kea returns reach the callback: a subnet that does not exist, an unknown command.
    let (status, reply) = call(
        &client,
        &url,
        json!({"command": "lease4-update", "service": ["dhcp4"],
        "arguments": {"ip-address": "198.51.100.1", "hw-address": "1a:1b:1c:1d:1e:1f", "subnet-id": 77}}),
    );
    assert_eq!(status, Status::Ok);
    assert_eq!(result(&reply).0, 1, "{reply}");
    let (_, reply) = call(&client, &url, json!({"command": "no-such-command", "service": ["dhcp4"]}));
    assert_eq!(result(&reply).0, 2, "{reply}");
}

#[test]
fn hamux_client_applies_lease6_bulk_to_kea_dhcp6() {
    if !kea::available("kea-dhcp6") {
        return;
    }
    let port = kea::free_port();
    let subnets = json!({
        "server-id": {"type": "EN", "enterprise-id": 2495, "identifier": "0123456789", "persist": false},
        "subnet6": [{"id": 1, "subnet": "2001:db8:1::/64",
        "pools": [{"pool": "2001:db8:1::100 - 2001:db8:1::1ff"}]}]});
    let kea = standby_kea("kea-dhcp6", "Dhcp6", subnets, port);
    let url = format!("http://127.0.0.1:{port}/");
    let client = Client::new("{}").unwrap();
    let leases: Vec<Value> = (0..10)
        .map(|i| json!({"ip-address": format!("2001:db8:1::{:x}", 0x110 + i), "duid": format!("00:03:00:01:aa:bb:cc:dd:ee:{:02x}", i),
            "iaid": 1000 + i, "subnet-id": 1, "valid-lft": 3600, "preferred-lft": 1800, "type": "IA_NA"}))
        .collect();
    let (status, reply) = call(
        &client,
        &url,
        json!({"command": "lease6-bulk-apply", "service": ["dhcp6"],
        "arguments": {"deleted-leases": [], "leases": leases}}),
    );
    assert_eq!(status, Status::Ok, "{}", kea.log());
    assert_eq!(result(&reply).0, 0, "{reply}");
    for i in 0..10 {
        let (_, reply) = call(
            &client,
            &url,
            json!({"command": "lease6-get", "service": ["dhcp6"],
            "arguments": {"ip-address": format!("2001:db8:1::{:x}", 0x110 + i)}}),
        );
        assert_eq!(result(&reply).0, 0, "{reply}");
        assert_eq!(reply[0]["arguments"]["iaid"], 1000 + i);
    }
}

/// hamux's `https://` client against Kea's HA listener with TLS and
/// `require-client-certs`, certificates made at run time: mutual TLS works, and Kea's
/// refusals (no client certificate; a server hamux does not trust) come back as TLS.
#[test]
fn hamux_https_client_talks_to_kea_with_mutual_tls() {
    if !kea::available("kea-dhcp4") {
        return;
    }
    let pki = testkit::certs::Pki::new("kea-tls");
    let server = pki.identity("", "server");
    let port = kea::free_port();
    let url = format!("https://127.0.0.1:{port}/");
    let peers = json!([
        {"name": "server1", "url": format!("https://127.0.0.1:{}/", kea::free_port()), "role": "primary"},
        {"name": "server2", "url": url, "role": "standby"},
    ]);
    let tls = json!({"trust-anchor": pki.ca(""), "cert-file": server.cert, "key-file": server.key,
                     "require-client-certs": true, "peers": peers});
    let hooks = vec![kea::lease_cmds_hook(), kea::ha_hook("server2", "hot-standby", &[], tls)];
    let subnets = json!({"subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.10 - 192.0.2.200"}]}]});
    let kea =
        Kea::start("kea-dhcp4", &kea::server("Dhcp4", hooks, subnets), &[], ([127, 0, 0, 1], port).into());

    let me = pki.identity("", "client");
    let peer = json!({"url": url, "trust-anchor": pki.ca(""), "cert-file": me.cert, "key-file": me.key,
                      "connections-per-peer": 4});
    let client = Client::new(&json!({"peers": [peer]}).to_string()).unwrap();
    add_twenty_leases(&client, &url, &kea);
    let (status, reply) = call(&client, &url, json!({"command": "ha-heartbeat", "service": ["dhcp4"]}));
    assert_eq!((status, result(&reply).0), (Status::Ok, 0), "{reply}");

    // No client certificate: Kea refuses the session.
    let anonymous = Client::new(&json!({"trust-anchor": pki.ca("")}).to_string()).unwrap();
    let (status, reply) = call(&anonymous, &url, json!({"command": "ha-heartbeat", "service": ["dhcp4"]}));
    assert_eq!(status, Status::Tls, "{reply}");
    // A Kea whose certificate hamux's trust anchor did not sign: hamux refuses it.
    let rogue = pki.identity("rogue-", "client");
    let wary = Client::new(
        &json!({"trust-anchor": pki.ca("rogue-"), "cert-file": rogue.cert, "key-file": rogue.key})
            .to_string(),
    )
    .unwrap();
    let (status, reply) = call(&wary, &url, json!({"command": "ha-heartbeat", "service": ["dhcp4"]}));
    assert_eq!(status, Status::Tls, "{reply}");
    assert!(reply.as_str().unwrap_or("").contains("UnknownIssuer"), "{reply}");
}
