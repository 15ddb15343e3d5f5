//! The listener side: a C request callback that hands each `lease4-update` to the shared
//! [`LeaseStore`] (parse, store, Kea's answer) and answers it through hamux. In head-of-line
//! mode 1% of the requests are answered 50 ms later from a delay thread.

use crate::capi;
use crate::lease_store::{Answer, LeaseStore};
use crate::subnet::is_slow_address;
use hamux::ffi::{hamux_request, hamux_request_respond, hamux_status};
use std::collections::VecDeque;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How late the head-of-line handler answers its slow requests.
pub const SLOW_DELAY: Duration = Duration::from_millis(50);

/// Listener settings the binary exposes.
#[derive(Clone)]
pub struct ListenerSettings {
    pub address: String,
    pub port: u16,
    pub io_threads: usize,
    pub handler_threads: usize,
    pub max_pending: usize,
    /// `max-connections` (`None`: the library's default, 256).
    pub max_connections: Option<usize>,
    /// TLS keys (`cert-file`, `key-file`, `trust-anchor`) to add to the configuration.
    pub tls: Option<serde_json::Value>,
}

/// A hamux listener whose requests go to a [`Handler`].
pub struct LeaseListener {
    // Declared first so it is dropped first: no callback runs once the handler goes.
    listener: capi::Listener,
    handler: Box<Handler>,
}

impl LeaseListener {
    pub fn start(s: &ListenerSettings) -> Result<LeaseListener, String> {
        let handler = Box::new(Handler::new()?);
        let mut config = serde_json::json!({
            "address": s.address,
            "port": s.port,
            "io-threads": s.io_threads,
            "handler-threads": s.handler_threads,
            "max-pending": s.max_pending,
            // One client drives the benchmark: its connections may share the whole limit.
            "max-pending-per-connection": s.max_pending,
        });
        if let Some(max) = s.max_connections {
            config["max-connections"] = max.into();
        }
        if let (Some(tls), Some(config)) = (&s.tls, config.as_object_mut()) {
            config.extend(tls.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
        }
        let user_data = &*handler as *const Handler as *mut c_void;
        // SAFETY: the handler is boxed (stable address) and outlives the listener (field
        // order); on_request answers every request it gets.
        let listener = unsafe { capi::Listener::new(&config.to_string(), Some(on_request), user_data)? };
        Ok(LeaseListener { listener, handler })
    }

    pub fn port(&self) -> u16 {
        self.listener.port()
    }

    pub fn listener(&self) -> &capi::Listener {
        &self.listener
    }

    pub fn handler(&self) -> &Handler {
        &self.handler
    }
}

/// State shared by the handler threads.
pub struct Handler {
    store: LeaseStore,
    slow_mode: AtomicBool,
    delay: DelayLine,
    /// Answers `hamux_request_respond` refused (the peer's connection was gone).
    pub respond_failures: AtomicU64,
}

impl Handler {
    fn new() -> Result<Handler, String> {
        Ok(Handler {
            store: LeaseStore::new(),
            slow_mode: AtomicBool::new(false),
            delay: DelayLine::start()?,
            respond_failures: AtomicU64::new(0),
        })
    }

    /// Head-of-line mode: leases whose address ends in `.100` (1% in a /8) are answered late.
    pub fn set_slow_mode(&self, on: bool) {
        self.slow_mode.store(on, Relaxed);
    }

    pub fn leases(&self) -> usize {
        self.store.len()
    }

    /// Commands that were not valid `lease4-update`s (answered with result 1).
    pub fn bad_commands(&self) -> u64 {
        self.store.bad_commands.load(Relaxed)
    }

    fn respond(&self, request: *mut hamux_request, answer: &[u8]) {
        // SAFETY: `request` is a handle hamux gave us, answered exactly once here.
        let status = unsafe { hamux_request_respond(request, answer.as_ptr(), answer.len()) };
        if status != hamux_status::Ok {
            self.respond_failures.fetch_add(1, Relaxed);
        }
    }
}

/// The `hamux_request_cb`: runs on hamux handler threads, several at a time.
unsafe extern "C" fn on_request(
    user_data: *mut c_void,
    request: *mut hamux_request,
    body: *const u8,
    len: usize,
) {
    // SAFETY: user_data is the Handler that outlives the listener; body is valid for the call.
    let handler = &*(user_data as *const Handler);
    let body = if body.is_null() { &[][..] } else { std::slice::from_raw_parts(body, len) };
    match handler.store.apply(body) {
        Answer::Stored { ip, answer } => {
            if handler.slow_mode.load(Relaxed) && is_slow_address(ip) {
                handler.delay.hold(request, answer);
            } else {
                handler.respond(request, answer);
            }
        }
        Answer::Refused(answer) => handler.respond(request, answer.as_bytes()),
    }
}

/// A request held for a late answer.
struct Held {
    due: Instant,
    request: *mut hamux_request,
    answer: &'static [u8],
}

// SAFETY: a hamux_request may be answered from any thread (hamux.h).
unsafe impl Send for Held {}

/// A thread answering held requests when they are due. All delays are equal, so requests
/// fall due in the order they arrive and a FIFO is enough.
struct DelayLine {
    tx: Option<Sender<Held>>,
    thread: Option<JoinHandle<()>>,
}

impl DelayLine {
    fn start() -> Result<DelayLine, String> {
        let (tx, rx) = mpsc::channel::<Held>();
        let thread = std::thread::Builder::new()
            .name("bench-delay".into())
            .spawn(move || {
                let mut queue: VecDeque<Held> = VecDeque::new();
                let answer = |h: Held| {
                    // SAFETY: each held request is answered exactly once, here.
                    unsafe { hamux_request_respond(h.request, h.answer.as_ptr(), h.answer.len()) };
                };
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
                    let now = Instant::now();
                    while queue.front().is_some_and(|h| h.due <= now) {
                        answer(queue.pop_front().expect("front exists"));
                    }
                }
                // Shutting down: answer what is left at once rather than leave it hanging.
                queue.into_iter().for_each(answer);
            })
            .map_err(|e| format!("cannot start the delay thread: {e}"))?;
        Ok(DelayLine { tx: Some(tx), thread: Some(thread) })
    }

    fn hold(&self, request: *mut hamux_request, answer: &'static [u8]) {
        let held = Held { due: Instant::now() + SLOW_DELAY, request, answer };
        if let Err(mpsc::SendError(held)) = self.tx.as_ref().expect("open until drop").send(held) {
            // SAFETY: the delay thread is gone (cannot happen before drop): answer now.
            unsafe { hamux_request_respond(held.request, held.answer.as_ptr(), held.answer.len()) };
        }
    }
}

impl Drop for DelayLine {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
