//! Graceful listener shutdown: a Goaway on `hamux://`, `Connection: close` on HTTP; the
//! requests the host holds when the shutdown begins are still answered (the peer's
//! callbacks get OK), nothing new is sent on a draining connection, and later requests go
//! to a successor listener on the same port or fail cleanly with CONNECT — each accepted
//! request completing exactly once.

use hamux::client::{Client, Reply};
use hamux::codec::{self, FrameType};
use hamux::listener::{Handler, Listener, Request};
use hamux::Status;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

/// Polls `cond` until it holds; fails the test after `WAIT`.
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    testkit::wait::until(what, WAIT, cond)
}

fn stats(listener: &Listener) -> Value {
    serde_json::from_str(&listener.stats_json()).unwrap()
}

/// Requests the host keeps unanswered while `holding` (those whose body says so).
#[derive(Default)]
struct Held {
    holding: bool,
    requests: Vec<Request>,
}

type Shared = Arc<Mutex<Held>>;

/// Holds the requests marked `hold` while the test says so, answers the rest at once.
fn holding_handler(held: &Shared) -> Handler {
    let held = held.clone();
    Arc::new(move |req: Request| {
        let mut h = held.lock().unwrap();
        if h.holding && req.body().windows(4).any(|w| w == b"hold") {
            h.requests.push(req);
        } else {
            drop(h);
            let _ = req.respond(b"[ { \"result\": 0 } ]");
        }
    })
}

fn held_count(held: &Shared) -> usize {
    held.lock().unwrap().requests.len()
}

type Outcomes = Arc<Mutex<HashMap<u64, Vec<Status>>>>;

#[test]
fn requests_held_at_shutdown_are_answered_and_traffic_moves_to_the_successor() {
    let held: Shared = Arc::new(Mutex::new(Held { holding: true, requests: Vec::new() }));
    // A long drain: the connections must close because everything was answered.
    let first = Listener::new(r#"{"drain-timeout-ms": 60000}"#, holding_handler(&held)).unwrap();
    let port = first.local_addr().port();
    let url = format!("hamux://127.0.0.1:{port}");
    let client = Arc::new(
        Client::new(
            r#"{"connections-per-peer": 2, "max-in-flight": 100000, "request-timeout-ms": 60000,
                "drain-timeout-ms": 60000}"#,
        )
        .unwrap(),
    );
    let outcomes: Outcomes = Arc::default();
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (client, url, outcomes, accepted, stop) =
            (client.clone(), url.clone(), outcomes.clone(), accepted.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let mark = if n % 10 == 0 { "hold" } else { "fast" };
                let body = format!(r#"{{"command":"lease4-update","arguments":{{"n":{n},"m":"{mark}"}}}}"#);
                let o = outcomes.clone();
                let done =
                    Box::new(move |r: Reply<'_>| o.lock().unwrap().entry(r.txid).or_default().push(r.status));
                if let Ok(txid) = client.send(&url, body.as_bytes(), done, None) {
                    accepted.lock().unwrap().push(txid);
                }
                if n % 32 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        })
    };
    let count =
        |status: Status| outcomes.lock().unwrap().values().flatten().filter(|s| **s == status).count();
    wait_until("the host holds 100 requests", || held_count(&held) >= 100);

    first.begin_shutdown();
    assert_eq!(stats(&first)["draining"], true);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "the port is closed once shutdown began");
    // The host answers what it holds (and from now on everything at once). The peers'
    // connections are draining, not gone: every answer is delivered.
    let late: Vec<Request> = {
        let mut h = held.lock().unwrap();
        h.holding = false;
        std::mem::take(&mut h.requests)
    };
    let late_txids: Vec<u64> = late.iter().map(|r| r.txid()).collect();
    for req in late {
        req.respond(b"[ { \"result\": 0, \"text\": \"late\" } ]").expect("answer delivered while draining");
    }
    wait_until("the drained connections closed by themselves", || stats(&first)["connections-open"] == 0);
    let s = stats(&first);
    assert_eq!(s["requests"], s["responses"], "everything the first listener took was answered: {s}");
    assert_eq!(s["error-responses"], 0, "{s}");
    drop(first);

    // Meanwhile new requests found no listener: they fail with CONNECT, not silently.
    wait_until("a send fails with CONNECT", || count(Status::Connect) > 0);
    let second = Listener::new(&format!(r#"{{"port": {port}}}"#), holding_handler(&held)).unwrap();
    let ok_before = count(Status::Ok);
    wait_until("traffic flows to the successor", || second.counters().requests() >= 1000);
    wait_until("and is answered", || count(Status::Ok) >= ok_before + 1000);
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    let peer: Value = serde_json::from_str(&client.stats_json()).unwrap();
    drop(Arc::try_unwrap(client).ok().expect("the sender is done")); // every callback has run
    drop(second);

    let outcomes = outcomes.lock().unwrap();
    let accepted = accepted.lock().unwrap();
    assert_eq!(outcomes.len(), accepted.len(), "every accepted request has a callback");
    for txid in accepted.iter() {
        let got = &outcomes[txid];
        assert_eq!(got.len(), 1, "txid {txid} completed {} times: {got:?}", got.len());
        assert!(matches!(got[0], Status::Ok | Status::Connect), "txid {txid}: {:?}", got[0]);
    }
    for txid in &late_txids {
        assert_eq!(outcomes[txid], vec![Status::Ok], "held request {txid} answered after shutdown began");
    }
    let goaways = peer["peers"][0]["goaways"].as_u64().unwrap();
    assert!((1..=2).contains(&goaways), "one Goaway per connection: {peer}");
    println!(
        "{} accepted: {} held at shutdown and answered OK; {} OK, {} CONNECT",
        accepted.len(),
        late_txids.len(),
        count_in(&outcomes, Status::Ok),
        count_in(&outcomes, Status::Connect)
    );
}

fn count_in(outcomes: &HashMap<u64, Vec<Status>>, status: Status) -> usize {
    outcomes.values().flatten().filter(|s| **s == status).count()
}

/// Reads frames from a raw hamux connection.
struct Frames {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Frames {
    fn connect(listener: &Listener) -> Frames {
        let mut stream = TcpStream::connect(listener.local_addr()).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut hello = Vec::new();
        codec::encode_hello(&mut hello);
        stream.write_all(&hello).unwrap();
        let mut peer_hello = [0u8; codec::HELLO_LEN];
        stream.read_exact(&mut peer_hello).unwrap();
        Frames { stream, buf: Vec::new() }
    }

    fn send(&mut self, frame_type: FrameType, txid: u64, body: &[u8]) {
        let mut bytes = Vec::new();
        codec::encode_frame(&mut bytes, frame_type, txid, body);
        self.stream.write_all(&bytes).unwrap();
    }

    /// The next frame's type and txid; `None` once the listener closed the connection.
    fn next(&mut self) -> Option<(FrameType, u64)> {
        loop {
            if let Some((frame, used)) = codec::decode_frame(&self.buf, 1 << 20).unwrap() {
                let got = (frame.frame_type, frame.txid);
                self.buf.drain(..used);
                return Some(got);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk).unwrap() {
                0 => return None,
                n => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

#[test]
fn on_the_wire_a_goaway_then_requests_until_the_peer_acknowledges_then_close() {
    let held: Shared = Arc::new(Mutex::new(Held { holding: true, requests: Vec::new() }));
    let listener = Listener::new(r#"{"drain-timeout-ms": 60000}"#, holding_handler(&held)).unwrap();
    let mut peer = Frames::connect(&listener);
    let cmd = br#"{"command":"lease4-update","arguments":{"m":"hold"}}"#;
    peer.send(FrameType::Request, 1, cmd);
    wait_until("the host holds request 1", || held_count(&held) == 1);

    listener.begin_shutdown();
    assert_eq!(peer.next(), Some((FrameType::Goaway, 0)));
    // A request the peer wrote before it read the Goaway still reaches the host...
    peer.send(FrameType::Request, 2, cmd);
    wait_until("the host holds request 2", || held_count(&held) == 2);
    // ... until the peer acknowledges: nothing follows its Goaway.
    peer.send(FrameType::Goaway, 0, b"");
    let requests: Vec<Request> = std::mem::take(&mut held.lock().unwrap().requests);
    for req in requests.into_iter().rev() {
        req.respond(b"[]").expect("the draining connection takes answers");
    }
    let mut answered: Vec<(FrameType, u64)> = (0..2).map(|_| peer.next().unwrap()).collect();
    answered.sort_by_key(|(_, txid)| *txid);
    assert_eq!(answered, vec![(FrameType::Response, 1), (FrameType::Response, 2)]);
    assert_eq!(peer.next(), None, "closed once everything was answered");
    assert_eq!(stats(&listener)["requests"], 2);
}

/// Reads one HTTP response (head and `Content-Length` body); returns the head.
fn read_http_response(s: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    while !bytes.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "connection closed inside a response head");
        bytes.push(byte[0]);
    }
    let head = String::from_utf8(bytes).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    let mut body = vec![0u8; length];
    s.read_exact(&mut body).unwrap();
    head
}

fn post(s: &mut TcpStream) {
    let body = r#"{"command":"lease4-update","arguments":{"m":"hold"}}"#;
    let req = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
}

#[test]
fn http_connections_answer_what_they_carry_with_connection_close() {
    let held: Shared = Arc::new(Mutex::new(Held { holding: true, requests: Vec::new() }));
    let listener = Listener::new(r#"{"drain-timeout-ms": 60000}"#, holding_handler(&held)).unwrap();
    let connect = || {
        let s = TcpStream::connect(listener.local_addr()).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        s
    };
    let (mut busy, mut idle) = (connect(), connect());
    post(&mut idle);
    wait_until("the host holds the idle connection's request", || held_count(&held) == 1);
    held.lock().unwrap().requests.pop().unwrap().respond(b"[]").unwrap();
    assert!(!read_http_response(&mut idle).contains("Connection: close"), "keep-alive before shutdown");
    post(&mut busy);
    wait_until("the host holds the busy connection's request", || held_count(&held) == 1);

    listener.begin_shutdown();
    let mut rest = Vec::new();
    assert_eq!(idle.read_to_end(&mut rest).unwrap(), 0, "an idle connection closes at once");
    held.lock().unwrap().requests.pop().unwrap().respond(b"[]").unwrap();
    let head = read_http_response(&mut busy);
    assert!(head.starts_with("HTTP/1.1 200") && head.contains("Connection: close\r\n"), "{head}");
    assert_eq!(busy.read_to_end(&mut rest).unwrap(), 0, "closed after its last answer");
    wait_until("no connection left", || stats(&listener)["connections-open"] == 0);
}

/// Reads frames from a raw hamux connection (after its hello) until one of `want` type.
fn next_frame(s: &mut TcpStream, buf: &mut Vec<u8>, want: FrameType) -> (u64, Vec<u8>) {
    loop {
        while let Ok(Some((frame, used))) = codec::decode_frame(buf, 1 << 20) {
            let found = (frame.frame_type == want).then(|| (frame.txid, frame.body.to_vec()));
            buf.drain(..used);
            if let Some(found) = found {
                return found;
            }
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "the client closed while a {want:?} was expected");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A peer that says Goaway, takes the acknowledgement and then goes silent without
/// closing (its host dropped off the network): the client does not wait on it forever —
/// once what it wrote there has timed out, that connection ends and traffic moves to a
/// new one.
#[test]
fn a_peer_silent_after_goaway_does_not_hold_the_connection() {
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("hamux://{}", server.local_addr().unwrap());
    let accepted = Arc::new(Mutex::new(0usize));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut silent = Vec::new();
        for stream in server.incoming() {
            let mut s = stream.unwrap();
            *count.lock().unwrap() += 1;
            let mut buf = Vec::new();
            let mut hello = [0u8; codec::HELLO_LEN];
            s.read_exact(&mut hello).unwrap();
            let mut out = Vec::new();
            codec::encode_hello(&mut out);
            if silent.is_empty() {
                next_frame(&mut s, &mut buf, FrameType::Request);
                codec::encode_frame(&mut out, FrameType::Goaway, 0, b"going away");
                s.write_all(&out).unwrap();
                next_frame(&mut s, &mut buf, FrameType::Goaway);
                silent.push(s); // never answers, never closes
                continue;
            }
            s.write_all(&out).unwrap();
            std::thread::spawn(move || loop {
                let (txid, _) = next_frame(&mut s, &mut buf, FrameType::Request);
                let mut reply = Vec::new();
                codec::encode_frame(&mut reply, FrameType::Response, txid, b"[{\"result\":0}]");
                s.write_all(&reply).unwrap();
            });
        }
    });
    let client =
        Client::new(r#"{"connections-per-peer": 1, "request-timeout-ms": 500, "ping-interval-ms": 100}"#)
            .unwrap();
    let call = |body: &[u8]| {
        let (tx, rx) = std::sync::mpsc::channel();
        client.send(&url, body, Box::new(move |r: Reply<'_>| tx.send(r.status).unwrap()), None).unwrap();
        rx.recv_timeout(WAIT).expect("a callback")
    };
    assert_eq!(call(br#"{"command":"lease4-update","n":1}"#), Status::Timeout);
    let deadline = Instant::now() + WAIT;
    while call(br#"{"command":"lease4-update","n":2}"#) != Status::Ok {
        assert!(Instant::now() < deadline, "traffic never left the silent draining connection");
    }
    assert_eq!(*accepted.lock().unwrap(), 2);
}

/// A request that reaches an HTTP connection after the shutdown began is not handed to
/// the host: it is answered 503 with `Connection: close`, after the answer owed before it.
#[test]
fn an_http_request_arriving_during_the_drain_gets_503_in_order() {
    let held: Shared = Arc::new(Mutex::new(Held { holding: true, requests: Vec::new() }));
    let listener = Listener::new(r#"{"drain-timeout-ms": 60000}"#, holding_handler(&held)).unwrap();
    let mut s = TcpStream::connect(listener.local_addr()).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    post(&mut s);
    wait_until("the host holds the request", || held_count(&held) == 1);
    listener.begin_shutdown();
    let bytes_in = stats(&listener)["bytes-in"].as_u64().unwrap();
    post(&mut s);
    wait_until("the listener read the second request", || {
        stats(&listener)["bytes-in"].as_u64().unwrap() > bytes_in
    });
    std::thread::sleep(Duration::from_millis(100)); // it is parsed right after the read
    held.lock().unwrap().requests.pop().unwrap().respond(b"[]").unwrap();
    let first = read_http_response(&mut s);
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(!first.contains("Connection: close"), "a later answer is owed: {first}");
    let second = read_http_response(&mut s);
    assert!(second.starts_with("HTTP/1.1 503") && second.contains("Connection: close\r\n"), "{second}");
    let mut rest = Vec::new();
    assert_eq!(s.read_to_end(&mut rest).unwrap(), 0, "closed after the 503");
    assert_eq!(listener.counters().requests(), 1, "the second request never reached the host");
}
