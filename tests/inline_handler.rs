//! `handler-threads: 0`: the listener runs the request callback for a parallel command on
//! the IO thread that decoded it (no hand-over), while commands of the serial lane keep a
//! thread of their own, so a slow generic command never stalls an IO thread.

use hamux::client::{Client, Reply};
use hamux::listener::{Handler, Listener, Request};
use hamux::Status;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("").to_string()
}

/// Sends `body` to `url` and waits for its completion: (status, reply body).
fn call(client: &Client, url: &str, body: &str) -> (Status, String) {
    let (tx, rx) = mpsc::channel();
    let done = Box::new(move |r: Reply<'_>| {
        let _ = tx.send((r.status, String::from_utf8_lossy(r.body).into_owned()));
    });
    client.send(url, body.as_bytes(), done, None).unwrap();
    rx.recv_timeout(WAIT).expect("a completion")
}

/// A listener answering each request at once with the name of the thread that ran it.
fn naming_listener(config: &str) -> Listener {
    let handler: Handler = Arc::new(|req: Request| {
        let answer = format!("[ {{ \"result\": 0, \"text\": \"{}\" }} ]", thread_name());
        req.respond(answer.as_bytes()).unwrap();
    });
    Listener::new(config, handler).unwrap()
}

fn text(reply: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(reply).unwrap();
    v[0]["text"].as_str().unwrap().to_string()
}

#[test]
fn parallel_commands_run_on_the_io_thread_and_serial_ones_on_their_own_thread() {
    let listener = naming_listener(r#"{"handler-threads": 0}"#);
    let port = listener.local_addr().port();
    let client = Client::new("{}").unwrap();
    for url in [format!("hamux://127.0.0.1:{port}"), format!("http://127.0.0.1:{port}/")] {
        let (status, reply) = call(&client, &url, r#"{"command": "lease4-update"}"#);
        assert_eq!(status, Status::Ok, "{url}: {reply}");
        assert!(text(&reply).starts_with("hamux-listener-io"), "{url}: ran on '{}'", text(&reply));
        let (status, reply) = call(&client, &url, r#"{"command": "config-get"}"#);
        assert_eq!(status, Status::Ok, "{url}: {reply}");
        assert!(text(&reply).starts_with("hamux-handler"), "{url}: serial ran on '{}'", text(&reply));
    }
    // With handler threads, both run on them.
    let threaded = naming_listener(r#"{"handler-threads": 2}"#);
    let url = format!("hamux://127.0.0.1:{}", threaded.local_addr().port());
    let (_, reply) = call(&client, &url, r#"{"command": "lease4-update"}"#);
    assert!(text(&reply).starts_with("hamux-handler"), "ran on '{}'", text(&reply));
}

#[test]
fn a_held_serial_command_does_not_stop_inline_lease_updates_and_is_answered_later() {
    let held: Arc<Mutex<Vec<Request>>> = Arc::default();
    let h = held.clone();
    let handler: Handler = Arc::new(move |req: Request| {
        let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
        if body["command"] == "lease4-update" {
            req.respond(b"[ { \"result\": 0 } ]").unwrap();
        } else {
            h.lock().unwrap().push(req);
        }
    });
    let listener = Listener::new(r#"{"handler-threads": 0}"#, handler).unwrap();
    let client = Client::new(r#"{"connections-per-peer": 1}"#).unwrap();
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    let (serial_tx, serial_rx) = mpsc::channel();
    let done = Box::new(move |r: Reply<'_>| serial_tx.send(r.status).unwrap());
    client.send(&url, br#"{"command": "config-get"}"#, done, None).unwrap();
    // The serial command sits with the host; lease updates on the same connection go on.
    for _ in 0..50 {
        assert_eq!(call(&client, &url, r#"{"command": "lease4-update"}"#).0, Status::Ok);
    }
    assert!(serial_rx.try_recv().is_err(), "the held command was answered by nobody");
    let deadline = std::time::Instant::now() + WAIT;
    let request = loop {
        if let Some(r) = held.lock().unwrap().pop() {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "the serial command never reached the host");
        std::thread::sleep(Duration::from_millis(5));
    };
    // Answered later from another thread, as a host may.
    std::thread::spawn(move || request.respond(b"[ { \"result\": 0 } ]").unwrap()).join().unwrap();
    assert_eq!(serial_rx.recv_timeout(WAIT).unwrap(), Status::Ok);
}

#[test]
fn an_inline_handler_that_panics_answers_cancelled_and_the_connection_goes_on() {
    let handler: Handler = Arc::new(|req: Request| {
        if req.body().windows(5).any(|w| w == b"panic") {
            panic!("the host's handler failed");
        }
        req.respond(b"[ { \"result\": 0 } ]").unwrap();
    });
    let listener = Listener::new(r#"{"handler-threads": 0}"#, handler).unwrap();
    let client = Client::new(r#"{"connections-per-peer": 1}"#).unwrap();
    let url = format!("hamux://127.0.0.1:{}", listener.local_addr().port());
    let (status, reply) = call(&client, &url, r#"{"command": "lease4-update", "panic": 1}"#);
    assert_eq!(status, Status::Cancelled, "{reply}");
    assert_eq!(call(&client, &url, r#"{"command": "lease4-update"}"#).0, Status::Ok);
    let stats: serde_json::Value = serde_json::from_str(&listener.stats_json()).unwrap();
    assert_eq!(stats["requests"], 2, "{stats}");
}
