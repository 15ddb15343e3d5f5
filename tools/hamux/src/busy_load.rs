//! Competing CPU load for the `pipelined-loaded` scenario: child processes that each spin
//! on a core, as other work on a shared machine does. A pool that busy-waits for work
//! degrades badly when it has to share cores with such processes (the spinner burns the
//! slice its producer needed); the scenario shows whether hamux does, next to the loop.
//!
//! The children are this binary's hidden `busy-loop` subcommand. They are killed when the
//! [`BusyLoad`] is dropped (also on an early error return), die with the bench process if
//! it is killed (`PR_SET_PDEATHSIG`), and end by themselves after a time limit in any case.
//! They call themselves `hamux-busy` (not `hamux`), so a load gate such as the peer
//! comparison's `busy.py` counts them as another busy process.
//!
//! They stay in the bench's session. With autogroup scheduling (Linux's default) a
//! process of another session competes with the bench as a whole, and how much it gets
//! then varies a lot: two such processes took 0.33-0.43 CPUs next to hamux's run but
//! 0.47-0.74 next to the loop's right after, so the pair would not see the same load.
//! In the bench's own group they compete thread by thread and took 0.90-0.94 CPUs next
//! to either (2 cores, 3 s runs).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the busy processes run before the measured load starts: new competitors take
/// a moment to get their full share (seen here: about a second to climb from a fifth of a
/// core to half of one, next to the bench).
const SETTLE: Duration = Duration::from_millis(500);

/// The competing processes; killed and reaped on drop.
pub struct BusyLoad {
    children: Vec<Child>,
}

impl BusyLoad {
    /// Starts `count` busy processes, waits until each spins, and gives the scheduler
    /// [`SETTLE`] to spread them. Each ends by itself after `lifetime` should nothing kill
    /// it.
    pub fn start(count: usize, lifetime: Duration) -> Result<BusyLoad, String> {
        let exe = std::env::current_exe().map_err(|e| format!("busy load: where is this binary: {e}"))?;
        let mut load = BusyLoad { children: Vec::with_capacity(count) };
        let parent = std::process::id().to_string();
        let seconds = format!("{:.1}", lifetime.as_secs_f64().max(1.0));
        for _ in 0..count {
            let child = Command::new(&exe)
                .args(["busy-loop", "--parent", &parent, "--seconds", &seconds])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| format!("busy load: cannot start {}: {e}", exe.display()))?;
            load.children.push(child);
        }
        for child in &mut load.children {
            let mut ready = String::new();
            let stdout = child.stdout.take().expect("piped");
            if BufReader::new(stdout).read_line(&mut ready).map_err(|e| e.to_string())? == 0 {
                return Err("busy load: a busy-loop process exited before it started".into());
            }
        }
        std::thread::sleep(SETTLE);
        Ok(load)
    }

    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }

    /// CPU time the busy processes have used so far (user + system, from /proc): how much
    /// of the machine they really took, which is the kernel's choice, not theirs.
    pub fn cpu_time(&self) -> Duration {
        // SAFETY: sysconf has no preconditions.
        let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let ticks: u64 = self.children.iter().map(|c| process_ticks(c.id()).unwrap_or(0)).sum();
        Duration::from_secs_f64(ticks as f64 / ticks_per_second)
    }

    /// Runs `f`, returning its result and how many CPUs the busy processes used meanwhile
    /// on average.
    pub fn measure<T>(&self, f: impl FnOnce() -> T) -> (T, f64) {
        let (cpu, start) = (self.cpu_time(), Instant::now());
        let out = f();
        let used = self.cpu_time().saturating_sub(cpu).as_secs_f64();
        (out, used / start.elapsed().as_secs_f64().max(1e-9))
    }
}

/// utime + stime of process `pid`, in clock ticks.
fn process_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from field 3 on.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

impl Drop for BusyLoad {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
        }
        for child in &mut self.children {
            let _ = child.wait();
        }
    }
}

/// The `busy-loop` subcommand: spins on one core for `seconds`, unless its parent (pid
/// `parent`) dies first. Prints one line once it is set up.
pub fn spin(parent: u32, seconds: Duration) -> Result<(), String> {
    // SAFETY: plain prctl calls on this process, with valid arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        libc::prctl(libc::PR_SET_NAME, c"hamux-busy".as_ptr() as libc::c_ulong);
    }
    // The parent may have died before the death signal was armed.
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } as u32 != parent {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "spinning").and_then(|()| out.flush()).map_err(|e| e.to_string())?;
    drop(out);
    let start = Instant::now();
    let mut x = 1u64;
    while start.elapsed() < seconds {
        for _ in 0..1_000_000 {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
    }
    Ok(())
}
