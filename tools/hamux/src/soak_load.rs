//! The soak's client side, driven through the C ABI: `window` chains, each keeping one
//! request in flight and sending the next from its response callback, with every request
//! id accounted for in a [`Tally`].
//!
//! A chain whose request failed (the peer is down, so the next send would fail at once
//! too) parks instead of resending from the callback; the main thread relaunches parked
//! chains a few milliseconds later. A chain is touched by one thread at a time: the one
//! that holds its in-flight request, or the parking queue's lock hands it over.

use crate::body::Body;
use crate::capi::Client;
use crate::subnet::Subnet;
use crate::tally::Tally;
use hamux::ffi::{hamux_client, hamux_client_send, hamux_status};
use std::cell::UnsafeCell;
use std::ffi::{c_void, CString};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const REPLY_OK_PREFIX: &[u8] = b"[ { \"result\": 0,";

struct Shared {
    client: *mut hamux_client,
    url: CString,
    stop: AtomicBool,
    /// Chains with a request in flight.
    running: AtomicUsize,
    /// Chains whose last request failed, with when they parked.
    parked: Mutex<Vec<(Instant, usize)>>,
    tally: Tally,
}

struct ChainState {
    body: Body,
    rng: u64,
}

struct Chain {
    shared: *const Shared,
    index: usize,
    state: UnsafeCell<ChainState>,
}

impl Chain {
    /// Sends the chain's next request; false (and nothing in flight) if it was refused.
    ///
    /// # Safety
    /// The caller holds the chain and `shared` is alive.
    unsafe fn send_next(&self) -> bool {
        let shared = &*self.shared;
        let st = &mut *self.state.get();
        let r = crate::driver::xorshift(&mut st.rng);
        let pool = st.body.pool();
        st.body.set_lease(r % pool);
        let body = st.body.bytes();
        let mut txid = 0u64;
        // From here the callback may run on another thread before send returns: only
        // locals are used afterwards.
        let status = hamux_client_send(
            shared.client,
            shared.url.as_ptr(),
            body.as_ptr(),
            body.len(),
            Some(on_reply),
            self as *const Chain as *mut c_void,
            &mut txid,
        );
        if status == hamux_status::Ok {
            shared.tally.on_sent(txid);
            true
        } else {
            shared.tally.refused.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    /// Gives up the chain's turn: parked (to be relaunched) unless the run is stopping.
    fn release(&self, shared: &Shared, park: bool) {
        if park && !shared.stop.load(Ordering::Relaxed) {
            shared.parked.lock().unwrap_or_else(|p| p.into_inner()).push((Instant::now(), self.index));
        }
        shared.running.fetch_sub(1, Ordering::Release);
    }
}

/// The `hamux_response_cb` of every soak request.
unsafe extern "C" fn on_reply(
    user_data: *mut c_void,
    txid: u64,
    status: hamux_status,
    body: *const u8,
    len: usize,
) {
    // SAFETY: user_data is a chain of a live load, held by this callback now.
    let chain = &*(user_data as *const Chain);
    let shared = &*chain.shared;
    let body = if body.is_null() { &[][..] } else { std::slice::from_raw_parts(body, len) };
    shared.tally.on_callback(txid, status, body.starts_with(REPLY_OK_PREFIX));
    if shared.stop.load(Ordering::Relaxed) {
        chain.release(shared, false);
    } else if status != hamux_status::Ok || !chain.send_next() {
        chain.release(shared, true);
    }
}

/// The closed-loop client of a soak. Dropping it frees the client first — which runs
/// every outstanding callback — and only then the chains those callbacks use.
pub struct SoakLoad {
    /// Only owned: declared first, so it is freed first.
    _client: Client,
    shared: Box<Shared>,
    chains: Box<[Chain]>,
}

impl SoakLoad {
    pub fn new(
        client: Client,
        url: &str,
        window: usize,
        body_size: usize,
        subnet: &Subnet,
    ) -> Result<SoakLoad, String> {
        let shared = Box::new(Shared {
            client: client.raw(),
            url: CString::new(url).map_err(|_| "URL contains NUL".to_string())?,
            stop: AtomicBool::new(false),
            running: AtomicUsize::new(0),
            parked: Mutex::new(Vec::new()),
            tally: Tally::new(),
        });
        let template = Body::new(body_size, subnet)?;
        let chains = (0..window)
            .map(|i| Chain {
                shared: &*shared,
                index: i,
                state: UnsafeCell::new(ChainState {
                    body: template.clone(),
                    rng: crate::driver::chain_seed(i),
                }),
            })
            .collect();
        Ok(SoakLoad { _client: client, shared, chains })
    }

    fn launch(&self, i: usize) {
        self.shared.running.fetch_add(1, Ordering::AcqRel);
        // SAFETY: chain i is idle (never started, or parked and taken off the queue).
        if !unsafe { self.chains[i].send_next() } {
            self.chains[i].release(&self.shared, true);
        }
    }

    /// Starts every chain.
    pub fn start(&self) {
        for i in 0..self.chains.len() {
            self.launch(i);
        }
    }

    /// Relaunches the chains parked for at least `pause`.
    pub fn relaunch_parked(&self, pause: Duration) {
        if self.shared.stop.load(Ordering::Relaxed) {
            return;
        }
        let now = Instant::now();
        let due: Vec<usize> = {
            let mut parked = self.shared.parked.lock().unwrap_or_else(|p| p.into_inner());
            let split = parked.partition_point(|(at, _)| now.duration_since(*at) >= pause);
            parked.drain(..split).map(|(_, i)| i).collect()
        };
        for i in due {
            self.launch(i);
        }
    }

    /// No more requests: callbacks from now on end their chains.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.parked.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Requests in flight (one per running chain).
    pub fn in_flight(&self) -> usize {
        self.shared.running.load(Ordering::Acquire)
    }

    pub fn tally(&self) -> &Tally {
        &self.shared.tally
    }
}
