//! Single DHCPv4 DISCOVERs with a chosen `secs` field, as perfdhcp cannot send them: the
//! HA libraries' traffic analysis (`max-unacked-clients`, `max-ack-delay`) counts a client
//! as unacked by its `secs`. Sent as relayed by perfdhcp's relay address, so Kea takes
//! them as it takes perfdhcp's; nothing waits for an answer.

use super::kea_hook::RELAY4;
use std::net::{Ipv4Addr, UdpSocket};

const COOKIE: [u8; 4] = [99, 130, 83, 99];
/// BOOTP's minimum message size.
const MIN_LEN: usize = 300;

/// A relayed DISCOVER from the client with hardware address `chaddr`, trying for `secs`.
pub fn discover(xid: u32, chaddr: [u8; 6], secs: u16) -> Vec<u8> {
    let relay: Ipv4Addr = RELAY4.parse().expect("RELAY4 is an address");
    let mut p = vec![0u8; 240];
    (p[0], p[1], p[2], p[3]) = (1, 1, 6, 1); // BOOTREQUEST, Ethernet, 6-byte address, one hop
    p[4..8].copy_from_slice(&xid.to_be_bytes());
    p[8..10].copy_from_slice(&secs.to_be_bytes());
    p[24..28].copy_from_slice(&relay.octets());
    p[28..34].copy_from_slice(&chaddr);
    p[236..240].copy_from_slice(&COOKIE);
    p.extend([53, 1, 1, 255]); // DHCPDISCOVER, end
    p.resize(MIN_LEN, 0);
    p
}

/// Sends [`discover`] to a server's DHCP port on loopback.
pub fn send_discover(dhcp_port: u16, xid: u32, chaddr: [u8; 6], secs: u16) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("a UDP socket on loopback");
    socket.send_to(&discover(xid, chaddr, secs), ("127.0.0.1", dhcp_port)).expect("DISCOVER sent");
}
