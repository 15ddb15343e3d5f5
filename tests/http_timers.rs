//! HTTP/1.1 timers and connection reuse as one request follows another on a connection:
//! the client's request timeout and the listener's idle timeout each use one timer per
//! connection (moved as requests come and go), and the client reuses an idle connection
//! on what its runtime knows of it. These check that the timeouts still count from each
//! request (not from the first on the connection) and that a connection the peer closed
//! with its reply is never reused.

use hamux::client::{Client, Reply};
use hamux::listener::{Listener, Request};
use hamux::Status;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

fn send(client: &Client, url: &str, tx: &mpsc::Sender<(Status, Instant)>) {
    let tx = tx.clone();
    let done = Box::new(move |r: Reply<'_>| {
        let _ = tx.send((r.status, Instant::now()));
    });
    client.send(url, b"{}", done, None).unwrap();
}

fn post() -> &'static [u8] {
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
}

/// Reads one response (status line, headers, Content-Length body); its status.
fn read_response(reader: &mut BufReader<TcpStream>) -> u16 {
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let mut len = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
        if line == "\r\n" || line.is_empty() {
            break;
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn idle_closed(listener: &Listener) -> u64 {
    let stats: Value = serde_json::from_str(&listener.stats_json()).unwrap();
    stats["idle-closed"].as_u64().unwrap()
}

#[test]
fn the_listener_idle_timeout_counts_from_each_request_and_closes_a_silent_connection() {
    let listener =
        Listener::new(r#"{"idle-timeout-ms": 500}"#, Arc::new(|req: Request| req.respond(b"[]").unwrap()))
            .unwrap();
    let stream = TcpStream::connect(listener.local_addr()).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    // Four idle timeouts' worth of requests, each well within the timeout of the last.
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        writer.write_all(post()).unwrap();
        assert_eq!(read_response(&mut reader), 200);
    }
    let silent = Instant::now();
    assert_eq!(idle_closed(&listener), 0);
    let mut rest = Vec::new();
    assert_eq!(reader.read_to_end(&mut rest).unwrap(), 0, "closed without a byte");
    let took = silent.elapsed();
    assert!(took >= Duration::from_millis(400) && took < Duration::from_secs(5), "{took:?}");
    assert_eq!(idle_closed(&listener), 1);
}

#[test]
fn an_http_request_the_host_holds_keeps_its_connection_past_the_idle_timeout() {
    let held: Arc<Mutex<Vec<Request>>> = Arc::default();
    let h = held.clone();
    let listener =
        Listener::new(r#"{"idle-timeout-ms": 200}"#, Arc::new(move |req| h.lock().unwrap().push(req)))
            .unwrap();
    let stream = TcpStream::connect(listener.local_addr()).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    writer.write_all(post()).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    held.lock().unwrap().pop().expect("the request reached the host").respond(b"[]").unwrap();
    assert_eq!(read_response(&mut reader), 200);
    assert_eq!(idle_closed(&listener), 0);
    // Answered: now silence closes it.
    let mut rest = Vec::new();
    assert_eq!(reader.read_to_end(&mut rest).unwrap(), 0);
    assert_eq!(idle_closed(&listener), 1);
}

/// An HTTP peer on one connection per test: request `i` is answered after `delay(i)`;
/// with `half_close`, each reply is followed by the end of the peer's side of the
/// connection (it reads on until the client closes). Counts the connections accepted.
fn peer(delay: fn(usize) -> Duration, half_close: bool) -> (String, Arc<AtomicUsize>) {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", server.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut index = 0;
        for stream in server.incoming() {
            count.fetch_add(1, Ordering::SeqCst);
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; len];
                if len == 0 || reader.read_exact(&mut body).is_err() {
                    break;
                }
                std::thread::sleep(delay(index));
                index += 1;
                let reply =
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]";
                if stream.write_all(reply).is_err() {
                    break;
                }
                if half_close {
                    let _ = stream.shutdown(Shutdown::Write);
                    let _ = reader.read_to_end(&mut Vec::new());
                    break;
                }
            }
        }
    });
    (url, accepted)
}

#[test]
fn the_request_timeout_counts_from_each_request_not_from_the_first_on_the_connection() {
    // Request 1 is in flight when request 0's deadline passes; request 2 waits too long.
    let (url, accepted) = peer(
        |i| match i {
            1 => Duration::from_millis(500),
            2 => Duration::from_millis(2500),
            _ => Duration::ZERO,
        },
        false,
    );
    let client = Client::new(r#"{"connections-per-peer": 1, "request-timeout-ms": 1000}"#).unwrap();
    let (tx, rx) = mpsc::channel();
    send(&client, &url, &tx);
    assert_eq!(rx.recv_timeout(WAIT).unwrap().0, Status::Ok);
    std::thread::sleep(Duration::from_millis(700));
    let sent = Instant::now();
    send(&client, &url, &tx);
    let (status, at) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(status, Status::Ok, "answered 500 ms after it was sent, within its 1000 ms");
    assert!(at - sent >= Duration::from_millis(450), "{:?}", at - sent);
    let sent = Instant::now();
    send(&client, &url, &tx);
    let (status, at) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(status, Status::Timeout);
    let took = at - sent;
    assert!(took >= Duration::from_millis(990) && took < Duration::from_millis(2400), "{took:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[test]
fn requests_spread_over_several_timeouts_on_one_connection_do_not_time_out() {
    let (url, accepted) = peer(|_| Duration::ZERO, false);
    let client = Client::new(r#"{"connections-per-peer": 1, "request-timeout-ms": 400}"#).unwrap();
    let (tx, rx) = mpsc::channel();
    for _ in 0..10 {
        send(&client, &url, &tx);
        assert_eq!(rx.recv_timeout(WAIT).unwrap().0, Status::Ok);
        std::thread::sleep(Duration::from_millis(150));
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "one connection carried them all");
}

#[test]
fn a_connection_the_peer_closed_with_its_reply_is_not_reused_however_soon_the_next_request_comes() {
    // The peer ends its side right after each reply (no Connection: close); the next
    // request follows within a millisecond, so the client must know from its runtime
    // alone that the connection is done. None may fail (resend-after-idle-close is off).
    let (url, accepted) = peer(|_| Duration::ZERO, true);
    let client = Client::new(r#"{"connections-per-peer": 1}"#).unwrap();
    let (tx, rx) = mpsc::channel();
    for _ in 0..20 {
        send(&client, &url, &tx);
        assert_eq!(rx.recv_timeout(WAIT).unwrap().0, Status::Ok);
        std::thread::sleep(Duration::from_micros(300));
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 20);
}
