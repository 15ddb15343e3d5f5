//! perfdhcp (Kea's DHCP load generator) on loopback: it acts as a DHCPv4 relay at
//! [`RELAY4`] (which Kea's subnets select; a test with several relays has others, see
//! [`ensure_relay_address`]), an address `lo` lacks until root adds it, and binds the
//! relay's port 67 (547 of ::1 for DHCPv6) — so one run at a time on this machine, across
//! processes: the Kea tests and `hamux bench --scenario kea-e2e` take [`PerfdhcpTurn`]
//! around their runs.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::process::Command;

/// perfdhcp's path (Debian's kea-admin).
pub const PERFDHCP: &str = "/usr/sbin/perfdhcp";

/// The DHCPv4 relay address perfdhcp (and the tool's own DHCP client) send from.
pub const RELAY4: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// `Ok` if perfdhcp is installed.
pub fn installed() -> Result<(), String> {
    match std::path::Path::new(PERFDHCP).exists() {
        true => Ok(()),
        false => Err(format!("{PERFDHCP} is not installed (apt-get install kea-admin)")),
    }
}

/// The lock on `hamux-perfdhcp.lock` in the temporary directory, held until dropped.
pub struct PerfdhcpTurn(#[allow(dead_code)] std::fs::File);

impl PerfdhcpTurn {
    /// Waits for the turn (saying so on stderr if another process has it). Panics if the
    /// lock cannot be taken.
    pub fn wait() -> PerfdhcpTurn {
        PerfdhcpTurn::try_wait().unwrap_or_else(|e| panic!("{e}"))
    }

    /// As [`PerfdhcpTurn::wait`], with the error.
    pub fn try_wait() -> Result<PerfdhcpTurn, String> {
        use std::os::fd::AsRawFd;
        let path = std::env::temp_dir().join("hamux-perfdhcp.lock");
        let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        // SAFETY: flock on a descriptor this File owns; released when it is closed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            eprintln!("waiting for {} (perfdhcp in use) ...", path.display());
            // SAFETY: as above.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return Err(format!("flock {}: {}", path.display(), std::io::Error::last_os_error()));
            }
        }
        Ok(PerfdhcpTurn(file))
    }
}

/// Whether `lo` has `address` (as `ip -4 addr show dev lo` lists it).
fn lo_has(address: &str) -> bool {
    let out = Command::new("ip").args(["-4", "addr", "show", "dev", "lo"]).output();
    out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("{address}/")))
}

/// Gives `lo` the relay address [`RELAY4`] if it lacks it; `Err` (and how to do it) if
/// that is impossible here (it needs root and iproute2).
pub fn add_relay_address() -> Result<(), String> {
    ensure_relay_address(RELAY4)
}

/// Gives `lo` the relay address `relay` (a /32) if it lacks it; `Err` (and how to do it)
/// if that is impossible here (it needs root and iproute2).
pub fn ensure_relay_address(relay: Ipv4Addr) -> Result<(), String> {
    let relay = relay.to_string();
    if lo_has(&relay) {
        return Ok(());
    }
    let _ = Command::new("ip").args(["addr", "add", &format!("{relay}/32"), "dev", "lo"]).status();
    match lo_has(&relay) {
        true => Ok(()),
        false => {
            Err(format!("lo lacks {relay} and it cannot be added: `ip addr add {relay}/32 dev lo` as root"))
        }
    }
}

/// For a test: [`add_relay_address`], or the test is skipped through [`crate::skip`].
#[track_caller]
pub fn relay_address_ready() -> bool {
    crate::skip::needs(add_relay_address())
}

/// For a test: [`ensure_relay_address`] of `relay`, or the test is skipped through
/// [`crate::skip`].
#[track_caller]
pub fn relay_ready(relay: Ipv4Addr) -> bool {
    crate::skip::needs(ensure_relay_address(relay))
}

/// `Ok` if `lo` has ::1 (perfdhcp -6 relays from it).
pub fn loopback6() -> Result<(), String> {
    let out = Command::new("ip").args(["-6", "addr", "show", "dev", "lo"]).output();
    match out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("::1/128")) {
        true => Ok(()),
        false => Err("lo has no ::1 (IPv6 disabled?)".into()),
    }
}

/// perfdhcp's report, per exchange block ("DISCOVER-OFFER", "REQUEST-ACK", ...): its
/// (sent packets, received packets).
pub fn blocks(report: &str) -> BTreeMap<String, (u64, u64)> {
    let mut blocks = BTreeMap::new();
    for block in report.split("***Statistics for: ").skip(1) {
        let Some((name, body)) = block.split_once("***") else { continue };
        let count = |label: &str| {
            body.lines().find_map(|l| l.trim().strip_prefix(label)).and_then(|v| v.trim().parse().ok())
        };
        if let (Some(sent), Some(received)) = (count("sent packets:"), count("received packets:")) {
            blocks.insert(name.trim().to_string(), (sent, received));
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_counts_of_each_block() {
        let report =
            "header\n***Statistics for: DISCOVER-OFFER***\nsent packets: 7999\nreceived packets: 7990\n\
                      ***Statistics for: REQUEST-ACK***\nsent packets: 7990\nreceived packets: 7801\n\
                      ***Statistics for: broken***\nsent packets: 1\n";
        let blocks = blocks(report);
        assert_eq!(blocks.len(), 2, "{blocks:?}");
        assert_eq!(blocks["DISCOVER-OFFER"], (7999, 7990));
        assert_eq!(blocks["REQUEST-ACK"], (7990, 7801));
    }
}
