//! A peer that floods the listener with large Pings and never reads what comes back
//! cannot make it buffer without bound: Pongs stop while much is waiting to be written.
//! (Alone in its file: it measures this process's memory.)

use hamux::codec::{self, FrameType};
use hamux::listener::{Listener, Request};
use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb / 1024
}

#[test]
fn pings_from_a_peer_that_never_reads_do_not_pile_up() {
    let listener = Listener::new("{}", Arc::new(|r: Request| drop(r.respond(b"[]")))).unwrap();
    let mut s = TcpStream::connect(listener.local_addr()).unwrap();
    let before = rss_mib();
    let mut frames = Vec::new();
    codec::encode_hello(&mut frames);
    s.write_all(&frames).unwrap();
    let mut ping = Vec::new();
    codec::encode_frame(&mut ping, FrameType::Ping, 1, &vec![b'p'; 4 * 1024 * 1024 - 64]);
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut sent = 0;
    for _ in 0..40 {
        if s.write_all(&ping).is_err() {
            break;
        }
        sent += 1;
    }
    std::thread::sleep(Duration::from_millis(500));
    let grown = rss_mib().saturating_sub(before);
    assert!(sent >= 20, "the listener kept reading: {sent} pings of 4 MiB went in");
    assert!(grown < 64, "{sent} pings of 4 MiB, never read: the process grew by {grown} MiB");
}
