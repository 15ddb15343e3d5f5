//! A long burst on one connection is answered in parts: the side reading it lets its
//! writer out every so many messages, so the peer works on the first answers while the
//! rest is still being handled (`io::WriterTurns`). Before, a listener with an inline
//! handler answered none of a burst until it had handled all of it, and a client sent
//! none of the requests its callbacks made until it had run every callback; on one
//! connection the two sides took turns instead of working at once.
//!
//! Each test holds the reading side until the burst is in its socket, so that its reads
//! fill their buffer and it never waits for bytes until the burst is done (a read that
//! waits lets the writer out anyway; so does one that comes back short, as tokio then
//! waits for the socket's next readiness before reading again). What it
//! asserts is seen on the reading side's own IO thread, where the writer runs too: how
//! many messages were handled after that side's bytes-out counter showed its answers (or
//! follow-ups) leaving. No other thread's scheduling decides it.

use hamux::client::{Client, Reply};
use hamux::listener::{Handler, Listener, Request};
use hamux::Status;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

const BURST: usize = 2000;
/// Bytes out beyond which answers (follow-ups) have left: 25 or more frames.
const LEFT: u64 = 1000;
const WAIT: Duration = Duration::from_secs(30);

/// Polls `cond` until it holds; fails the test after `WAIT`.
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    testkit::wait::until(what, WAIT, cond)
}

/// A small command (the burst of 2000 is then some 80 KB, which the sockets hold
/// unread: the reading side never drains them before the burst's end).
fn lease_update(n: usize) -> String {
    format!(r#"{{"command":"lease4-update","n":{n}}}"#)
}

/// The "bytes-out" of a stats object, or of its only peer (a client's).
fn bytes_out(stats: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(stats).unwrap();
    v["bytes-out"].as_u64().or_else(|| v["peers"][0]["bytes-out"].as_u64()).unwrap_or(0)
}

#[test]
fn an_inline_listener_answers_a_burst_while_still_handling_it() {
    let release = Arc::new(AtomicBool::new(false));
    let handled_after_answers_left = Arc::new(AtomicUsize::new(0));
    // The handler reads its own listener's counters (weakly: the listener owns it).
    let cell: Arc<OnceLock<Listener>> = Arc::default();
    let first_bytes_out = Arc::new(AtomicU64::new(u64::MAX));
    let (r, after, weak, first) =
        (release.clone(), handled_after_answers_left.clone(), Arc::downgrade(&cell), first_bytes_out.clone());
    let handler: Handler = Arc::new(move |req: Request| {
        // The first request holds the IO thread until the whole burst is on its way.
        while !r.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Some(listener) = Weak::upgrade(&weak).as_ref().and_then(|c| c.get()) {
            let out = bytes_out(&listener.stats_json());
            let _ = first.compare_exchange(u64::MAX, out, Ordering::Relaxed, Ordering::Relaxed);
            if out > first.load(Ordering::Relaxed) + LEFT {
                after.fetch_add(1, Ordering::Relaxed);
            }
        }
        req.respond(b"[ { \"result\": 0 } ]").unwrap();
    });
    let _ = cell.set(Listener::new(r#"{"handler-threads": 0}"#, handler).unwrap());
    let listener = cell.get().unwrap();
    let client = Client::new(r#"{"connections-per-peer": 1, "max-in-flight": 4096}"#).unwrap();
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    let answered = Arc::new(AtomicUsize::new(0));
    for n in 0..BURST {
        let answered = answered.clone();
        let done = Box::new(move |r: Reply<'_>| {
            if r.status == Status::Ok {
                answered.fetch_add(1, Ordering::Relaxed);
            }
        });
        client.send(&url, lease_update(n).as_bytes(), done, None).unwrap();
    }
    // Let the burst reach the listener's socket before its IO thread reads on.
    std::thread::sleep(Duration::from_millis(200));
    release.store(true, Ordering::Release);
    wait_until("every request answered with success", || answered.load(Ordering::Relaxed) == BURST);
    let after = handled_after_answers_left.load(Ordering::Relaxed);
    // The first answers leave after the first turn (128 requests: 1872 handled after);
    // handled all before answering, none would be (or, where a short read lets the
    // writer out mid-burst, a part: up to 944 seen).
    assert!(
        after >= BURST * 3 / 4,
        "only {after} of {BURST} requests were handled after the first answers had left"
    );
}

#[test]
fn a_client_sends_what_its_callbacks_send_while_still_running_a_burst_of_them() {
    // The listener holds the first BURST requests, then answers them all at once.
    let held: Arc<Mutex<Vec<Request>>> = Arc::default();
    let h = held.clone();
    let handler: Handler = Arc::new(move |req: Request| {
        let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
        if body["command"] == "follow-up" {
            req.respond(b"[ { \"result\": 0 } ]").unwrap();
        } else {
            h.lock().unwrap().push(req);
        }
    });
    let listener =
        Listener::new(r#"{"handler-threads": 2, "max-pending-per-connection": 4096}"#, handler).unwrap();
    // One IO thread: the callbacks and the connection's writer share it.
    let client = Arc::new(
        Client::new(r#"{"connections-per-peer": 1, "max-in-flight": 8192, "io-threads": 1}"#).unwrap(),
    );
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    let all_answered = Arc::new(AtomicBool::new(false));
    let holding_first = Arc::new(AtomicBool::new(false));
    let first_bytes_out = Arc::new(AtomicU64::new(u64::MAX));
    let run_after_follow_ups_left = Arc::new(AtomicUsize::new(0));
    let follow_ups_answered = Arc::new(AtomicUsize::new(0));
    for n in 0..BURST {
        let (client2, url2, all, holding) =
            (client.clone(), url.clone(), all_answered.clone(), holding_first.clone());
        let (first, after, follow_ups) =
            (first_bytes_out.clone(), run_after_follow_ups_left.clone(), follow_ups_answered.clone());
        let done = Box::new(move |r: Reply<'_>| {
            if r.status != Status::Ok {
                return;
            }
            if n == 0 {
                // The first answer came alone: hold the client's IO thread until all the
                // others are in its socket, so that its next read is a full buffer.
                holding.store(true, Ordering::Release);
                while !all.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let out = bytes_out(&client2.stats_json());
            let _ = first.compare_exchange(u64::MAX, out, Ordering::Relaxed, Ordering::Relaxed);
            if out > first.load(Ordering::Relaxed) + LEFT {
                after.fetch_add(1, Ordering::Relaxed);
            }
            let counted = follow_ups.clone();
            let follow_up = Box::new(move |r: Reply<'_>| {
                if r.status == Status::Ok {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            });
            client2.send(&url2, br#"{"command": "follow-up"}"#, follow_up, None).unwrap();
        });
        client.send(&url, lease_update(n).as_bytes(), done, None).unwrap();
    }
    wait_until("the whole burst at the listener", || held.lock().unwrap().len() == BURST);
    let mut requests = std::mem::take(&mut *held.lock().unwrap());
    let first = requests.iter().position(|r| r.body() == lease_update(0).as_bytes()).expect("request 0");
    requests.swap_remove(first).respond(b"[ { \"result\": 0 } ]").unwrap();
    wait_until("the first callback holding", || holding_first.load(Ordering::Acquire));
    for req in requests {
        req.respond(b"[ { \"result\": 0 } ]").unwrap();
    }
    all_answered.store(true, Ordering::Release);
    wait_until("every follow-up answered with success", || {
        follow_ups_answered.load(Ordering::Relaxed) == BURST
    });
    let after = run_after_follow_ups_left.load(Ordering::Relaxed);
    // The first follow-ups leave after the first turn (1872 callbacks run after); sent
    // only once all callbacks ran, none would be.
    assert!(
        after >= BURST * 3 / 4,
        "only {after} of {BURST} callbacks ran after the first follow-ups had left"
    );
}
