//! What the scale scenarios read about processes: resident memory (`VmRSS`), CPU time,
//! and the descriptor limit 10,000 connections need.

use std::time::Duration;

/// The resident set size (`VmRSS`) of process `pid` ("self" for this one), in bytes.
pub fn rss(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU time (user + system) of process `pid` so far.
pub fn cpu(pid: u32) -> Duration {
    testkit::process::cpu_time(pid)
}

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit (children inherit it)
/// and returns the soft limit now in force.
pub fn raise_descriptor_limit() -> Result<u64, String> {
    // SAFETY: getrlimit/setrlimit read and write a plain struct we own.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(format!("getrlimit(RLIMIT_NOFILE): {}", std::io::Error::last_os_error()));
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
        Ok(limit.rlim_cur as u64)
    }
}

/// `n` bytes as "12.3 MiB" / "45.6 KiB".
pub fn bytes(n: f64) -> String {
    if n.abs() >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", n / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", n / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        assert!(rss("self").is_some_and(|r| r > 0));
        assert!(rss("no-such-pid").is_none());
        assert!(raise_descriptor_limit().unwrap() >= 64);
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(3.0 * 1024.0 * 1024.0), "3.0 MiB");
    }
}
