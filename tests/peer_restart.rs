//! A peer that goes away and comes back on the same port: while it is gone requests fail
//! fast with CONNECT; once it is back, the first request that gets through means the peer
//! is reachable, and from then on every request succeeds — connections still backing off
//! from the outage step aside instead of failing requests the others could carry.

use hamux::client::{Client, Reply};
use hamux::listener::{Handler, Listener, Request};
use hamux::Status;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);
const LEASE: &[u8] = br#"{"command":"lease4-update"}"#;

fn listener_on(port: u16) -> Listener {
    let handler: Handler = Arc::new(|req: Request| req.respond(br#"[{"result":0}]"#).unwrap());
    Listener::new(&format!(r#"{{"port": {port}}}"#), handler).unwrap()
}

/// Sends `n` requests at once; returns how many completed with each status.
fn burst(client: &Client, url: &str, n: usize) -> Vec<Status> {
    let (tx, rx) = mpsc::channel();
    for _ in 0..n {
        let tx = tx.clone();
        let done = Box::new(move |r: Reply<'_>| tx.send(r.status).unwrap());
        client.send(url, LEASE, done, None).unwrap();
    }
    (0..n).map(|_| rx.recv_timeout(WAIT).expect("every request completes")).collect()
}

fn outage_and_return(scheme: &str) {
    let listener = listener_on(0);
    let port = listener.local_addr().port();
    let url = format!("{scheme}://127.0.0.1:{port}/");
    let client = Client::new(r#"{"connections-per-peer": 4, "connect-timeout-ms": 2000}"#).unwrap();
    assert!(burst(&client, &url, 200).iter().all(|s| *s == Status::Ok));

    drop(listener);
    let gone = burst(&client, &url, 50);
    assert!(gone.iter().all(|s| *s != Status::Ok), "{gone:?}");
    assert!(gone.contains(&Status::Connect), "{gone:?}");

    let _back = listener_on(port);
    let deadline = Instant::now() + WAIT;
    while burst(&client, &url, 1)[0] != Status::Ok {
        assert!(Instant::now() < deadline, "{url}: traffic did not resume");
        std::thread::sleep(Duration::from_millis(20));
    }
    for round in 0..5 {
        let after = burst(&client, &url, 200);
        let failed = after.iter().filter(|s| **s != Status::Ok).count();
        assert_eq!(failed, 0, "{url}: round {round} after the peer came back: {after:?}");
    }
}

#[test]
fn http_traffic_resumes_fully_once_the_peer_is_back() {
    outage_and_return("http");
}

#[test]
fn hamux_traffic_resumes_fully_once_the_peer_is_back() {
    outage_and_return("hamux");
}
