//! Listener limits: max-connections, the handshake deadline (slowloris), the idle
//! timeout, each connection's share of max-pending — and that none of them hurts the
//! peers that behave.

use hamux::client::{Client, Reply};
use hamux::codec;
use hamux::listener::{Listener, Request};
use hamux::Status;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

fn stats(listener: &Listener) -> Value {
    serde_json::from_str(&listener.stats_json()).unwrap()
}

/// Reads until the listener closes the connection; returns how long that took.
fn time_until_closed(s: &mut TcpStream) -> Duration {
    let started = Instant::now();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut sink = Vec::new();
    let _ = s.read_to_end(&mut sink);
    started.elapsed()
}

fn ok_listener(config: &str) -> Listener {
    Listener::new(config, Arc::new(|req: Request| req.respond(b"[]").unwrap())).unwrap()
}

fn round_trip(listener: &Listener) -> Status {
    let client = Client::new("{}").unwrap();
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    let (tx, rx) = mpsc::channel();
    let cmd = br#"{"command":"lease4-update"}"#;
    client.send(&url, cmd, Box::new(move |r: Reply<'_>| tx.send(r.status).unwrap()), None).unwrap();
    rx.recv_timeout(WAIT).unwrap()
}

#[test]
fn connections_beyond_max_connections_are_closed_at_accept() {
    let listener = ok_listener(r#"{"max-connections": 2}"#);
    let mut held: Vec<TcpStream> =
        (0..2).map(|_| TcpStream::connect(listener.local_addr()).unwrap()).collect();
    let deadline = Instant::now() + WAIT;
    while stats(&listener)["connections-open"] != 2 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut third = TcpStream::connect(listener.local_addr()).unwrap();
    assert!(time_until_closed(&mut third) < Duration::from_secs(5));
    assert_eq!(stats(&listener)["connections-over-limit"], 1);
    held.clear();
    let deadline = Instant::now() + WAIT;
    while stats(&listener)["connections-open"] != 0 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(round_trip(&listener), Status::Ok, "room again once the others left");
}

#[test]
fn a_connection_that_says_nothing_is_closed_after_the_handshake_timeout() {
    let listener = ok_listener(r#"{"handshake-timeout-ms": 200, "idle-timeout-ms": 0}"#);
    let mut silent = TcpStream::connect(listener.local_addr()).unwrap();
    let mut slow = TcpStream::connect(listener.local_addr()).unwrap();
    slow.write_all(b"HA").unwrap(); // half a magic, then nothing: slowloris
    let took = time_until_closed(&mut silent);
    assert!(took >= Duration::from_millis(150) && took < Duration::from_secs(5), "{took:?}");
    assert!(time_until_closed(&mut slow) < Duration::from_secs(5));
    assert_eq!(stats(&listener)["handshake-timeouts"], 2);
    assert_eq!(round_trip(&listener), Status::Ok);
}

#[test]
fn idle_connections_are_closed_unless_the_host_still_owes_an_answer() {
    let held: Arc<Mutex<Vec<Request>>> = Arc::default();
    let h = held.clone();
    let listener =
        Listener::new(r#"{"idle-timeout-ms": 200}"#, Arc::new(move |req| h.lock().unwrap().push(req)))
            .unwrap();
    let mut hello = Vec::new();
    codec::encode_hello(&mut hello);
    // Idle with nothing pending: closed.
    let mut idle = TcpStream::connect(listener.local_addr()).unwrap();
    idle.write_all(&hello).unwrap();
    assert!(time_until_closed(&mut idle) < Duration::from_secs(5));
    assert_eq!(stats(&listener)["idle-closed"], 1);
    // Idle while the host holds its request: kept, and the late answer arrives.
    let mut waiting = TcpStream::connect(listener.local_addr()).unwrap();
    let mut bytes = hello.clone();
    codec::encode_frame(&mut bytes, codec::FrameType::Request, 7, br#"{"command":"lease4-update"}"#);
    waiting.write_all(&bytes).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(stats(&listener)["idle-closed"], 1, "not closed while the host owes an answer");
    held.lock().unwrap().pop().expect("the request reached the host").respond(b"[]").unwrap();
    waiting.set_read_timeout(Some(WAIT)).unwrap();
    let mut reply = vec![0u8; codec::HELLO_LEN + codec::HEADER_LEN + 2];
    waiting.read_exact(&mut reply).unwrap();
    let (frame, _) = codec::decode_frame(&reply[codec::HELLO_LEN..], 1024).unwrap().unwrap();
    assert_eq!((frame.txid, frame.body), (7, &b"[]"[..]));
    // Answered, it is idle again: closed in its turn.
    assert!(time_until_closed(&mut waiting) < Duration::from_secs(5));
    assert_eq!(stats(&listener)["idle-closed"], 2);
}

/// The idle timeout counts from a connection's last read: one that sends something every
/// 50 ms stays open through four idle timeouts of 500 ms, and is closed once it goes quiet.
#[test]
fn a_connection_that_keeps_talking_is_not_idle() {
    let listener = ok_listener(r#"{"idle-timeout-ms": 500}"#);
    let mut s = TcpStream::connect(listener.local_addr()).unwrap();
    let mut hello = Vec::new();
    codec::encode_hello(&mut hello);
    s.write_all(&hello).unwrap();
    let talking = Instant::now();
    let mut txid = 0;
    while talking.elapsed() < Duration::from_secs(2) {
        txid += 1;
        let mut ping = Vec::new();
        codec::encode_frame(&mut ping, codec::FrameType::Ping, txid, b"");
        s.write_all(&ping).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(stats(&listener)["idle-closed"], 0, "closed while it talked");
    let took = time_until_closed(&mut s);
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(5), "{took:?}");
    assert_eq!(stats(&listener)["idle-closed"], 1);
}

#[test]
fn a_flooding_connection_stops_at_its_share_while_another_is_served() {
    let held: Arc<Mutex<Vec<Request>>> = Arc::default();
    let h = held.clone();
    let listener = Listener::new(
        r#"{"max-pending": 20, "max-pending-per-connection": 10}"#,
        Arc::new(move |req| h.lock().unwrap().push(req)),
    )
    .unwrap();
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    let held_of = |who: &str| {
        held.lock()
            .unwrap()
            .iter()
            .filter(|r| r.body().windows(who.len()).any(|w| w == who.as_bytes()))
            .count()
    };
    let (tx, rx) = mpsc::channel();
    let send_all = |client: &Client, who: &str, n: usize| {
        let body = format!(r#"{{"command":"lease4-update","arguments":{{"from":"{who}"}}}}"#);
        for _ in 0..n {
            let tx = tx.clone();
            client
                .send(&url, body.as_bytes(), Box::new(move |r: Reply<'_>| tx.send(r.status).unwrap()), None)
                .unwrap();
        }
        body.len()
    };
    // One connection each.
    let (flooder, other) = (
        Client::new(r#"{"connections-per-peer": 1}"#).unwrap(),
        Client::new(r#"{"connections-per-peer": 1}"#).unwrap(),
    );
    let body_len = send_all(&flooder, "flooder", 50);
    // The listener read past the flooder's share (an 11th request at least is in hand:
    // how many more depends on how the client's writes were cut), yet only its share
    // went to the host.
    let past_share = (codec::HELLO_LEN + 11 * (codec::HEADER_LEN + body_len)) as u64;
    let deadline = Instant::now() + WAIT;
    while stats(&listener)["bytes-in"].as_u64().unwrap() < past_share || held_of("flooder") < 10 {
        assert!(Instant::now() < deadline, "the flood did not arrive: {}", stats(&listener));
        std::thread::sleep(Duration::from_millis(5));
    }
    // The listener-wide limit (20) still has room: the other connection is served.
    send_all(&other, "other", 5);
    let deadline = Instant::now() + WAIT;
    while held_of("other") < 5 {
        assert!(Instant::now() < deadline, "the other connection was starved: {}", stats(&listener));
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!((held_of("flooder"), held_of("other")), (10, 5));
    assert_eq!(stats(&listener)["requests"], 15);
    // Answering frees the flooder's share: it is read again, ten at a time, to the end.
    let mut answered = 0;
    while answered < 55 {
        let batch: Vec<Request> = std::mem::take(&mut *held.lock().unwrap());
        assert!(batch.iter().filter(|r| r.body().windows(7).any(|w| w == b"flooder")).count() <= 10);
        answered += batch.len();
        for req in batch {
            req.respond(b"[]").unwrap();
        }
        let deadline = Instant::now() + WAIT;
        while answered < 55 && held.lock().unwrap().is_empty() {
            assert!(Instant::now() < deadline, "stuck after {answered} answers: {}", stats(&listener));
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    for _ in 0..55 {
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), Status::Ok);
    }
}

/// The host's answer that comes just before a connection's idle timer fires is still
/// delivered: the idle close flushes what is queued. Two hundred connections, each with
/// its timer at its own phase, are answered one by one across many timer periods, so
/// some answers land right at a firing.
#[test]
fn an_answer_given_as_the_idle_timer_fires_is_delivered() {
    let held: Arc<Mutex<Vec<Request>>> = Arc::default();
    let h = held.clone();
    let listener =
        Listener::new(r#"{"idle-timeout-ms": 5}"#, Arc::new(move |req| h.lock().unwrap().push(req))).unwrap();
    const CONNECTIONS: usize = 200;
    let mut conns = Vec::new();
    for txid in 0..CONNECTIONS as u64 {
        let mut bytes = Vec::new();
        codec::encode_hello(&mut bytes);
        codec::encode_frame(&mut bytes, codec::FrameType::Request, txid, br#"{"command":"lease4-update"}"#);
        let mut s = TcpStream::connect(listener.local_addr()).unwrap();
        s.write_all(&bytes).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        conns.push(s);
    }
    let deadline = Instant::now() + WAIT;
    while held.lock().unwrap().len() < CONNECTIONS {
        assert!(Instant::now() < deadline, "every request reaches the host");
        std::thread::sleep(Duration::from_millis(5));
    }
    let requests: Vec<Request> = std::mem::take(&mut *held.lock().unwrap());
    for (i, req) in requests.into_iter().enumerate() {
        req.respond(b"[]").unwrap();
        std::thread::sleep(Duration::from_micros(137 * (i as u64 % 7)));
    }
    let mut lost = 0;
    for s in &mut conns {
        let mut reply = vec![0u8; codec::HELLO_LEN + codec::HEADER_LEN + 2];
        if s.read_exact(&mut reply).is_err() {
            lost += 1;
        }
        assert!(time_until_closed(s) < Duration::from_secs(5), "then closed as idle");
    }
    assert_eq!(lost, 0, "answers lost to the idle close");
    assert_eq!(stats(&listener)["idle-closed"], CONNECTIONS as u64);
}

/// The accept queue of the listening socket with local port `port` in this process, as
/// the kernel reports it (TCP_INFO of a listening socket: `tcpi_sacked` is its maximum).
fn accept_queue_of_listening_port(port: u16) -> Option<u32> {
    use std::os::fd::RawFd;
    for entry in std::fs::read_dir("/proc/self/fd").ok()?.flatten() {
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<RawFd>() else { continue };
        let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // SAFETY: getsockname into a sockaddr_in of `len` bytes; a descriptor that is not
        // an IPv4 socket fails or reports another family.
        let named = unsafe { libc::getsockname(fd, &mut addr as *mut _ as *mut libc::sockaddr, &mut len) };
        if named != 0
            || addr.sin_family != libc::AF_INET as libc::sa_family_t
            || u16::from_be(addr.sin_port) != port
        {
            continue;
        }
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        // SAFETY: TCP_INFO into a tcp_info of `len` bytes.
        let got = unsafe {
            libc::getsockopt(fd, libc::IPPROTO_TCP, libc::TCP_INFO, &mut info as *mut _ as *mut _, &mut len)
        };
        if got == 0 && info.tcpi_state == 10 {
            // TCP_LISTEN
            return Some(info.tcpi_sacked);
        }
    }
    None
}

#[test]
fn the_accept_queue_is_the_kernels_largest_not_std_s_128() {
    let listener = ok_listener("{}");
    let queue = accept_queue_of_listening_port(listener.local_addr().port()).expect("the listening socket");
    let somaxconn: u32 =
        std::fs::read_to_string("/proc/sys/net/core/somaxconn").unwrap().trim().parse().unwrap();
    // Room for a reconnect storm of many peers: std's 128 only where the kernel allows no
    // more.
    assert_eq!(queue, somaxconn.min(65_535), "the accept queue is {queue}");
    assert_eq!(round_trip(&listener), Status::Ok);
}
