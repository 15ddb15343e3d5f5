//! Keep-alive pings on `hamux://`: a peer that vanished without closing (no FIN, no RST)
//! is detected within ping-interval + ping-timeout, and its requests fail with CONNECT long
//! before their own deadline; a live but idle peer answers the pings and keeps its
//! connection.

use hamux::client::{Client, Reply};
use hamux::codec;
use hamux::listener::{Listener, Request};
use hamux::Status;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

fn send(client: &Client, url: &str) -> (Status, String) {
    let (tx, rx) = mpsc::channel();
    let done = Box::new(move |r: Reply<'_>| {
        tx.send((r.status, String::from_utf8_lossy(r.body).into_owned())).unwrap()
    });
    client.send(url, br#"{"command":"lease4-update"}"#, done, None).unwrap();
    rx.recv_timeout(Duration::from_secs(30)).unwrap()
}

#[test]
fn a_silent_peer_is_given_up_after_an_unanswered_ping() {
    // Says hello, then reads and never answers anything: a host that froze or vanished.
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("hamux://{}", server.local_addr().unwrap());
    std::thread::spawn(move || {
        let (mut s, _) = server.accept().unwrap();
        let mut hello = Vec::new();
        codec::encode_hello(&mut hello);
        s.write_all(&hello).unwrap();
        let mut sink = [0u8; 4096];
        while s.read(&mut sink).is_ok_and(|n| n > 0) {}
    });
    let client =
        Client::new(r#"{"ping-interval-ms": 100, "ping-timeout-ms": 200, "request-timeout-ms": 60000}"#)
            .unwrap();
    let started = Instant::now();
    let (status, text) = send(&client, &url);
    assert_eq!(status, Status::Connect, "{text}");
    assert!(text.contains("did not answer a ping"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
}

#[test]
fn an_idle_live_peer_answers_pings_and_keeps_its_connection() {
    let listener = Listener::new("{}", Arc::new(|req: Request| req.respond(b"[]").unwrap())).unwrap();
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    let client =
        Client::new(r#"{"connections-per-peer": 1, "ping-interval-ms": 30, "ping-timeout-ms": 100}"#)
            .unwrap();
    assert_eq!(send(&client, &url).0, Status::Ok);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(send(&client, &url).0, Status::Ok);
    let stats: Value = serde_json::from_str(&client.stats_json()).unwrap();
    assert_eq!(stats["peers"][0]["connects"], 1, "{stats}");
    assert_eq!(stats["peers"][0]["disconnects"], 0, "{stats}");
    let listener_stats: Value = serde_json::from_str(&listener.stats_json()).unwrap();
    // Hello, two responses of 2-byte bodies, and at least two pongs.
    let without_pongs = (codec::HELLO_LEN + 2 * (codec::HEADER_LEN + 2)) as u64;
    let out = listener_stats["bytes-out"].as_u64().unwrap();
    assert!(out >= without_pongs + 2 * codec::HEADER_LEN as u64, "pings were answered: {listener_stats}");
}

#[test]
fn a_request_after_a_connection_lost_with_a_ping_unwritten_still_goes_out() {
    // Says hello on every connection, then never reads: one large request fills the
    // socket, so the keep-alive Ping queued behind it is never written, and the
    // connection is given up with only that Ping left in the client's buffer.
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("hamux://{}", server.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in server.incoming() {
            let mut s = s.unwrap();
            let mut hello = Vec::new();
            codec::encode_hello(&mut hello);
            s.write_all(&hello).unwrap();
            held.push(s);
        }
    });
    let client = Client::new(
        r#"{"connections-per-peer": 1, "ping-interval-ms": 100, "ping-timeout-ms": 200,
            "request-timeout-ms": 60000, "max-frame-bytes": 33554432}"#,
    )
    .unwrap();
    let large = format!(r#"{{"command":"lease4-update","arguments":{{"pad":"{}"}}}}"#, "x".repeat(24 << 20));
    let (tx, rx) = mpsc::channel();
    let done = Box::new(move |r: Reply<'_>| tx.send(r.status).unwrap());
    client.send(&url, large.as_bytes(), done, None).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(30)).unwrap(), Status::Connect);
    // Let the connection's slot settle into waiting for work before the next request.
    std::thread::sleep(Duration::from_millis(300));
    let (status, text) = send(&client, &url);
    assert_eq!(status, Status::Connect, "{text}");
    assert!(text.contains("did not answer a ping"), "{text}");
}
