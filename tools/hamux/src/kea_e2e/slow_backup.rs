//! The head-of-line backup: a hamux listener in this process (`hamux://` and Kea's HTTP
//! on one port, so a Kea HA primary and the hook can both replicate to it) that accepts
//! every lease update and answers every [`EVERY`]th one [`HOLD`] late, from a delay
//! thread, as a backup stalled on a slow disk or a lock would. It remembers the addresses
//! it held, so the client can report the other 99%'s ACKs apart.

use crate::capi;
use hamux::ffi::{hamux_request, hamux_request_respond};
use serde_json::{json, Value};
use std::collections::{HashSet, VecDeque};
use std::ffi::c_void;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const HOLD: Duration = Duration::from_millis(500);
pub const EVERY: u64 = 100;

pub struct SlowBackup {
    // Dropped first: no callback runs once the state goes.
    listener: capi::Listener,
    state: Box<State>,
}

struct State {
    updates: AtomicU64,
    held: Mutex<HashSet<Ipv4Addr>>,
    delay: Mutex<Option<Sender<Held>>>,
    thread: Option<JoinHandle<()>>,
}

/// A request answered later.
struct Held {
    due: Instant,
    request: *mut hamux_request,
    answer: Vec<u8>,
}

// SAFETY: a hamux_request may be answered from any thread (hamux.h).
unsafe impl Send for Held {}

fn respond(request: *mut hamux_request, answer: &[u8]) {
    // SAFETY: a request hamux handed to on_request, answered exactly once (here).
    unsafe { hamux_request_respond(request, answer.as_ptr(), answer.len()) };
}

impl SlowBackup {
    pub fn start() -> Result<SlowBackup, String> {
        let (tx, rx) = mpsc::channel::<Held>();
        let thread = std::thread::Builder::new()
            .name("slow-backup".into())
            .spawn(move || {
                // Every hold is as long: requests fall due in arrival order.
                let mut queue = VecDeque::<Held>::new();
                loop {
                    let next = match queue.front() {
                        None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                        Some(h) => rx.recv_timeout(h.due.saturating_duration_since(Instant::now())),
                    };
                    match next {
                        Ok(held) => queue.push_back(held),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                    while queue.front().is_some_and(|h| h.due <= Instant::now()) {
                        let h = queue.pop_front().expect("front exists");
                        respond(h.request, &h.answer);
                    }
                }
                queue.into_iter().for_each(|h| respond(h.request, &h.answer));
            })
            .map_err(|e| format!("cannot start the delay thread: {e}"))?;
        let state = Box::new(State {
            updates: AtomicU64::new(0),
            held: Mutex::default(),
            delay: Mutex::new(Some(tx)),
            thread: Some(thread),
        });
        let config = json!({"address": "127.0.0.1", "port": 0, "io-threads": 1, "handler-threads": 2,
                            "drain-timeout-ms": 200});
        let user_data = &*state as *const State as *mut c_void;
        // SAFETY: the state is boxed (stable address) and outlives the listener (field
        // order); on_request answers every request, now or from the delay thread.
        let listener = unsafe { capi::Listener::new(&config.to_string(), Some(on_request), user_data)? };
        Ok(SlowBackup { listener, state })
    }

    pub fn port(&self) -> u16 {
        self.listener.port()
    }

    /// The addresses whose update was answered late.
    pub fn held(&self) -> HashSet<Ipv4Addr> {
        self.state.held.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for State {
    fn drop(&mut self) {
        drop(self.delay.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Kea's answer to `command`: lease updates and deletions succeed; a heartbeat says the
/// backup is fine (Kea's passive-backup primary sends none, but costs nothing).
fn answer(command: &Value) -> Value {
    match command["command"].as_str().unwrap_or("") {
        "lease4-update" => json!([{"result": 0, "text": "IPv4 lease updated."}]),
        "lease4-del" => json!([{"result": 0, "text": "IPv4 lease deleted."}]),
        "ha-heartbeat" => json!([{"result": 0, "text": "HA peer status returned.",
            "arguments": {"state": "backup", "scopes": [], "unsent-update-count": 0}}]),
        other => json!([{"result": 2, "text": format!("'{other}' command not supported.")}]),
    }
}

unsafe extern "C" fn on_request(
    user_data: *mut c_void,
    request: *mut hamux_request,
    body: *const u8,
    len: usize,
) {
    // SAFETY: user_data is the State that outlives the listener; body is valid for the call.
    let state = &*(user_data as *const State);
    let body = if body.is_null() { &[][..] } else { std::slice::from_raw_parts(body, len) };
    let command: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let reply = answer(&command).to_string().into_bytes();
    if command["command"] != "lease4-update" {
        return respond(request, &reply);
    }
    if state.updates.fetch_add(1, Relaxed) % EVERY != EVERY - 1 {
        return respond(request, &reply);
    }
    if let Some(ip) = command["arguments"]["ip-address"].as_str().and_then(|a| a.parse().ok()) {
        state.held.lock().unwrap_or_else(|p| p.into_inner()).insert(ip);
    }
    let held = Held { due: Instant::now() + HOLD, request, answer: reply };
    let delay = state.delay.lock().unwrap_or_else(|p| p.into_inner());
    // The sender lives as long as the listener; were it gone, answer at once.
    let unsent = match delay.as_ref() {
        Some(tx) => tx.send(held).err().map(|mpsc::SendError(held)| held),
        None => Some(held),
    };
    if let Some(held) = unsent {
        respond(held.request, &held.answer);
    }
}
