//! `allowed-peers`: connections from other addresses (or ports) are closed at accept,
//! counted and never reach the host; allowed peers are served as usual.

use hamux::client::{Client, Reply};
use hamux::listener::{Listener, Request};
use hamux::Status;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

fn send_from(source: &str, url: &str) -> Status {
    let client =
        Client::new(&format!(r#"{{"source-address": "{source}", "connections-per-peer": 1}}"#)).unwrap();
    let (tx, rx) = mpsc::channel();
    let cmd = br#"{"command":"lease4-update"}"#;
    client.send(url, cmd, Box::new(move |r: Reply<'_>| tx.send(r.status).unwrap()), None).unwrap();
    rx.recv_timeout(Duration::from_secs(20)).unwrap()
}

#[test]
fn only_allowed_sources_reach_the_host() {
    let handled = Arc::new(AtomicUsize::new(0));
    let h = handled.clone();
    let listener = Listener::new(
        r#"{"address": "127.0.0.1", "allowed-peers": ["127.0.0.2", "127.0.1.0/24"]}"#,
        Arc::new(move |req: Request| {
            h.fetch_add(1, Ordering::SeqCst);
            req.respond(b"[]").unwrap();
        }),
    )
    .unwrap();
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    assert_eq!(send_from("127.0.0.2", &url), Status::Ok);
    assert_eq!(send_from("127.0.1.77", &url), Status::Ok);
    assert_eq!(send_from("127.0.0.3", &url), Status::Connect);
    assert_eq!(send_from("127.0.0.1", &url), Status::Connect);
    assert_eq!(handled.load(Ordering::SeqCst), 2);
    let stats: Value = serde_json::from_str(&listener.stats_json()).unwrap();
    assert_eq!(
        (stats["connections-accepted"].as_u64(), stats["connections-refused"].as_u64()),
        (Some(2), Some(2))
    );
}

#[test]
fn a_source_port_can_be_pinned() {
    let port = std::net::TcpListener::bind("127.0.0.2:0").unwrap().local_addr().unwrap().port();
    let config = format!(r#"{{"allowed-peers": ["127.0.0.2:{port}"]}}"#);
    let listener = Listener::new(&config, Arc::new(|req: Request| req.respond(b"[]").unwrap())).unwrap();
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    assert_eq!(send_from("127.0.0.2", &url), Status::Connect, "any other port is refused");
    let client = Client::new(&format!(
        r#"{{"source-address": "127.0.0.2", "source-port": {port}, "connections-per-peer": 1}}"#
    ))
    .unwrap();
    let (tx, rx) = mpsc::channel();
    client.send(&url, b"{}", Box::new(move |r: Reply<'_>| tx.send(r.status).unwrap()), None).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(20)).unwrap(), Status::Ok);
}
