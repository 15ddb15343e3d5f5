//! The statistics JSON: every documented field is there and counts what happened.

use hamux::client::{Client, Reply};
use hamux::listener::{Listener, Request};
use hamux::Status;
use serde_json::Value;
use std::sync::{mpsc, Arc};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn client_and_listener_stats_count_what_happened() {
    let listener = Listener::new(
        "{}",
        Arc::new(|req: Request| {
            if req.body().windows(4).any(|w| w == b"drop") {
                return; // dropped unanswered: the peer gets CANCELLED
            }
            req.respond(b"[ { \"result\": 0 } ]").unwrap();
        }),
    )
    .unwrap();
    let client = Client::new(r#"{"connections-per-peer": 1}"#).unwrap();
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    let (tx, rx) = mpsc::channel();
    let send = |body: &str| {
        let tx = tx.clone();
        client
            .send(&url, body.as_bytes(), Box::new(move |r: Reply<'_>| tx.send(r.status).unwrap()), None)
            .unwrap();
    };
    for _ in 0..10 {
        send(r#"{"command":"lease4-update"}"#);
    }
    send(r#"{"command":"lease4-update","arguments":{"hostname":"drop"}}"#);
    send(r#"{"command":"config-get"}"#);
    let mut statuses: Vec<Status> = (0..12).map(|_| rx.recv_timeout(WAIT).unwrap()).collect();
    statuses.sort_by_key(|s| *s as u32);
    assert_eq!(statuses.iter().filter(|s| **s == Status::Ok).count(), 11);
    assert_eq!(statuses.last(), Some(&Status::Cancelled));

    let stats: Value = serde_json::from_str(&client.stats_json()).unwrap();
    assert_eq!(stats["in-flight"], 0);
    let peer = &stats["peers"][0];
    assert_eq!(peer["url"], url);
    for (key, want) in [
        ("connections", 1),
        ("connected", 1),
        ("in-flight", 0),
        ("sent", 12),
        ("connects", 1),
        ("disconnects", 0),
    ] {
        assert_eq!(peer[key], want, "{key} in {peer}");
    }
    assert_eq!(peer["completed"]["ok"], 11, "{peer}");
    assert_eq!(peer["completed"]["cancelled"], 1, "{peer}");
    for key in ["connect-failures", "late-replies"] {
        assert_eq!(peer[key], 0, "{key} in {peer}");
    }
    assert!(peer["bytes-out"].as_u64().unwrap() > 12 * 16, "{peer}");
    assert!(peer["bytes-in"].as_u64().unwrap() > 11 * 16, "{peer}");
    let (p50, p99) = (peer["latency-p50-us"].as_u64().unwrap(), peer["latency-p99-us"].as_u64().unwrap());
    assert!(p50 > 0 && p50 <= p99 && p99 < 20_000_000, "{peer}");

    let stats: Value = serde_json::from_str(&listener.stats_json()).unwrap();
    assert_eq!(stats["address"], "127.0.0.1");
    assert_eq!(stats["port"], listener.local_addr().port());
    for (key, want) in [
        ("connections-accepted", 1),
        ("connections-open", 1),
        ("protocol-errors", 0),
        ("requests", 12),
        ("serial-requests", 1),
        ("responses", 11),
        ("error-responses", 1),
    ] {
        assert_eq!(stats[key], want, "{key} in {stats}");
    }
    assert!(stats["bytes-in"].as_u64().unwrap() > 12 * 16 && stats["bytes-out"].as_u64().unwrap() > 11 * 16);
}
