//! Just enough DHCPv4 (RFC 2131) for a relay agent's side of a DORA exchange, for the
//! `hamux` tool's own DHCP client and for the tests that need a message perfdhcp cannot
//! send: build DISCOVER and REQUEST as a relay at [`RELAY4`] would forward them (giaddr
//! set, so Kea selects the relayed subnet and answers to the relay's port 67), with a
//! chosen `secs` (the HA libraries' traffic analysis reads it), and read the message
//! type, xid, offered address and server identifier of Kea's answers.

use crate::perfdhcp::RELAY4;
use std::net::Ipv4Addr;

pub const DISCOVER: u8 = 1;
pub const OFFER: u8 = 2;
pub const REQUEST: u8 = 3;
pub const ACK: u8 = 5;
pub const NAK: u8 = 6;

const COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Where the options begin (after the fixed fields and the magic cookie).
pub const OPTIONS: usize = 240;
/// BOOTP's minimum message size; shorter requests are padded.
pub const MIN_LEN: usize = 300;

/// A DISCOVER (no `request`) or a REQUEST for `(address, server identifier)`, relayed.
pub fn client_message(xid: u32, chaddr: [u8; 6], request: Option<(Ipv4Addr, Ipv4Addr)>) -> Vec<u8> {
    let mut p = vec![0u8; OPTIONS];
    (p[0], p[1], p[2], p[3]) = (1, 1, 6, 1); // BOOTREQUEST, Ethernet, 6-byte address, one hop
    p[4..8].copy_from_slice(&xid.to_be_bytes());
    p[24..28].copy_from_slice(&RELAY4.octets());
    p[28..34].copy_from_slice(&chaddr);
    p[236..240].copy_from_slice(&COOKIE);
    match request {
        None => p.extend([53, 1, DISCOVER]),
        Some((address, server)) => {
            p.extend([53, 1, REQUEST, 50, 4]);
            p.extend(address.octets());
            p.extend([54, 4]);
            p.extend(server.octets());
        }
    }
    p.push(255);
    p.resize(p.len().max(MIN_LEN), 0);
    p
}

/// Sets the `secs` field of a message from [`client_message`]: how long the client says
/// it has been trying.
pub fn set_secs(message: &mut [u8], secs: u16) {
    message[8..10].copy_from_slice(&secs.to_be_bytes());
}

/// What the client needs of a server's answer.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub kind: u8,
    pub xid: u32,
    pub chaddr: [u8; 6],
    pub yiaddr: Ipv4Addr,
    pub server: Option<Ipv4Addr>,
}

/// Reads a BOOTREPLY; `None` for anything else or anything malformed.
pub fn parse_answer(p: &[u8]) -> Option<Answer> {
    if p.len() < OPTIONS + 3 || p[0] != 2 || p[236..240] != COOKIE {
        return None;
    }
    let octets = |at: usize| Ipv4Addr::new(p[at], p[at + 1], p[at + 2], p[at + 3]);
    let (mut kind, mut server, mut i) = (None, None, OPTIONS);
    while i < p.len() {
        match p[i] {
            0 => i += 1,
            255 => break,
            code => {
                let len = *p.get(i + 1)? as usize;
                let value = p.get(i + 2..i + 2 + len)?;
                match (code, len) {
                    (53, 1) => kind = Some(value[0]),
                    (54, 4) => server = Some(Ipv4Addr::new(value[0], value[1], value[2], value[3])),
                    _ => {}
                }
                i += 2 + len;
            }
        }
    }
    let mut chaddr = [0u8; 6];
    chaddr.copy_from_slice(&p[28..34]);
    let xid = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
    Some(Answer { kind: kind?, xid, chaddr, yiaddr: octets(16), server })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a server's answer to `message` looks like: BOOTREPLY, yiaddr, options.
    fn answer_to(message: &[u8], kind: u8, yiaddr: Ipv4Addr) -> Vec<u8> {
        let mut p = message[..OPTIONS].to_vec();
        p[0] = 2;
        p[16..20].copy_from_slice(&yiaddr.octets());
        p.extend([0, 53, 1, kind, 54, 4, 127, 0, 0, 1, 51, 4, 0, 0, 14, 16, 255]);
        p
    }

    #[test]
    fn builds_relayed_messages_and_reads_answers() {
        let chaddr = [2, 0, 0, 0, 0, 7];
        let discover = client_message(0x0100_0007, chaddr, None);
        assert_eq!(discover.len(), MIN_LEN);
        assert_eq!(&discover[24..28], &[127, 0, 0, 2], "giaddr is the relay");
        assert_eq!(&discover[240..244], &[53, 1, DISCOVER, 255]);
        let mut trying = discover.clone();
        set_secs(&mut trying, 0x1234);
        assert_eq!(&trying[8..10], &[0x12, 0x34], "secs, big-endian");
        assert_eq!(trying[..8], discover[..8]);
        assert_eq!(trying[10..], discover[10..]);
        let request = client_message(7, chaddr, Some((Ipv4Addr::new(10, 1, 0, 9), Ipv4Addr::LOCALHOST)));
        assert_eq!(&request[240..255], &[53, 1, 3, 50, 4, 10, 1, 0, 9, 54, 4, 127, 0, 0, 1]);

        let offer = parse_answer(&answer_to(&discover, OFFER, Ipv4Addr::new(10, 1, 0, 9))).unwrap();
        let want = Answer {
            kind: OFFER,
            xid: 0x0100_0007,
            chaddr,
            yiaddr: Ipv4Addr::new(10, 1, 0, 9),
            server: Some(Ipv4Addr::LOCALHOST),
        };
        assert_eq!(offer, want);
        assert_eq!(parse_answer(&discover), None, "a BOOTREQUEST is no answer");
        let mut truncated = answer_to(&discover, ACK, Ipv4Addr::LOCALHOST);
        truncated.truncate(OPTIONS + 3);
        assert_eq!(parse_answer(&truncated), None, "an option running past the end");
    }
}
