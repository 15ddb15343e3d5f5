//! The loop's client: what [`crate::driver`] does, without hamux. `window` chains each
//! keep one request in flight, spread over the connections as evenly as they go; a
//! reply's latency is recorded and the chain's next request encoded at once, and each
//! read's batch of next requests goes out in one write. Bodies, lease choice and the
//! reply check are the driver's. Over HTTP each connection carries one chain, as hamux's
//! HTTP client keeps one request in flight on a connection. Each client thread owns its
//! connections and their chains outright, so nothing on the hot path is shared but a
//! progress counter.

use super::conn::{Conn, Filled};
use super::epoll::{Epoll, Events};
use super::wire::Requests;
use crate::bench::Transport;
use crate::body::Body;
use crate::driver::{chain_seed, xorshift, Leases, REPLY_OK_PREFIX};
use crate::histogram::Histogram;
use hamux::codec;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a client thread waits for the last replies once stopped before it gives up.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// One closed-loop request sequence (the driver's `ChainState`, minus hamux).
struct Chain {
    body: Body,
    rng: u64,
    leases: Leases,
    sent_at: Instant,
}

impl Chain {
    fn new(template: &Body, index: usize, window: usize) -> Chain {
        Chain {
            body: template.clone(),
            rng: chain_seed(index),
            leases: Leases::of_chain(index as u64, window as u64, template.pool()),
            sent_at: Instant::now(),
        }
    }

    /// Encodes the chain's next request (txid = the chain's index) into `out`.
    fn send_next(&mut self, requests: &Requests, txid: u64, out: &mut Vec<u8>) {
        self.body.set_lease(self.leases.pick(xorshift(&mut self.rng)));
        self.sent_at = Instant::now();
        requests.encode(out, txid, self.body.bytes());
    }
}

/// A client connection and the chains it carries: txids `first..first + chains.len()`.
pub struct ClientConn {
    conn: Conn,
    requests: Requests,
    first: u64,
    chains: Vec<Chain>,
    /// Chains with a request in flight.
    in_flight: usize,
}

/// Opens connection `k`, speaking what `requests` encode: sends (over `hamux://` after the
/// hello) two warm-up requests one at a time on the blocking socket, as the driver's
/// warm-up does, so connecting is not timed; then readies it for the loop with chains
/// `first..first + count`.
pub fn connect(
    stream: TcpStream,
    k: usize,
    template: &Body,
    requests: Requests,
    (first, count, window): (usize, usize, usize),
) -> Result<ClientConn, String> {
    let fail = |e: String| format!("loop client: warm-up: {e}");
    let wire = requests.wire();
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| fail(e.to_string()))?;
    let mut warm = template.clone();
    let pool = template.pool();
    let mut out = Vec::new();
    if wire == Transport::Hamux {
        codec::encode_hello(&mut out);
    }
    let mut input = Vec::new();
    for j in 0..2u64 {
        warm.set_lease(pool - 1 - (k as u64 * 2 + j) % pool);
        requests.encode(&mut out, 0, warm.bytes());
        (&stream).write_all(&out).map_err(|e| fail(e.to_string()))?;
        out.clear();
        if j == 0 && wire == Transport::Hamux {
            read_until(&stream, &mut input, |b| {
                Ok(codec::decode_hello(b).map_err(|e| e.to_string())?.map(|v| (v, codec::HELLO_LEN)))
            })
            .map_err(fail)?;
        }
        let refused = read_until(&stream, &mut input, |b| {
            Ok(wire.decode_reply(b, 4096)?.map(|(r, n)| {
                let text = (!r.answered)
                    .then(|| String::from_utf8_lossy(&r.body[..r.body.len().min(300)]).into_owned());
                (text, n)
            }))
        })
        .map_err(fail)?;
        if let Some(text) = refused {
            return Err(fail(format!("refused: {text}")));
        }
    }
    stream.set_read_timeout(None).map_err(|e| fail(e.to_string()))?;
    let chains: Vec<Chain> = (first..first + count).map(|i| Chain::new(template, i, window)).collect();
    let conn = Conn::new(stream, 0, wire, 64 * 1024).map_err(|e| format!("loop client: {e}"))?;
    Ok(ClientConn { conn, requests, first: first as u64, in_flight: 0, chains })
}

/// Reads from the blocking `stream` into `input` until `decode` finds what it wants at the
/// start; removes those bytes.
fn read_until<T>(
    mut stream: &TcpStream,
    input: &mut Vec<u8>,
    decode: impl Fn(&[u8]) -> Result<Option<(T, usize)>, String>,
) -> Result<T, String> {
    loop {
        if let Some((found, n)) = decode(input)? {
            input.drain(..n);
            return Ok(found);
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).map_err(|e| e.to_string())? {
            0 => return Err("the server closed the connection".into()),
            n => input.extend_from_slice(&chunk[..n]),
        }
    }
}

/// What one client thread measured.
#[derive(Default)]
pub struct Outcome {
    pub latencies: Histogram,
    /// When the last reply came.
    pub last: Option<Instant>,
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Outcome {
    fn error(&mut self, why: impl FnOnce() -> String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(why());
        }
    }
}

/// Runs `conns` closed loop until `stop`, then until their last replies are in.
/// `done` counts replies, for the progress line.
pub fn drive(mut conns: Vec<ClientConn>, stop: &AtomicBool, done: &AtomicU64) -> Outcome {
    let mut outcome = Outcome::default();
    let epoll = match Epoll::new() {
        Ok(e) => e,
        Err(e) => {
            outcome.error(|| format!("loop client: epoll_create1: {e}"));
            return outcome;
        }
    };
    let mut running = 0;
    for (token, c) in conns.iter_mut().enumerate() {
        c.conn.token = token as u64;
        if let Err(e) = epoll.add(c.conn.fd(), c.conn.token) {
            outcome.error(|| format!("loop client: epoll_ctl: {e}"));
            return outcome;
        }
        for (i, chain) in c.chains.iter_mut().enumerate() {
            chain.send_next(&c.requests, c.first + i as u64, &mut c.conn.output);
        }
        c.in_flight = c.chains.len();
        running += c.in_flight;
        if let Err(e) = c.conn.flush(&epoll) {
            outcome.error(|| format!("loop client: write: {e}"));
            return outcome;
        }
    }
    let mut events = Events::new();
    let mut replies = 0u64;
    let mut last_event = Instant::now();
    while running > 0 {
        if let Err(e) = epoll.wait(Duration::from_millis(100), &mut events) {
            outcome.error(|| format!("loop client: epoll_wait: {e}"));
            break;
        }
        let stopping = stop.load(Ordering::Relaxed);
        for event in events.iter() {
            last_event = Instant::now();
            let c = &mut conns[event.token as usize];
            match on_event(c, event.writable, event.readable, stopping, &epoll, &mut outcome) {
                Ok(n) => {
                    replies += n.replies;
                    c.in_flight -= n.finished;
                    running -= n.finished;
                }
                Err(why) => {
                    // A broken connection: its requests in flight will never be answered.
                    outcome.error(|| why);
                    outcome.errors += c.in_flight.saturating_sub(1) as u64;
                    running -= c.in_flight;
                    c.in_flight = 0;
                    epoll.remove(c.conn.fd());
                }
            }
        }
        done.store(replies + outcome.errors, Ordering::Relaxed);
        if stopping && last_event.elapsed() > DRAIN_LIMIT {
            outcome.error(|| format!("loop client: {running} requests never answered"));
            outcome.errors += running as u64 - 1;
            break;
        }
    }
    outcome
}

/// Replies handled and chains finished (stopped) by one event.
struct Progress {
    replies: u64,
    finished: usize,
}

fn on_event(
    c: &mut ClientConn,
    writable: bool,
    readable: bool,
    stopping: bool,
    epoll: &Epoll,
    outcome: &mut Outcome,
) -> Result<Progress, String> {
    let io = |e: std::io::Error| format!("loop client: {e}");
    let mut progress = Progress { replies: 0, finished: 0 };
    if writable {
        c.conn.flush(epoll).map_err(io)?;
    }
    if !readable {
        return Ok(progress);
    }
    if let Filled::Closed = c.conn.fill().map_err(io)? {
        return Err("loop client: the server closed the connection".into());
    }
    let max_body = c.conn.max_body;
    let mut used = 0;
    let (input, output) = c.conn.split();
    let wire = c.requests.wire();
    while let Some((reply, n)) = wire.decode_reply(&input[used..], max_body)? {
        let now = Instant::now();
        used += n;
        // Over HTTP the reply is to the connection's one chain.
        let txid = reply.txid.unwrap_or(c.first);
        let Some(chain) = txid.checked_sub(c.first).and_then(|i| c.chains.get_mut(i as usize)) else {
            return Err(format!("loop client: reply for unknown txid {txid}"));
        };
        if reply.answered && reply.body.starts_with(REPLY_OK_PREFIX) {
            outcome.latencies.record(now.saturating_duration_since(chain.sent_at).as_nanos() as u64);
            progress.replies += 1;
        } else {
            outcome.error(|| {
                let text = String::from_utf8_lossy(&reply.body[..reply.body.len().min(300)]);
                format!("{} reply: {text}", if reply.answered { "an answered" } else { "a refused" })
            });
        }
        outcome.last = Some(now);
        if stopping {
            progress.finished += 1;
        } else {
            chain.send_next(&c.requests, txid, output);
        }
    }
    c.conn.consume(used);
    c.conn.flush(epoll).map_err(io)?;
    Ok(progress)
}
