//! The serial lane: HA lease commands reach the host in parallel, any other command one
//! at a time, in arrival order, the next only after the previous was answered.

use hamux::client::{Client, Reply};
use hamux::listener::{Listener, Request};
use hamux::Status;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

#[derive(Default)]
struct Seen {
    active_serial: AtomicUsize,
    max_serial: AtomicUsize,
    active_leases: AtomicUsize,
    max_leases: AtomicUsize,
    serial_order: Mutex<Vec<u64>>,
}

fn enter(active: &AtomicUsize, max: &AtomicUsize) {
    let now = active.fetch_add(1, Ordering::SeqCst) + 1;
    max.fetch_max(now, Ordering::SeqCst);
}

#[test]
fn lease_updates_run_in_parallel_while_other_commands_never_overlap() {
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    // Every request is answered 30 ms later from another thread, as a host might.
    let handler = Arc::new(move |req: Request| {
        let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
        let s = s.clone();
        let serial = body["command"] != "lease4-update";
        if serial {
            enter(&s.active_serial, &s.max_serial);
            s.serial_order.lock().unwrap().push(body["n"].as_u64().unwrap());
        } else {
            enter(&s.active_leases, &s.max_leases);
        }
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            if serial {
                s.active_serial.fetch_sub(1, Ordering::SeqCst);
            } else {
                s.active_leases.fetch_sub(1, Ordering::SeqCst);
            }
            req.respond(b"[ { \"result\": 0 } ]").unwrap();
        });
    });
    let listener = Listener::new(r#"{"handler-threads": 4}"#, handler).unwrap();
    let client = Client::new(r#"{"connections-per-peer": 1}"#).unwrap();
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    let (tx, rx) = mpsc::channel();
    for n in 0..10u64 {
        for command in ["config-get", "lease4-update"] {
            let tx = tx.clone();
            let body = format!(r#"{{"command": "{command}", "n": {n}}}"#);
            let done = Box::new(move |r: Reply<'_>| tx.send(r.status).unwrap());
            client.send(&url, body.as_bytes(), done, None).unwrap();
        }
    }
    for _ in 0..20 {
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), Status::Ok);
    }
    assert_eq!(seen.max_serial.load(Ordering::SeqCst), 1, "serial commands overlapped");
    assert!(seen.max_leases.load(Ordering::SeqCst) >= 2, "lease updates were not handled in parallel");
    assert_eq!(*seen.serial_order.lock().unwrap(), (0..10).collect::<Vec<_>>());
    let stats: serde_json::Value = serde_json::from_str(&listener.stats_json()).unwrap();
    assert_eq!(stats["serial-requests"], 10);
}

#[test]
fn an_unanswered_serial_command_holds_back_the_next_until_dropped() {
    let held: Arc<Mutex<Vec<Request>>> = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    let listener = Listener::new("{}", Arc::new(move |req| h.lock().unwrap().push(req))).unwrap();
    let client = Client::new("{}").unwrap();
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    let (tx, rx) = mpsc::channel();
    for command in ["status-get", "config-reload"] {
        let tx = tx.clone();
        let done = Box::new(move |r: Reply<'_>| tx.send(r.status).unwrap());
        client.send(&url, format!(r#"{{"command": "{command}"}}"#).as_bytes(), done, None).unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(held.lock().unwrap().len(), 1, "the second command must wait for the first");
    let first = held.lock().unwrap().pop().unwrap();
    drop(first); // unanswered: the peer gets CANCELLED, and the lane moves on
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), Status::Cancelled);
    let deadline = std::time::Instant::now() + WAIT;
    while held.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the second command never arrived");
        std::thread::sleep(Duration::from_millis(5));
    }
    held.lock().unwrap().pop().unwrap().respond(b"[]").unwrap();
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), Status::Ok);
}
