//! Child processes: running one to completion with a time limit and its output captured,
//! tying a long-running one's life to its starter's, and what /proc says about one.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How a child process ended: `status` is `None` if it was killed at the time limit.
pub struct Finished {
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Runs `cmd` with stdin closed and both outputs captured; kills it after `limit`.
/// Panics if it cannot start (`what` names it then).
pub fn run_with_limit(cmd: &mut Command, limit: Duration, what: &str) -> Finished {
    try_run_with_limit(cmd, limit).unwrap_or_else(|e| panic!("cannot start {what} ({cmd:?}): {e}"))
}

/// As [`run_with_limit`], with the error if it cannot start.
pub fn try_run_with_limit(cmd: &mut Command, limit: Duration) -> std::io::Result<Finished> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(Finished {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        elapsed: started.elapsed(),
    })
}

/// Has the kernel SIGKILL the child `cmd` starts when the thread that starts it ends
/// (`PR_SET_PDEATHSIG`), so a run that dies or is killed leaves no daemon behind. That
/// thread must outlive its use of the child.
pub fn die_with_starter(cmd: &mut Command) {
    // SAFETY: runs in the child between fork and exec; prctl is async-signal-safe and
    // touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| match libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        });
    }
}

/// CPU time (user + system) process `pid` used so far, from /proc (zero if it is gone).
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): state is the 3rd field,
    // utime and stime the 14th and 15th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest.split_whitespace().skip(11).take(2).filter_map(|t| t.parse::<u64>().ok()).sum();
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_nanos(ticks * 1_000_000_000 / per_second)
}

/// The peak resident set size (`VmHWM`) of process `pid` ("self" for this one), in bytes.
pub fn peak_rss(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_both_outputs_and_the_status() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
        let run = run_with_limit(&mut cmd, Duration::from_secs(60), "sh");
        assert_eq!(run.status.and_then(|s| s.code()), Some(3));
        assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("out\n", "err\n"));
        assert!(try_run_with_limit(&mut Command::new("/no/such/program"), Duration::from_secs(1)).is_err());
    }

    #[test]
    fn reads_this_process_in_proc() {
        assert!(peak_rss("self").is_some_and(|rss| rss > 0));
        assert!(peak_rss("no-such-pid").is_none());
        cpu_time(std::process::id()); // readable; its value is whatever it is
    }
}
