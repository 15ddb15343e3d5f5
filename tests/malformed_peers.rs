//! Peers that break the protocol: the listener closes only the offending connection, and
//! the client completes the affected transactions with PROTOCOL or CONNECT.

use hamux::client::{Client, Reply};
use hamux::codec::{self, FrameType};
use hamux::listener::{Handler, Listener, Request};
use hamux::Status;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{mpsc, Arc};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn ok_listener(config: &str) -> Listener {
    let handler: Handler = Arc::new(|req: Request| req.respond(b"[{\"result\":0}]").unwrap());
    Listener::new(config, handler).unwrap()
}

/// Reads everything the listener sends until it closes the connection.
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut all = Vec::new();
    stream.read_to_end(&mut all).expect("listener should close the connection");
    all
}

/// Decodes the listener's hello and frames from `bytes`.
fn frames(bytes: &[u8]) -> Vec<(FrameType, u64, Vec<u8>)> {
    assert_eq!(codec::decode_hello(bytes), Ok(Some(codec::VERSION)));
    let mut at = codec::HELLO_LEN;
    let mut out = Vec::new();
    while let Some((f, used)) = codec::decode_frame(&bytes[at..], 1 << 20).unwrap() {
        out.push((f.frame_type, f.txid, f.body.to_vec()));
        at += used;
    }
    out
}

fn request(txid: u64, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    codec::encode_frame(&mut out, FrameType::Request, txid, body);
    out
}

fn hello() -> Vec<u8> {
    let mut out = Vec::new();
    codec::encode_hello(&mut out);
    out
}

fn assert_listener_still_serves(listener: &Listener) {
    let client = Client::new("{}").unwrap();
    let (tx, rx) = mpsc::channel();
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    client.send(&url, b"{}", Box::new(move |r: Reply<'_>| tx.send(r.status).unwrap()), None).unwrap();
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), Status::Ok);
}

#[test]
fn bad_hello_gets_an_error_frame_and_close() {
    let listener = ok_listener("{}");
    let mut s = TcpStream::connect(listener.local_addr()).unwrap();
    s.write_all(b"HAMX\x09\0\0\0").unwrap();
    let got = frames(&read_until_closed(&mut s));
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].0, got[0].1), (FrameType::Error, 0));
    let (code, text) = codec::parse_error_body(&got[0].2);
    assert_eq!(code, Status::Protocol as u32);
    assert!(text.contains("unsupported hamux protocol version 9"), "{text}");
    assert_listener_still_serves(&listener);
}

#[test]
fn binary_garbage_gets_keas_bad_request_and_close() {
    let listener = ok_listener("{}");
    let mut s = TcpStream::connect(listener.local_addr()).unwrap();
    s.write_all(b"\x00\x01\x02\x03\xff\r\n\r\n").unwrap();
    let answer = String::from_utf8_lossy(&read_until_closed(&mut s)).into_owned();
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
    assert!(answer.ends_with(r#"{ "result": 400, "text": "Bad Request" }"#), "{answer}");
    assert_listener_still_serves(&listener);
}

#[test]
fn oversized_frame_is_refused_by_txid_before_its_body_arrives() {
    let listener = ok_listener(r#"{"max-frame-bytes": 1024}"#);
    let mut s = TcpStream::connect(listener.local_addr()).unwrap();
    let mut bytes = hello();
    bytes.extend(request(1, b"{}"));
    // A header announcing 4 GiB - 1, and no body: refused from the header alone.
    bytes.extend_from_slice(&[FrameType::Request as u8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    bytes.extend_from_slice(&77u64.to_be_bytes());
    s.write_all(&bytes).unwrap();
    let got = frames(&read_until_closed(&mut s));
    let error = got.iter().find(|f| f.0 == FrameType::Error).expect("an error frame");
    assert_eq!(error.1, 77);
    assert!(codec::parse_error_body(&error.2).1.contains("exceeds the maximum"));
    assert_listener_still_serves(&listener);
}

#[test]
fn unknown_frame_type_closes_only_that_connection() {
    let listener = ok_listener("{}");
    let mut good = TcpStream::connect(listener.local_addr()).unwrap();
    good.write_all(&hello()).unwrap();
    let mut bad = TcpStream::connect(listener.local_addr()).unwrap();
    let mut bytes = hello();
    bytes.extend_from_slice(&[99u8; 16]);
    bad.write_all(&bytes).unwrap();
    let got = frames(&read_until_closed(&mut bad));
    assert!(codec::parse_error_body(&got[0].2).1.contains("unknown frame type 99"));
    // The other connection still gets its answers.
    good.write_all(&request(5, b"{}")).unwrap();
    good.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = vec![0u8; codec::HELLO_LEN + codec::HEADER_LEN + 14];
    good.read_exact(&mut buf).unwrap();
    let got = frames(&buf);
    assert_eq!((got[0].0, got[0].1, got[0].2.as_slice()), (FrameType::Response, 5, &b"[{\"result\":0}]"[..]));
}

#[test]
fn ping_is_answered_with_pong() {
    let listener = ok_listener("{}");
    let mut s = TcpStream::connect(listener.local_addr()).unwrap();
    let mut bytes = hello();
    codec::encode_frame(&mut bytes, FrameType::Ping, 9, b"abc");
    s.write_all(&bytes).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = vec![0u8; codec::HELLO_LEN + codec::HEADER_LEN + 3];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(frames(&buf), vec![(FrameType::Pong, 9, b"abc".to_vec())]);
}

/// The body check HTTP requests have always had holds for `hamux://` too: a Request whose
/// body is not a JSON object never reaches the host; an Error frame names its txid, and
/// the connection closes without reading further.
#[test]
fn request_body_that_is_not_a_json_object_is_refused_by_txid() {
    const BEFORE: &[u8] = br#"{"command": "lease4-update"}"#;
    const AFTER: &[u8] = br#"{"command": "lease4-del"}"#;
    for bad in [&b"[1]"[..], b"\"lease4-update\"", b"{\"command\": ", b"{} trailing", b""] {
        let reached: Arc<std::sync::Mutex<Vec<Vec<u8>>>> = Arc::default();
        let seen = reached.clone();
        let handler: Handler = Arc::new(move |mut req: Request| {
            seen.lock().unwrap().push(req.take_body());
            let _ = req.respond(b"[{\"result\":0}]");
        });
        let listener = Listener::new("{}", handler).unwrap();
        let mut s = TcpStream::connect(listener.local_addr()).unwrap();
        let mut bytes = hello();
        bytes.extend(request(1, BEFORE));
        bytes.extend(request(2, bad));
        bytes.extend(request(3, AFTER));
        s.write_all(&bytes).unwrap();
        let got = frames(&read_until_closed(&mut s));
        let what = String::from_utf8_lossy(bad);
        let error = got.iter().find(|f| f.0 == FrameType::Error).expect("an error frame");
        assert_eq!(error.1, 2, "{what}");
        let (code, text) = codec::parse_error_body(&error.2);
        assert_eq!(code, Status::Protocol as u32, "{what}");
        assert!(text.contains("not a JSON object"), "{what}: {text}");
        assert!(got.iter().all(|f| f.1 != 3), "{what}: nothing after the refused request is read");
        let reached = reached.lock().unwrap().clone();
        assert!(reached.iter().all(|body| body == BEFORE), "{what}: {reached:?}");
        assert_eq!(stat(&listener, "protocol-errors"), 1, "{what}");
        assert_listener_still_serves(&listener);
    }
}

fn stat(listener: &Listener, name: &str) -> u64 {
    let stats: serde_json::Value = serde_json::from_str(&listener.stats_json()).unwrap();
    stats[name].as_u64().unwrap()
}

/// A fake peer: accepts one connection, reads the client's first request, then runs
/// `reply` on the socket.
fn fake_peer(reply: impl FnOnce(&mut TcpStream, u64) + Send + 'static) -> String {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("hamux://{}", server.local_addr().unwrap());
    std::thread::spawn(move || {
        let (mut s, _) = server.accept().unwrap();
        let mut buf = vec![0u8; codec::HELLO_LEN + codec::HEADER_LEN];
        s.read_exact(&mut buf).unwrap();
        let txid = u64::from_be_bytes(buf[codec::HELLO_LEN + 8..codec::HELLO_LEN + 16].try_into().unwrap());
        reply(&mut s, txid);
        std::thread::sleep(Duration::from_millis(200));
    });
    url
}

fn send_one(url: &str) -> (Status, String) {
    let client = Client::new("{}").unwrap();
    let (tx, rx) = mpsc::channel();
    client
        .send(url, b"{}", Box::new(move |r: Reply<'_>| tx.send((r.status, r.body.to_vec())).unwrap()), None)
        .unwrap();
    let (status, body) = rx.recv_timeout(WAIT).unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn client_reports_protocol_error_for_garbage_replies() {
    let url = fake_peer(|s, _| s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").unwrap());
    let (status, text) = send_one(&url);
    assert_eq!(status, Status::Protocol, "{text}");
    assert!(text.contains("bad magic"), "{text}");
}

#[test]
fn client_reports_connect_when_peer_vanishes_mid_request() {
    let url = fake_peer(|s, _| s.shutdown(std::net::Shutdown::Both).unwrap());
    let (status, text) = send_one(&url);
    assert_eq!(status, Status::Connect, "{text}");
}

#[test]
fn client_passes_on_a_peer_error_for_its_request() {
    let url = fake_peer(|s, txid| {
        let mut bytes = hello();
        codec::encode_error(&mut bytes, txid, Status::Busy as u32, "handler queue full");
        s.write_all(&bytes).unwrap();
    });
    let (status, text) = send_one(&url);
    assert_eq!(status, Status::Busy);
    assert!(text.contains("handler queue full"), "{text}");
}

#[test]
fn a_peer_that_accepts_and_closes_is_not_hammered() {
    // Accepts every connection and closes it without a hello, counting connections.
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("hamux://{}", server.local_addr().unwrap());
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let a = accepted.clone();
    std::thread::spawn(move || {
        for s in server.incoming() {
            a.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(s);
        }
    });
    let client = Client::new("{}").unwrap();
    let (tx, rx) = mpsc::channel();
    for _ in 0..3 {
        let tx = tx.clone();
        client.send(&url, b"{}", Box::new(move |r: Reply<'_>| tx.send(r.status).unwrap()), None).unwrap();
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), Status::Connect);
    }
    std::thread::sleep(Duration::from_millis(300));
    let n = accepted.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=3).contains(&n), "{n} connections for 3 requests: the client must back off");
}
