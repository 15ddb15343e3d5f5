//! A long burst on one connection is answered in parts: the side reading it lets its
//! writer out every so many messages, so the peer works on the first answers while the
//! rest is still being handled (`io::WriterTurns`). Before, a listener with an inline
//! handler answered none of a burst until it had handled all of it, and a client sent
//! none of the requests its callbacks made until it had run every callback; on one
//! connection the two sides took turns instead of working at once.
//!
//! Each test makes the burst certain: the reading side is held until the whole burst is
//! in its socket, so it never waits for bytes (and so never lets the writer out that
//! way) until the burst is done. Each message then costs a spin of [`WORK`].

use hamux::client::{Client, Reply};
use hamux::listener::{Handler, Listener, Request};
use hamux::Status;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const BURST: usize = 2000;
/// What handling one message of the burst costs (a spin): the burst takes BURST * WORK.
const WORK: Duration = Duration::from_micros(20);
const WAIT: Duration = Duration::from_secs(30);

fn spin(d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn lease_update(n: usize) -> String {
    format!(
        r#"{{"command": "lease4-update", "arguments": {{"ip-address": "10.0.{}.{}"}}}}"#,
        n / 256,
        n % 256
    )
}

#[test]
fn an_inline_listener_answers_a_burst_while_still_handling_it() {
    let release = Arc::new(AtomicBool::new(false));
    let first_answer_seen = Arc::new(AtomicBool::new(false));
    let handled_after_first_answer = Arc::new(AtomicUsize::new(0));
    let (r, seen, after) = (release.clone(), first_answer_seen.clone(), handled_after_first_answer.clone());
    let handler: Handler = Arc::new(move |req: Request| {
        // The first request holds the IO thread until the whole burst is on its way.
        while !r.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(1));
        }
        spin(WORK);
        if seen.load(Ordering::Acquire) {
            after.fetch_add(1, Ordering::Relaxed);
        }
        req.respond(b"[ { \"result\": 0 } ]").unwrap();
    });
    let listener = Listener::new(r#"{"handler-threads": 0}"#, handler).unwrap();
    let client = Client::new(r#"{"connections-per-peer": 1, "max-in-flight": 4096}"#).unwrap();
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    let answered = Arc::new(AtomicUsize::new(0));
    for n in 0..BURST {
        let (seen, answered) = (first_answer_seen.clone(), answered.clone());
        let done = Box::new(move |r: Reply<'_>| {
            seen.store(true, Ordering::Release);
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
    let after = handled_after_first_answer.load(Ordering::Relaxed);
    // The first answers leave after the first turn (128 requests, about 3 ms here); the
    // rest takes some 35 ms more. Handled all before answering, it would be 0.
    assert!(
        after >= BURST / 2,
        "only {after} of {BURST} requests were handled after the client had its first answer"
    );
}

#[test]
fn a_client_sends_what_its_callbacks_send_while_still_running_a_burst_of_them() {
    // The listener holds the first BURST requests, then answers them all at once.
    let held: Arc<Mutex<Vec<Request>>> = Arc::default();
    let completions_run = Arc::new(AtomicUsize::new(0));
    // For each follow-up request: how many of the burst's callbacks had run when it came.
    let (follow_tx, follow_rx) = mpsc::channel::<usize>();
    let follow_tx = Mutex::new(follow_tx);
    let (h, run) = (held.clone(), completions_run.clone());
    let handler: Handler = Arc::new(move |req: Request| {
        let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
        if body["command"] == "follow-up" {
            let _ = follow_tx.lock().unwrap().send(run.load(Ordering::Acquire));
            req.respond(b"[ { \"result\": 0 } ]").unwrap();
        } else {
            h.lock().unwrap().push(req);
        }
    });
    let listener =
        Listener::new(r#"{"handler-threads": 2, "max-pending-per-connection": 4096}"#, handler).unwrap();
    let client = Arc::new(
        Client::new(r#"{"connections-per-peer": 1, "max-in-flight": 8192, "io-threads": 1}"#).unwrap(),
    );
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    let all_answered = Arc::new(AtomicBool::new(false));
    let follow_ups_answered = Arc::new(AtomicUsize::new(0));
    for n in 0..BURST {
        let (client2, url2, run) = (client.clone(), url.clone(), completions_run.clone());
        let (all, follow_ups) = (all_answered.clone(), follow_ups_answered.clone());
        let done = Box::new(move |r: Reply<'_>| {
            if r.status != Status::Ok {
                return;
            }
            if n == 0 {
                // Hold the client's IO thread until every answer is in its socket.
                while !all.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            spin(WORK);
            let counted = follow_ups.clone();
            let follow_up = Box::new(move |r: Reply<'_>| {
                if r.status == Status::Ok {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            });
            client2.send(&url2, br#"{"command": "follow-up"}"#, follow_up, None).unwrap();
            run.fetch_add(1, Ordering::Release);
        });
        client.send(&url, lease_update(n).as_bytes(), done, None).unwrap();
    }
    wait_until("the whole burst at the listener", || held.lock().unwrap().len() == BURST);
    let requests = std::mem::take(&mut *held.lock().unwrap());
    for req in requests {
        req.respond(b"[ { \"result\": 0 } ]").unwrap();
    }
    all_answered.store(true, Ordering::Release);
    wait_until("every follow-up answered with success", || {
        follow_ups_answered.load(Ordering::Relaxed) == BURST
    });
    let first = follow_rx.try_iter().min().expect("follow-ups reached the listener");
    // The first follow-ups leave after the first turn; sent only once all callbacks ran,
    // the first would find BURST of them run.
    assert!(
        first <= BURST / 2,
        "the first follow-up reached the listener after {first} of {BURST} callbacks had run"
    );
}
