//! A peer that stops reading: the client's writes back up, yet every request still
//! completes at its deadline (also those that never left the client's buffer), and the
//! client's memory stays bounded by max-in-flight.

use hamux::client::{Client, Reply};
use hamux::codec;
use hamux::Status;
use std::io::Write;
use std::net::TcpListener;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

#[test]
fn requests_to_a_peer_that_never_reads_time_out() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("hamux://{}", server.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    std::thread::spawn(move || {
        let (mut s, _) = server.accept().unwrap();
        let mut hello = Vec::new();
        codec::encode_hello(&mut hello);
        s.write_all(&hello).unwrap();
        h.lock().unwrap().push(s); // kept open, never read
    });
    // The deadline is far beyond the 400 sends below, also on a loaded machine: no slot
    // is freed by a timeout before all of them were tried, so exactly 300 are accepted.
    let client = Client::new(
        r#"{"request-timeout-ms": 3000, "ping-interval-ms": 0, "max-in-flight": 300, "connections-per-peer": 1}"#,
    )
    .unwrap();
    let body = format!(r#"{{"command":"lease4-update","arguments":{{"pad":"{}"}}}}"#, "x".repeat(64 * 1024));
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    let mut accepted = 0;
    let mut busy = 0;
    for _ in 0..400 {
        let tx = tx.clone();
        match client.send(
            &url,
            body.as_bytes(),
            Box::new(move |r: Reply<'_>| tx.send(r.status).unwrap()),
            None,
        ) {
            Ok(_) => accepted += 1,
            Err(e) => {
                assert_eq!(e.status, Status::Busy, "{e}");
                busy += 1;
            }
        }
    }
    assert_eq!((accepted, busy), (300, 100), "max-in-flight bounds what the client holds");
    for _ in 0..accepted {
        assert_eq!(rx.recv_timeout(Duration::from_secs(20)).unwrap(), Status::Timeout);
    }
    // Every request ended at its deadline, not at some later sweep (or never).
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
}
