//! Running out of file descriptors (`RLIMIT_NOFILE`): the listener counts the accepts
//! that fail (`out-of-descriptors`) and backs off instead of spinning, the client fails
//! a connect that cannot get a descriptor with CONNECT and a message naming the limit
//! (and counts it), and both serve again once descriptors are free.
//!
//! The limit is lowered in a child process (this test binary run again with
//! `HAMUX_DESCRIPTOR_CHILD` set), so the other tests keep theirs.

use hamux::client::{Client, Reply};
use hamux::listener::{Handler, Listener, Request};
use hamux::Status;
use std::fs::File;
use std::net::TcpStream;
use std::process::Command;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const CHILD: &str = "HAMUX_DESCRIPTOR_CHILD";
const WAIT: Duration = Duration::from_secs(20);
const LEASE: &[u8] = br#"{"command":"lease4-update"}"#;

fn stat(json: &str, key: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v[key]
        .as_u64()
        .unwrap_or_else(|| v["peers"][0][key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}")))
}

/// Polls `cond` until it holds; fails the test after `WAIT`.
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    testkit::wait::until(what, WAIT, cond)
}

fn open_descriptors() -> u64 {
    std::fs::read_dir("/proc/self/fd").unwrap().count() as u64
}

fn set_soft_limit(n: u64) {
    // SAFETY: getrlimit/setrlimit read and write a plain struct we own.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = n;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0, "setrlimit");
    }
}

fn send(client: &Client, url: &str) -> (Status, String) {
    let (tx, rx) = mpsc::channel();
    client
        .send(
            url,
            LEASE,
            Box::new(move |r: Reply<'_>| {
                let _ = tx.send((r.status, String::from_utf8_lossy(r.body).into_owned()));
            }),
            None,
        )
        .unwrap();
    rx.recv_timeout(WAIT).unwrap()
}

#[test]
fn out_of_descriptors_is_counted_and_survived() {
    if std::env::var_os(CHILD).is_none() {
        let run = Command::new(std::env::current_exe().unwrap())
            .args([
                "out_of_descriptors_is_counted_and_survived",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "child failed\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
        return;
    }
    let handler: Handler = Arc::new(|req: Request| req.respond(b"[{\"result\":0}]").unwrap());
    let listener = Listener::new(r#"{"io-threads": 1, "handler-threads": 0}"#, handler).unwrap();
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    let client = Client::new(r#"{"io-threads": 1, "connections-per-peer": 1}"#).unwrap();
    let stats = || listener.stats_json();

    // A few descriptors to spare, then one connection held open.
    set_soft_limit(open_descriptors() + 16);
    let first = TcpStream::connect(listener.local_addr()).unwrap();
    wait_until("the first connection is accepted", || stat(&stats(), "connections-accepted") == 1);

    // Every descriptor left taken, then one freed for a connect of ours: the kernel
    // completes it from the backlog, and the listener's accept finds none.
    let mut filler = Vec::new();
    while let Ok(f) = File::open("/dev/null") {
        filler.push(f);
        assert!(filler.len() < 100, "the limit does not bind");
    }
    filler.pop();
    let second = TcpStream::connect(listener.local_addr()).unwrap();
    let started = Instant::now();
    wait_until("an accept fails for want of a descriptor", || stat(&stats(), "out-of-descriptors") > 0);
    std::thread::sleep(Duration::from_millis(500));
    let (failures, waited) = (stat(&stats(), "out-of-descriptors"), started.elapsed());
    // It retries every 50 ms, no more often (a slow machine only retries less): a spin
    // would count thousands.
    assert!(
        failures <= waited.as_millis() as u64 / 50 * 4 + 4,
        "{failures} failed accepts in {waited:?}: a spin"
    );
    assert_eq!(stat(&stats(), "connections-accepted"), 1);

    // The client cannot open its connection either: CONNECT, naming the limit.
    let (status, text) = send(&client, &url);
    assert_eq!(status, Status::Connect, "{text}");
    assert!(text.contains("file descriptors") && text.contains("RLIMIT_NOFILE"), "{text}");
    assert!(stat(&client.stats_json(), "out-of-descriptors") >= 1, "{}", client.stats_json());

    // Descriptors free again: the waiting connection is accepted, and requests go through
    // (once the client's connect backoff is over).
    drop(filler);
    wait_until("the waiting connection is accepted", || stat(&stats(), "connections-accepted") == 2);
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, text) = send(&client, &url);
        if status == Status::Ok {
            break;
        }
        assert!(Instant::now() < deadline, "no request went through: {status:?} {text}");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop((first, second));
}
