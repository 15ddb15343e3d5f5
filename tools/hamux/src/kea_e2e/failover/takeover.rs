//! Failover time: SIGKILL the hot-standby primary, then offer the standby a new client
//! every [`PROBE_EVERY`] (each DISCOVER answered at once with a REQUEST) until one is
//! ACKed. The standby answers none while it is in hot-standby; it does once it is in
//! partner-down, `max-response-delay` after its last heartbeat answered.

use super::super::dhcp::{self, ACK, OFFER};
use super::pair::Pair;
use std::time::{Duration, Instant};

const PROBE_EVERY: Duration = Duration::from_millis(10);
const GIVE_UP: Duration = Duration::from_secs(60);

/// Kills the primary; the time to the standby's first ACK.
pub fn first_ack(pair: &mut Pair, run: u8) -> Result<Duration, String> {
    let socket = dhcp::relay_socket()?;
    socket.set_read_timeout(Some(Duration::from_millis(1))).map_err(|e| format!("relay socket: {e}"))?;
    let standby = pair.servers[1].dhcp;
    let chaddr = |i: u32| [0x02, run, 0xfa, (i >> 16) as u8, (i >> 8) as u8, i as u8];
    let xid = |i: u32| (run as u32) << 24 | i;
    pair.servers[0].kill();
    let killed = Instant::now();
    let (mut probes, mut buf) = (0u32, [0u8; 1500]);
    let mut next_probe = killed;
    while killed.elapsed() < GIVE_UP {
        if Instant::now() >= next_probe {
            let discover = dhcp::client_message(xid(probes), chaddr(probes), None);
            socket.send_to(&discover, standby).map_err(|e| format!("sending to {standby}: {e}"))?;
            probes += 1;
            next_probe += PROBE_EVERY;
        }
        let Ok((n, _)) = socket.recv_from(&mut buf) else { continue };
        let Some(answer) = dhcp::parse_answer(&buf[..n]) else { continue };
        let index = answer.xid & 0xff_ffff;
        if answer.xid >> 24 != run as u32 || index >= probes || answer.chaddr != chaddr(index) {
            continue;
        }
        match answer.kind {
            OFFER => {
                let Some(id) = answer.server else { continue };
                let request = dhcp::client_message(answer.xid, answer.chaddr, Some((answer.yiaddr, id)));
                socket.send_to(&request, standby).map_err(|e| format!("sending to {standby}: {e}"))?;
            }
            ACK => return Ok(killed.elapsed()),
            _ => {}
        }
    }
    Err(format!(
        "the standby ACKed none of {probes} clients within {GIVE_UP:?} of the primary's death:\n{}",
        pair.servers[1].log()
    ))
}
