//! The soak's garbage injector: connections to the peer's port that do not speak hamux
//! or HTTP properly — random bytes, truncated frames, a 4 GiB length, bad HTTP, silence —
//! while the real client works on the same listener. The listener must close each of
//! them and go on serving the others.

use hamux::codec::{self, FrameType};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// One kind of bad connection.
#[derive(Clone, Copy, Debug)]
enum Garbage {
    RandomBytes,
    /// A hello and half a request frame, then close.
    TruncatedFrame,
    /// A hello and a header announcing a 4 GiB body.
    HugeLength,
    /// A hello from a future protocol version.
    BadVersion,
    /// A frame type that does not exist.
    UnknownFrame,
    /// A request line and headers that do not parse.
    BadHttp,
    /// An HTTP request announcing far more body than it sends.
    HttpShortBody,
    /// Connect, say nothing, leave.
    Silent,
}

const KINDS: [Garbage; 8] = [
    Garbage::RandomBytes,
    Garbage::TruncatedFrame,
    Garbage::HugeLength,
    Garbage::BadVersion,
    Garbage::UnknownFrame,
    Garbage::BadHttp,
    Garbage::HttpShortBody,
    Garbage::Silent,
];

fn hello() -> Vec<u8> {
    let mut out = Vec::new();
    codec::encode_hello(&mut out);
    out
}

fn bytes_of(kind: Garbage, rng: &mut u64) -> Vec<u8> {
    match kind {
        Garbage::RandomBytes => {
            let n = 1 + (next(rng) % 2048) as usize;
            (0..n).map(|_| (next(rng) >> 24) as u8).collect()
        }
        Garbage::TruncatedFrame => {
            let mut out = hello();
            let mut frame = Vec::new();
            codec::encode_frame(&mut frame, FrameType::Request, 7, br#"{"command":"lease4-update"}"#);
            out.extend_from_slice(&frame[..frame.len() / 2]);
            out
        }
        Garbage::HugeLength => {
            let mut out = hello();
            out.extend_from_slice(&[FrameType::Request as u8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
            out.extend_from_slice(&9u64.to_be_bytes());
            out
        }
        Garbage::BadVersion => b"HAMX\x63\x00\x00\x00".to_vec(),
        Garbage::UnknownFrame => {
            let mut out = hello();
            out.extend_from_slice(&[0xee, 0, 0, 0, 0, 0, 0, 2]);
            out.extend_from_slice(&1u64.to_be_bytes());
            out.extend_from_slice(b"{}");
            out
        }
        Garbage::BadHttp => b"POST / HTTP/1.1\r\nContent-Length: banana\r\n\r\n{}".to_vec(),
        Garbage::HttpShortBody => {
            b"POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"co"
                .to_vec()
        }
        Garbage::Silent => Vec::new(),
    }
}

fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Sends one bad connection; true if it connected (the peer may be down).
fn inject(addr: SocketAddr, kind: Garbage, rng: &mut u64) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else { return false };
    let _ = s.write_all(&bytes_of(kind, rng));
    // Read what the listener answers until it closes; half-sent requests are abandoned
    // after a short while (the listener would wait for the rest until its own timeouts).
    let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
    let mut sink = [0u8; 4096];
    while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
    true
}

/// Injects bad connections to `port` until `stop`; counts those that connected.
pub fn run(port: u16, seed: u64, stop: &AtomicBool, injected: &AtomicU64) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // Scrambled first: xorshift from a small seed starts with poorly mixed numbers.
    let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    while !stop.load(Relaxed) {
        let kind = KINDS[(next(&mut rng) % KINDS.len() as u64) as usize];
        if inject(addr, kind, &mut rng) {
            injected.fetch_add(1, Relaxed);
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(next(&mut rng) % 10));
    }
}
