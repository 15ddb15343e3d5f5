//! How much of the machine something else took during the run. Every figure of kea-e2e
//! is bound by the CPU of two cores that Kea, perfdhcp and this process share; a build or
//! a test suite running alongside (or the hypervisor's steal) moves them by half, so the
//! report says how busy the machine was with other work.

use std::time::{Duration, Instant};

pub struct Sample {
    at: Instant,
    /// All cores' busy time (/proc/stat: user, nice, system, irq, softirq, steal).
    busy: Duration,
    /// This process's and its waited-for children's (Kea, perfdhcp) CPU time.
    ours: Duration,
}

fn ticks(per_second: u64, n: u64) -> Duration {
    Duration::from_nanos(n.saturating_mul(1_000_000_000) / per_second.max(1))
}

fn rusage(who: libc::c_int) -> Duration {
    // SAFETY: getrusage writes a plain struct we provide.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(who, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The busy time in /proc/stat's first line.
fn busy(stat: &str, per_second: u64) -> Option<Duration> {
    let fields: Vec<u64> =
        stat.lines().next()?.split_whitespace().skip(1).map_while(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal
    let busy = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| fields.get(i)).sum();
    Some(ticks(per_second, busy))
}

pub fn sample() -> Sample {
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    Sample {
        at: Instant::now(),
        busy: busy(&stat, per_second).unwrap_or_default(),
        ours: rusage(libc::RUSAGE_SELF) + rusage(libc::RUSAGE_CHILDREN),
    }
}

/// The share of all cores' time between `a` and `b` that went to other processes.
pub fn others_share(a: &Sample, b: &Sample) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let wall = b.at.duration_since(a.at).as_secs_f64() * cores;
    let others = (b.busy.saturating_sub(a.busy)).saturating_sub(b.ours.saturating_sub(a.ours));
    (others.as_secs_f64() / wall.max(1e-9)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_busy_time_and_never_counts_idle() {
        let stat = "cpu  100 5 40 9000 20 3 2 50 0 0\ncpu0 1 2 3\n";
        assert_eq!(busy(stat, 100), Some(Duration::from_millis(2000)));
        assert_eq!(busy("", 100), None);
        let a = sample();
        let b = sample();
        assert!((0.0..=1.0).contains(&others_share(&a, &b)));
    }
}
