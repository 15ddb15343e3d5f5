//! The leases of the sync run: a memfile lease file that a server loads at start (the
//! quickest way to give a server 100,000 leases), the count of leases a server holds, and
//! the sync time the HA library logs.

use super::pair::Server;
use serde_json::json;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The first address of the file's leases: inside `servers::POOL` and subnet 1.
const FIRST: Ipv4Addr = Ipv4Addr::new(10, 8, 0, 1);
/// Leases per `lease4-get-page` when counting.
const PAGE: u64 = 10_000;

/// Writes Kea 2.2's memfile DHCPv4 lease file (schema 2.1) with `count` leases of subnet
/// 1, each of its own client, valid for an hour from now.
pub fn write_file(path: &Path, count: u32) -> Result<(), String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut text = String::from("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n");
    let first = u32::from(FIRST);
    for i in 0..count {
        let address = Ipv4Addr::from(first + i);
        let [_, b, c, d] = i.to_be_bytes();
        // cltt (expire - valid) is now: none expires during the run.
        let _ = writeln!(text, "{address},02:fa:00:{b:02x}:{c:02x}:{d:02x},,3600,{},1,0,0,,0,", now + 3600);
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// How many DHCPv4 leases `server` holds, by `lease4-get-page` on its control socket.
pub fn count(server: &Server) -> Result<u64, String> {
    let (mut from, mut total) = ("start".to_string(), 0u64);
    loop {
        let page = server
            .command(&json!({"command": "lease4-get-page", "arguments": {"from": from, "limit": PAGE}}))?;
        let leases = match page["result"].as_i64() {
            Some(3) => return Ok(total), // empty: no more leases
            Some(0) => page["arguments"]["leases"].as_array().cloned().unwrap_or_default(),
            _ => return Err(format!("lease4-get-page on {}: {page}", server.name)),
        };
        total += leases.len() as u64;
        match leases.last().and_then(|l| l["ip-address"].as_str()) {
            Some(last) if leases.len() as u64 == PAGE => from = last.to_string(),
            _ => return Ok(total),
        }
    }
}

/// The sync's duration as the HA library logged it: libdhcp_ha's `HA_SYNC_SUCCESSFUL
/// ... completed successfully in 1234.567 ms` (Kea's stopwatch format), the hook's
/// `HAMUX_SYNC_SUCCESSFUL ... in 1234 ms`; the last such line of `log`.
pub fn logged_sync_time(log: &str) -> Option<Duration> {
    let line = log.lines().rev().find(|l| l.contains("_SYNC_SUCCESSFUL"))?;
    let (_, after) = line.rsplit_once(" in ")?;
    let mut words = after.split_whitespace();
    let value: f64 = words.next()?.parse().ok()?;
    let seconds = match words.next()? {
        "s" => value,
        "ms" => value / 1e3,
        "us" | "µs" => value / 1e6,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_one_line_per_lease_after_the_header() {
        let path = std::env::temp_dir().join(format!("hamux-leases-test-{}.csv", std::process::id()));
        write_file(&path, 300).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 301);
        assert!(lines[0].starts_with("address,hwaddr,client_id,valid_lifetime,expire,subnet_id"));
        assert!(lines[1].starts_with("10.8.0.1,02:fa:00:00:00:00,,3600,"), "{}", lines[1]);
        assert!(lines[300].starts_with("10.8.1.44,02:fa:00:00:01:2b,,3600,"), "{}", lines[300]);
        assert_eq!(lines[1].split(',').count(), 11, "every column of schema 2.1");
    }

    #[test]
    fn reads_both_libraries_sync_times() {
        let kea = "INFO  [kea-dhcp4.ha-hooks/1.1] HA_SYNC_SUCCESSFUL lease database synchronization \
                   with server2 completed successfully in 1523.455 ms";
        assert_eq!(logged_sync_time(kea), Some(Duration::from_micros(1_523_455)));
        let hook = "x\nINFO  [kea-dhcp4.hamux-hooks/7.1] HAMUX_SYNC_SUCCESSFUL lease database \
                    synchronization with server2 completed: 10 leases received, 10 applied, 0 kept \
                    as newer here, in 812 ms\ny";
        assert_eq!(logged_sync_time(hook), Some(Duration::from_millis(812)));
        assert_eq!(logged_sync_time("HA_SYNC_FAILED"), None);
    }
}
