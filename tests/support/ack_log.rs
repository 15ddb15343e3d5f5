//! Which addresses a kea-dhcp4 ACKed to which clients, read from its own log: Kea 2.2 does
//! not print yiaddr in any packet message (`DHCP4_RESPONSE_DATA`'s "packet details" are
//! addresses, ports, type, transid and options), so an ACK is the
//! `DHCP4_PACKET_SEND ... DHCPACK` line of `kea-dhcp4.packets` (debuglevel 50) and its
//! address the `DHCP4_LEASE_ALLOC` line (INFO, `kea-dhcp4.leases`) of the same query
//! label (hardware address, client id, transaction id). DHCPv4 only.

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// A kea-dhcp4's log of the ACKs it sends and the leases it allocates, one file each.
pub struct AckLog {
    packets: PathBuf,
    leases: PathBuf,
}

/// One DHCPACK a server sent.
#[derive(Debug, Clone)]
pub struct Ack {
    pub label: String,
    pub hw: String,
    /// The address allocated (or renewed) for the same query; `None` if none was logged.
    pub address: Option<String>,
}

impl AckLog {
    /// The log of the server `name` (`<name>-packets.log`, `<name>-leases.log` in `dir`).
    pub fn new(dir: &Path, name: &str) -> AckLog {
        AckLog {
            packets: dir.join(format!("{name}-packets.log")),
            leases: dir.join(format!("{name}-leases.log")),
        }
    }

    /// The loggers to add to the server's configuration. `maxsize` 0: never rotated.
    /// Kea's child loggers do not pass their messages to the parent's output (stdout stays
    /// quiet).
    pub fn loggers(&self) -> Vec<Value> {
        vec![
            json!({"name": "kea-dhcp4.packets", "severity": "DEBUG", "debuglevel": 50,
                   "output_options": [{"output": self.packets, "maxsize": 0, "flush": true}]}),
            json!({"name": "kea-dhcp4.leases", "severity": "INFO",
                   "output_options": [{"output": self.leases, "maxsize": 0, "flush": true}]}),
        ]
    }

    /// A mark in the ACK log: [`AckLog::acks`] from it reads only what was logged later.
    pub fn mark(&self) -> u64 {
        std::fs::metadata(&self.packets).map(|m| m.len()).unwrap_or(0)
    }

    /// The ACKs logged from `mark` on, in log order.
    pub fn acks(&self, mark: u64) -> Vec<Ack> {
        let packets = std::fs::read(&self.packets).unwrap_or_default();
        let packets = String::from_utf8_lossy(&packets[(mark as usize).min(packets.len())..]).into_owned();
        let leases = std::fs::read_to_string(&self.leases).unwrap_or_default();
        // DHCP4_LEASE_ALLOC <label>: lease <address> has been allocated for <n> seconds
        let mut allocated: HashMap<&str, &str> = HashMap::new();
        for line in leases.lines() {
            let Some((_, rest)) = line.split_once(" DHCP4_LEASE_ALLOC ") else { continue };
            let Some((label, rest)) = rest.split_once(": lease ") else { continue };
            let Some((address, _)) = rest.split_once(" has been allocated") else { continue };
            allocated.insert(label, address);
        }
        // DHCP4_PACKET_SEND <label>: trying to send packet DHCPACK (type 5) from ...
        // (and DHCP4_PACKET_SEND_FAIL <label>: ... if sending failed)
        let mut failed = HashSet::new();
        let mut sent = Vec::new();
        for line in packets.lines() {
            if let Some((_, rest)) = line.split_once(" DHCP4_PACKET_SEND_FAIL ") {
                if let Some((label, _)) = rest.split_once(": ") {
                    failed.insert(label.to_string());
                }
            } else if let Some((_, rest)) = line.split_once(" DHCP4_PACKET_SEND ") {
                if let Some((label, what)) = rest.split_once(": trying to send packet ") {
                    if what.starts_with("DHCPACK ") {
                        sent.push(label.to_string());
                    }
                }
            }
        }
        sent.into_iter()
            .filter(|label| !failed.contains(label))
            .map(|label| {
                // [hwtype=1 00:0c:01:02:03:04], cid=[...], tid=0x2a
                let hw = label
                    .strip_prefix("[hwtype=")
                    .and_then(|l| l.split_once(' '))
                    .and_then(|(_, l)| l.split_once(']'))
                    .map(|(hw, _)| hw.to_string())
                    .unwrap_or_default();
                let address = allocated.get(label.as_str()).map(|a| a.to_string());
                Ack { label, hw, address }
            })
            .collect()
    }
}

/// What of `acks` `leases` (a server's, named `at` in the messages: "at the backup",
/// "there") lacks: ACKs without an allocation in the log, and ACKed addresses that are no
/// lease there, or another client's. Empty: all there.
pub fn missing_leases(acks: &[Ack], leases: &BTreeMap<String, String>, at: &str) -> Vec<String> {
    let mut missing = Vec::new();
    for ack in acks {
        match &ack.address {
            None => missing.push(format!("ACK {} without a DHCP4_LEASE_ALLOC line", ack.label)),
            Some(address) => match leases.get(address) {
                Some(hw) if *hw == ack.hw => {}
                Some(hw) => missing.push(format!("{address} ACKed to {} is {hw}'s {at}", ack.label)),
                None => missing.push(format!("{address} ACKed to {} is no lease {at}", ack.label)),
            },
        }
    }
    missing
}
