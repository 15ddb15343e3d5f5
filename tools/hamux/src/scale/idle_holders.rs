//! The idle connections of `--scenario connections`, held by child processes
//! (`hamux hold-idle`, not in the usage text): a client's `hamux://` connection takes two
//! descriptors (its socket and the duplicate host threads write through), so 10,000 of
//! them in the bench's own process would need 20,000 descriptors beside the active load,
//! the hard limit of many machines (this one's too). Each holder opens its share, reports
//! its resident memory before and with them, and keeps them until its stdin closes.

use super::{child, process_stats, SPARE_DESCRIPTORS};
use crate::capi::Client;
use crate::driver::{self, LoadSpec};
use crate::subnet::Subnet;
use serde_json::json;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Stdio};
use std::time::Duration;

/// Idle connections per client: `connections-per-peer` allows up to 1024.
const PER_CLIENT: usize = 1000;

/// Idle connections a holder can take with `limit` descriptors.
pub fn per_holder(limit: u64) -> usize {
    (limit.saturating_sub(SPARE_DESCRIPTORS) / 2).max(1) as usize
}

pub struct IdleHolders {
    holders: Vec<(Child, BufReader<ChildStdout>)>,
    /// The holders' resident memory summed, before their connections and with them.
    pub rss: (u64, u64),
}

impl IdleHolders {
    /// Opens `n` idle connections to `url` over as few holders as the descriptor limit
    /// `limit` allows; returns once every connection is up.
    pub fn open(url: &str, n: usize, body_size: usize, limit: u64) -> Result<IdleHolders, String> {
        let count = n.div_ceil(per_holder(limit)).max(1);
        let mut holders = IdleHolders { holders: Vec::with_capacity(count), rss: (0, 0) };
        // One after the other, each once the one before has all its connections up: the
        // listener then has at most one client's burst of connects to accept at a time.
        for i in 0..count {
            let (share, body) = ((n / count + usize::from(i < n % count)).to_string(), body_size.to_string());
            let args = ["hold-idle", "--url", url, "--connections", &share, "--body-size", &body];
            let (child, mut stdout) = child::start(&args, Stdio::piped())?;
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap_or(0);
            let ready = parse_ready(&line);
            holders.holders.push((child, stdout));
            let Some((before, after)) = ready else {
                let said = line.trim().strip_prefix("error ").unwrap_or("no report");
                return Err(format!("an idle-connection holder failed: {said}"));
            };
            holders.rss.0 += before;
            holders.rss.1 += after;
        }
        Ok(holders)
    }
}

/// `ready <rss before> <rss with the connections>`, in bytes.
fn parse_ready(line: &str) -> Option<(u64, u64)> {
    let mut words = line.strip_prefix("ready ")?.split_whitespace();
    Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
}

impl Drop for IdleHolders {
    fn drop(&mut self) {
        for (child, _) in &mut self.holders {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `hamux hold-idle`: opens `n` idle connections to `url` (two requests each, then only
/// keep-alive pings), prints `ready <rss before> <rss after>` (or `error <why>`), and
/// holds them until stdin closes.
pub fn hold(url: &str, n: usize, body_size: usize) -> Result<(), String> {
    let (_clients, before) = open(url, n, body_size).inspect_err(|e| println!("error {e}"))?;
    // Let the last replies and pongs settle before reading memory.
    std::thread::sleep(Duration::from_millis(500));
    println!("ready {before} {}", process_stats::rss("self").unwrap_or(0));
    // The bench closes stdin (or kills this process) when the measurement is over.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    Ok(())
}

/// Opens the connections over as many clients as it takes; returns them and the
/// resident memory from before the first.
fn open(url: &str, n: usize, body_size: usize) -> Result<(Vec<Client>, u64), String> {
    let limit = process_stats::raise_descriptor_limit()?;
    if n > per_holder(limit) {
        return Err(format!("{n} idle connections need {} descriptors; RLIMIT_NOFILE allows {limit}", 2 * n));
    }
    let before = process_stats::rss("self").unwrap_or(0);
    let mut clients = Vec::new();
    let mut left = n;
    while left > 0 {
        let count = left.min(PER_CLIENT);
        left -= count;
        let client = Client::new(&json!({ "io-threads": 1, "connections-per-peer": count }).to_string())?;
        let spec = LoadSpec {
            label: "idle",
            url,
            window: 1,
            duration: Duration::ZERO,
            body_size,
            subnet: Subnet::DEFAULT,
            split_slow: false,
        };
        // Two requests per connection: the pool hands them round robin, so every
        // connection is opened and carries two.
        driver::warm_up(&client, &spec, count)?;
        let connected =
            client.stats().and_then(|s| s["peers"][0]["connected"].as_u64()).unwrap_or(0) as usize;
        if connected != count {
            return Err(format!("{connected} of {count} idle connections are up (descriptor limit?)"));
        }
        clients.push(client);
    }
    Ok((clients, before))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_takes_what_two_descriptors_a_connection_allow() {
        assert_eq!(per_holder(20_000), 9_872);
        assert_eq!(per_holder(100), 1);
        assert_eq!(parse_ready("ready 10 250\n"), Some((10, 250)));
        assert_eq!(parse_ready("error too many"), None);
    }
}
