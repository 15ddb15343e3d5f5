//! Client and listener talking over loopback through the Rust API.

use hamux::client::{Client, Completion, Reply};
use hamux::listener::{Handler, Listener, Request};
use hamux::Status;
use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// A lease update: one of the commands the listener hands to the host in parallel.
const LEASE: &[u8] = br#"{"command":"lease4-update"}"#;

/// Polls `cond` until it holds; fails the test after `WAIT`.
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    testkit::wait::until(what, WAIT, cond)
}

/// A listener whose handler echoes the request body back wrapped in a Kea-style answer.
fn echo_listener(config: &str) -> Listener {
    let handler: Handler = Arc::new(|req: Request| {
        let reply = format!("[{{\"result\":0,\"echo\":{}}}]", String::from_utf8_lossy(req.body()));
        req.respond(reply.as_bytes()).unwrap();
    });
    Listener::new(config, handler).unwrap()
}

type Outcome = (u64, Status, Vec<u8>);

fn completion(tx: &mpsc::Sender<Outcome>) -> Completion {
    let tx = tx.clone();
    Box::new(move |r: Reply<'_>| {
        let _ = tx.send((r.txid, r.status, r.body.to_vec()));
    })
}

fn url(listener: &Listener) -> String {
    format!("hamux://127.0.0.1:{}", listener.local_addr().port())
}

#[test]
fn request_reply_round_trip() {
    let listener = echo_listener("{}");
    let client = Client::new("{}").unwrap();
    let (tx, rx) = mpsc::channel();
    let mut txid_out = 0;
    let txid = client
        .send(&url(&listener), br#"{"command":"ha-heartbeat"}"#, completion(&tx), Some(&mut txid_out))
        .unwrap();
    assert_eq!(txid, txid_out);
    let (got_txid, status, body) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!((got_txid, status), (txid, Status::Ok));
    assert_eq!(body, br#"[{"result":0,"echo":{"command":"ha-heartbeat"}}]"#);
    assert_eq!(listener.counters().requests(), 1);
}

#[test]
fn many_requests_each_complete_once_with_their_own_reply() {
    let listener = echo_listener(r#"{"handler-threads": 3}"#);
    let client = Arc::new(
        Client::new(r#"{"connections-per-peer": 3, "io-threads": 2, "max-in-flight": 10000}"#).unwrap(),
    );
    let (tx, rx) = mpsc::channel();
    let url = url(&listener);
    let mut expected = HashMap::new();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (client, tx, url) = (client.clone(), tx.clone(), url.clone());
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for i in 0..2000 {
                    let body = format!("{{\"command\":\"lease4-update\",\"n\":{}}}", t * 100_000 + i);
                    let txid = client.send(&url, body.as_bytes(), completion(&tx), None).unwrap();
                    mine.push((txid, body));
                }
                mine
            })
        })
        .collect();
    for t in threads {
        expected.extend(t.join().unwrap());
    }
    let mut seen = HashMap::new();
    for _ in 0..expected.len() {
        let (txid, status, body) = rx.recv_timeout(WAIT).unwrap();
        assert_eq!(status, Status::Ok);
        let want = format!("[{{\"result\":0,\"echo\":{}}}]", expected[&txid]);
        assert_eq!(String::from_utf8(body).unwrap(), want);
        assert!(seen.insert(txid, ()).is_none(), "txid {txid} completed twice");
    }
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "an extra completion arrived");
}

#[test]
fn slow_request_does_not_hold_back_later_ones_on_one_connection() {
    let held: Arc<Mutex<Vec<Request>>> = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    let handler: Handler = Arc::new(move |req: Request| {
        if req.body().windows(4).any(|w| w == b"slow") {
            h.lock().unwrap().push(req);
        } else {
            req.respond(b"[{\"result\":0}]").unwrap();
        }
    });
    let listener = Listener::new("{}", handler).unwrap();
    let client = Client::new(r#"{"connections-per-peer": 1}"#).unwrap();
    let (tx, rx) = mpsc::channel();
    let url = url(&listener);
    let slow = client
        .send(&url, br#"{"command":"lease4-update","arguments":{"hostname":"slow"}}"#, completion(&tx), None)
        .unwrap();
    for _ in 0..100 {
        client
            .send(
                &url,
                br#"{"command":"lease4-update","arguments":{"hostname":"fast"}}"#,
                completion(&tx),
                None,
            )
            .unwrap();
    }
    for _ in 0..100 {
        let (txid, status, _) = rx.recv_timeout(WAIT).unwrap();
        assert_ne!(txid, slow, "the slow request completed before the fast ones");
        assert_eq!(status, Status::Ok);
    }
    let req = held.lock().unwrap().pop().unwrap();
    req.respond(b"[{\"result\":0,\"text\":\"late\"}]").unwrap();
    let (txid, status, body) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(
        (txid, status, body.as_slice()),
        (slow, Status::Ok, &b"[{\"result\":0,\"text\":\"late\"}]"[..])
    );
}

#[test]
fn closed_port_gives_connect() {
    let port = {
        let s = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let client = Client::new("{}").unwrap();
    let (tx, rx) = mpsc::channel();
    for _ in 0..3 {
        client.send(&format!("hamux://127.0.0.1:{port}"), LEASE, completion(&tx), None).unwrap();
        let (_, status, body) = rx.recv_timeout(WAIT).unwrap();
        assert_eq!(status, Status::Connect, "{}", String::from_utf8_lossy(&body));
    }
}

#[test]
fn unanswered_request_times_out_and_late_reply_is_ignored() {
    let held: Arc<Mutex<Vec<Request>>> = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    let listener = Listener::new("{}", Arc::new(move |req| h.lock().unwrap().push(req))).unwrap();
    let client = Client::new(r#"{"request-timeout-ms": 100}"#).unwrap();
    let (tx, rx) = mpsc::channel();
    let txid = client.send(&url(&listener), LEASE, completion(&tx), None).unwrap();
    let (got, status, _) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!((got, status), (txid, Status::Timeout));
    held.lock().unwrap().pop().unwrap().respond(b"[]").unwrap();
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
}

#[test]
fn shutdown_cancels_what_is_in_flight_exactly_once() {
    let held: Arc<Mutex<Vec<Request>>> = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    let listener = Listener::new("{}", Arc::new(move |req| h.lock().unwrap().push(req))).unwrap();
    let client = Client::new(r#"{"drain-timeout-ms": 50}"#).unwrap();
    let (tx, rx) = mpsc::channel();
    for _ in 0..50 {
        client.send(&url(&listener), LEASE, completion(&tx), None).unwrap();
    }
    drop(client);
    let outcomes: Vec<Outcome> = rx.try_iter().collect();
    assert_eq!(outcomes.len(), 50);
    assert!(outcomes.iter().all(|(_, s, _)| *s == Status::Cancelled));
    drop(listener);
    // The host still owns the requests; answering them now reports the lost connection.
    for req in held.lock().unwrap().drain(..) {
        assert_eq!(req.respond(b"[]").unwrap_err().status, Status::Connect);
    }
}

#[test]
fn busy_when_max_in_flight_reached() {
    let held: Arc<Mutex<Vec<Request>>> = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    let listener = Listener::new("{}", Arc::new(move |req| h.lock().unwrap().push(req))).unwrap();
    let client = Client::new(r#"{"max-in-flight": 5}"#).unwrap();
    let (tx, rx) = mpsc::channel();
    for _ in 0..5 {
        client.send(&url(&listener), LEASE, completion(&tx), None).unwrap();
    }
    let err = client.send(&url(&listener), LEASE, completion(&tx), None).unwrap_err();
    assert_eq!(err.status, Status::Busy);
    wait_until("5 requests are held", || held.lock().unwrap().len() == 5);
    for req in held.lock().unwrap().drain(..) {
        req.respond(b"[]").unwrap();
    }
    for _ in 0..5 {
        assert_eq!(rx.recv_timeout(WAIT).unwrap().1, Status::Ok);
    }
    client.send(&url(&listener), LEASE, completion(&tx), None).unwrap();
}

#[test]
fn requests_held_by_the_host_report_connect_after_listener_free() {
    let held: Arc<Mutex<Vec<Request>>> = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    // Free waits this long for the held requests to be answered, then closes regardless.
    let config = r#"{"drain-timeout-ms": 100}"#;
    let listener = Listener::new(config, Arc::new(move |req| h.lock().unwrap().push(req))).unwrap();
    let client = Client::new("{}").unwrap();
    let (tx, rx) = mpsc::channel();
    for _ in 0..10 {
        client.send(&url(&listener), LEASE, completion(&tx), None).unwrap();
    }
    wait_until("10 requests are held", || held.lock().unwrap().len() == 10);
    drop(listener);
    for req in held.lock().unwrap().drain(..) {
        assert_eq!(req.respond(b"[]").unwrap_err().status, Status::Connect);
    }
    // The client, still running, sees its connection lost.
    for _ in 0..10 {
        assert_eq!(rx.recv_timeout(WAIT).unwrap().1, Status::Connect);
    }
}

#[test]
fn a_callback_may_send_the_next_request_at_the_in_flight_limit() {
    let listener = echo_listener("{}");
    let client = Arc::new(Client::new(r#"{"max-in-flight": 1}"#).unwrap());
    let (tx, rx) = mpsc::channel();
    let (c2, u2, tx2) = (client.clone(), url(&listener), tx.clone());
    let first: Completion = Box::new(move |r: Reply<'_>| {
        let sent = c2.send(&u2, LEASE, completion(&tx2), None);
        tx2.send((r.txid, r.status, format!("{:?}", sent.map(|_| ()).map_err(|e| e.status)).into_bytes()))
            .unwrap();
    });
    client.send(&url(&listener), b"{}", first, None).unwrap();
    let (_, status, sent) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!((status, String::from_utf8(sent).unwrap().as_str()), (Status::Ok, "Ok(())"));
    assert_eq!(rx.recv_timeout(WAIT).unwrap().1, Status::Ok);
}

/// The deadline sweeper sleeps while a connection has nothing on the wire; the first
/// request written after an idle spell wakes it, so that request still times out.
#[test]
fn a_request_after_an_idle_spell_still_times_out() {
    let held: Arc<Mutex<Vec<Request>>> = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    let answered = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let a = answered.clone();
    let listener = Listener::new(
        "{}",
        Arc::new(move |req: Request| {
            // The first request is answered at once, the next one is held.
            if !a.swap(true, std::sync::atomic::Ordering::SeqCst) {
                req.respond(b"[{\"result\":0}]").unwrap();
            } else {
                h.lock().unwrap().push(req);
            }
        }),
    )
    .unwrap();
    let client = Client::new(r#"{"request-timeout-ms": 100, "connections-per-peer": 1}"#).unwrap();
    let (tx, rx) = mpsc::channel();
    client.send(&url(&listener), LEASE, completion(&tx), None).unwrap();
    assert_eq!(rx.recv_timeout(WAIT).unwrap().1, Status::Ok);
    std::thread::sleep(Duration::from_millis(300)); // idle: nothing on the wire
    let txid = client.send(&url(&listener), LEASE, completion(&tx), None).unwrap();
    let (got, status, _) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!((got, status), (txid, Status::Timeout));
    held.lock().unwrap().pop().unwrap().respond(b"[]").unwrap();
}
