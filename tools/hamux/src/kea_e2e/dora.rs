//! The bench's own DHCPv4 load client, because perfdhcp prints only the min/avg/max of
//! its delays: a relay at 127.0.0.2:67 starting DORA exchanges at a fixed pace (open
//! loop: a slow answer never delays the next DISCOVER, as with real clients), each with a
//! unique chaddr, answering every OFFER with a REQUEST at once and timing REQUEST → ACK,
//! the part Kea holds while the lease update is replicated.
//!
//! One thread sends the DISCOVERs on schedule; the calling thread receives, sends the
//! REQUESTs and keeps the per-exchange state, so no state is shared but two counters.
//!
//! With several servers the relay forwards every message to each of them, as a relay
//! with two helper addresses does for an HA pair: the server whose scope the client is in
//! answers, the other drops it.

use super::dhcp::{self, Answer, ACK, NAK, OFFER};
use crate::histogram::Histogram;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

pub struct DoraSpec {
    /// Where the relay forwards each message (all of them).
    pub servers: Vec<SocketAddr>,
    /// New clients per second.
    pub rate: f64,
    /// Exchanges started in this first period are not counted (connections, caches).
    pub warmup: Duration,
    /// The measured period.
    pub duration: Duration,
    /// How long after the last DISCOVER answers still count.
    pub drain: Duration,
    /// Tells this run's xids and chaddrs apart from every other run's against one server.
    pub run: u8,
}

/// The exchanges started in the measured period.
pub struct DoraResult {
    pub offered: u64,
    pub offers: u64,
    pub acks: u64,
    /// ACKs of the warm-up's exchanges (not in `acks`).
    pub warm_acks: u64,
    pub naks: u64,
    /// DISCOVERs of the measured period sent by the end of the sending period: fewer than
    /// `offered` when this client could not keep the pace (the machine's limit, not the
    /// server's).
    pub on_time: u64,
    /// Per ACK: the leased address and its REQUEST → ACK time in nanoseconds.
    pub samples: Vec<(Ipv4Addr, u64)>,
}

impl DoraResult {
    /// The latencies of the ACKs whose address `keep` accepts.
    pub fn latencies(&self, keep: impl Fn(Ipv4Addr) -> bool) -> Histogram {
        let mut h = Histogram::default();
        self.samples.iter().filter(|(ip, _)| keep(*ip)).for_each(|&(_, ns)| h.record(ns));
        h
    }
}

/// Where an exchange is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Discovering,
    /// REQUEST sent at this many ns after the start.
    Requested(u64),
    Done,
}

const INDEX_BITS: u32 = 24;

fn chaddr(run: u8, index: u32) -> [u8; 6] {
    [0x02, run, 0, (index >> 16) as u8, (index >> 8) as u8, index as u8]
}

pub fn run(spec: &DoraSpec) -> Result<DoraResult, String> {
    let socket = dhcp::relay_socket()?;
    let sender = socket.try_clone().map_err(|e| format!("relay socket: {e}"))?;
    socket.set_read_timeout(Some(Duration::from_millis(20))).map_err(|e| format!("relay socket: {e}"))?;
    let warm = (spec.rate * spec.warmup.as_secs_f64()) as u32;
    let total = warm + (spec.rate * spec.duration.as_secs_f64()) as u32;
    if total >= 1 << INDEX_BITS {
        return Err(format!("{total} exchanges in one run: at most {}", (1u32 << INDEX_BITS) - 1));
    }
    let (servers, run, interval) = (&spec.servers, spec.run, Duration::from_secs_f64(1.0 / spec.rate));
    let xid = |index: u32| (run as u32) << INDEX_BITS | index;
    let start = Instant::now();
    let failed = AtomicBool::new(false);
    let mut states = vec![State::Discovering; total as usize];
    let mut result = DoraResult {
        offered: (total - warm) as u64,
        offers: 0,
        acks: 0,
        warm_acks: 0,
        naks: 0,
        on_time: 0,
        samples: Vec::new(),
    };
    let sending_ends = start + interval * total;
    let on_time = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        let (failed, on_time) = (&failed, &on_time);
        scope.spawn(move || {
            for index in 0..total {
                let due = start + interval * index;
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let discover = dhcp::client_message(xid(index), chaddr(run, index), None);
                if !send_to_all(&sender, &discover, servers) {
                    failed.store(true, Relaxed);
                }
                if index >= warm && Instant::now() <= sending_ends {
                    on_time.fetch_add(1, Relaxed);
                }
            }
        });
        let end = sending_ends + spec.drain;
        let (mut buf, mut open) = ([0u8; 1500], total);
        while open > 0 && Instant::now() < end {
            let Ok((n, _)) = socket.recv_from(&mut buf) else { continue };
            let Some(answer) = dhcp::parse_answer(&buf[..n]) else { continue };
            let index = answer.xid & ((1 << INDEX_BITS) - 1);
            if answer.xid >> INDEX_BITS != run as u32 || index >= total || answer.chaddr != chaddr(run, index)
            {
                continue; // not this run's
            }
            let counted = index >= warm;
            let state = &mut states[index as usize];
            match (*state, answer.kind) {
                (State::Discovering, OFFER) => {
                    let Answer { yiaddr, server: Some(id), .. } = answer else { continue };
                    let request = dhcp::client_message(answer.xid, answer.chaddr, Some((yiaddr, id)));
                    *state = State::Requested(start.elapsed().as_nanos() as u64);
                    if !send_to_all(&socket, &request, servers) {
                        failed.store(true, Relaxed);
                    }
                    result.offers += counted as u64;
                }
                (State::Requested(sent), ACK) => {
                    let latency = (start.elapsed().as_nanos() as u64).saturating_sub(sent);
                    if counted {
                        result.acks += 1;
                        result.samples.push((answer.yiaddr, latency));
                    } else {
                        result.warm_acks += 1;
                    }
                    (*state, open) = (State::Done, open - 1);
                }
                (State::Requested(_), NAK) => {
                    result.naks += counted as u64;
                    (*state, open) = (State::Done, open - 1);
                }
                _ => {} // a duplicate or out-of-order answer
            }
        }
    });
    if failed.load(Relaxed) {
        return Err(format!("sending to {servers:?} failed"));
    }
    result.on_time = on_time.load(Relaxed);
    Ok(result)
}

/// Sends `message` to every server; false if any send failed.
fn send_to_all(socket: &std::net::UdpSocket, message: &[u8], servers: &[SocketAddr]) -> bool {
    servers.iter().filter(|server| socket.send_to(message, server).is_err()).count() == 0
}
