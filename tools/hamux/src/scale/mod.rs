//! `hamux bench --scenario peers` and `--scenario connections`: how hamux's cost grows
//! with the number of peers (one client, N listeners) and with the number of
//! connections one listener holds (most of them idle); and `--scenario kea-hub` ([`hub`]):
//! how a real Kea backup's cost grows with the number of its primaries. Not in the
//! default run: they start child processes and open up to 10,000 connections.

mod child;
mod connections;
mod fan_out;
pub mod hub;
pub mod idle_holders;
mod listeners;
mod peers;
mod process_stats;

use crate::bench::Load;
use serde_json::json;

/// The N values, swept when none is given.
pub const DEFAULT_PEERS: [usize; 4] = [1, 4, 16, 64];
pub const DEFAULT_IDLE: [usize; 3] = [100, 1_000, 10_000];

pub struct ScaleOptions {
    pub load: Load,
    /// `--scenario peers`: the peer counts.
    pub peers: Option<Vec<usize>>,
    /// Peers each update goes to in the fan-out rows (`None`: all of them).
    pub fan_out: Option<usize>,
    /// `--total-in-flight`: copies in flight in all, whatever N (`None`: `--window`
    /// per peer).
    pub total_in_flight: Option<usize>,
    /// `--scenario connections`: the idle connection counts.
    pub idle: Option<Vec<usize>>,
    pub json: bool,
}

/// Descriptors a process needs beyond its connections (the runtime, pipes, files).
const SPARE_DESCRIPTORS: u64 = 256;

pub fn run(o: &ScaleOptions) -> Result<(), String> {
    let limit = process_stats::raise_descriptor_limit()?;
    // The listener process holds one descriptor per connection (the idle ones' clients are
    // spread over as many holder processes as their two descriptors each take).
    let most_idle = o.idle.iter().flatten().copied().max().unwrap_or(0) as u64;
    let needed = most_idle + o.load.connections as u64 + SPARE_DESCRIPTORS;
    if most_idle > 0 && limit < needed {
        return Err(format!(
            "{most_idle} idle connections need about {needed} descriptors in the listener process, but \
             RLIMIT_NOFILE allows {limit} (its hard limit): raise it (ulimit -Hn, limits.conf, systemd's \
             LimitNOFILE) or ask for fewer with --idle-connections"
        ));
    }
    let load = &o.load;
    if !o.json {
        println!(
            "hamux {} bench (scale): {:.1} s per run, body {} bytes, client io-threads {}, descriptor limit {limit}",
            hamux::VERSION,
            load.duration.as_secs_f64(),
            load.body_size,
            load.io_threads,
        );
    }
    let mut out = json!({ "hamux-version": hamux::VERSION, "descriptor-limit": limit });
    let mut errors = 0;
    if let Some(counts) = &o.peers {
        if !o.json {
            let in_flight = match o.total_in_flight {
                Some(total) => format!("{total} requests in flight in all"),
                None => format!("{} requests in flight per peer", load.window),
            };
            println!(
                "\npeers: one client ({} connections per peer), N listeners in a child process (io-threads 1 \
                 each, handler inline); {in_flight}; client µs / peers µs: CPU per delivered update of this \
                 process / of the listeners' process",
                2
            );
        }
        let rows = peers::run(load, counts, o.fan_out, o.total_in_flight)?;
        errors += rows.iter().map(|r| r.result.errors).sum::<u64>();
        if o.json {
            out["peers"] = peers::json(&rows);
        } else {
            print!("{}", peers::table(&rows));
        }
    }
    if let Some(counts) = &o.idle {
        if !o.json {
            println!(
                "\nconnections: one listener (io-threads {}, a child process); the active load ({} connections, \
                 {} in flight) without, then beside, N idle connections (2 requests each, then only pings)",
                load.io_threads, load.connections, load.window
            );
        }
        let rows = connections::run(load, counts, limit)?;
        errors += rows.iter().map(|r| r.alone.result.errors + r.beside_idle.result.errors).sum::<u64>();
        if o.json {
            out["connections"] = connections::json(&rows);
        } else {
            print!("{}", connections::table(&rows));
        }
    }
    if o.json {
        println!("{out}");
    }
    match errors {
        0 => Ok(()),
        n => Err(format!("{n} requests failed (see the errors column)")),
    }
}

/// A list of counts, comma-separated and repeatable: `--peers 1,4 --peers 16`.
pub fn counts<'a>(
    values: impl Iterator<Item = &'a str>,
    flag: &str,
    max: usize,
) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for v in values.flat_map(|v| v.split(',')).map(str::trim).filter(|v| !v.is_empty()) {
        match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => out.push(n),
            _ => return Err(format!("{flag} takes numbers from 1 to {max}, comma-separated; got '{v}'")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::counts;

    #[test]
    fn count_lists() {
        assert_eq!(counts(["1,4", " 16 "].into_iter(), "--peers", 64).unwrap(), vec![1, 4, 16]);
        assert!(counts(["0"].into_iter(), "--peers", 64).unwrap_err().contains("'0'"));
        assert!(counts(["65"].into_iter(), "--peers", 64).is_err());
        assert!(counts(["x"].into_iter(), "--peers", 64).is_err());
    }
}
