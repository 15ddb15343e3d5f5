//! The relay's side of DORA exchanges with Kea: its socket and one whole exchange. The
//! messages themselves are the test kit's ([`testkit::dhcp4`]), shared with the tests.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
pub use testkit::dhcp4::{client_message, parse_answer, Answer, ACK, NAK, OFFER};

/// The relay address perfdhcp and the bench's own client use; Kea's subnet selects it.
pub const RELAY: Ipv4Addr = testkit::perfdhcp::RELAY4;
/// The port a relay listens on: Kea sends relayed answers there.
pub const RELAY_PORT: u16 = 67;

/// The relay's socket: 127.0.0.2:67 (a privileged port: needs root).
pub fn relay_socket() -> Result<UdpSocket, String> {
    UdpSocket::bind((RELAY, RELAY_PORT)).map_err(|e| {
        format!("cannot bind the relay address {RELAY}:{RELAY_PORT} (needs root, and {RELAY} on lo): {e}")
    })
}

/// One whole DORA with a throw-away client, each answer awaited up to 200 ms: whether
/// the server at `server` hands out leases yet (Kea's HA answers no DHCP before its state
/// machine runs; a REQUEST's ACK also shows replication works, with wait-backup-ack).
pub fn dora_once(server: SocketAddr, xid: u32) -> bool {
    let Ok(socket) = relay_socket() else { return false };
    let chaddr = [0x02, 0xfe, (xid >> 24) as u8, (xid >> 16) as u8, (xid >> 8) as u8, xid as u8];
    let offer = exchange(&socket, server, &client_message(xid, chaddr, None), xid, OFFER);
    let Some(Answer { yiaddr, server: Some(id), .. }) = offer else { return false };
    let request = client_message(xid, chaddr, Some((yiaddr, id)));
    exchange(&socket, server, &request, xid, ACK).is_some()
}

fn exchange(socket: &UdpSocket, server: SocketAddr, message: &[u8], xid: u32, want: u8) -> Option<Answer> {
    socket.send_to(message, server).ok()?;
    let deadline = Instant::now() + Duration::from_millis(200);
    let mut buf = [0u8; 1500];
    loop {
        let left = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())?;
        socket.set_read_timeout(Some(left)).ok()?;
        let (n, _) = socket.recv_from(&mut buf).ok()?;
        match parse_answer(&buf[..n]) {
            Some(a) if a.xid == xid && a.kind == want => return Some(a),
            _ => continue,
        }
    }
}
