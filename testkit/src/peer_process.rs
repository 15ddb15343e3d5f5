//! A peer that can really die: a `hamux listen` child process — SIGKILL leaves the kernel
//! to reset its connections — or be stopped with SIGTERM, which `hamux listen` turns into
//! a graceful shutdown (Goaway, drain). The soak's peer (`hamux bench --soak`, which runs
//! its own binary) and the fault tests' (which run the tool's).

use crate::process;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// Which `hamux` binary runs and how the peer listens.
#[derive(Clone)]
pub struct PeerSpec {
    pub hamux: PathBuf,
    pub io_threads: usize,
    pub handler_threads: usize,
}

/// A running `hamux listen`.
pub struct PeerProcess {
    child: Child,
    /// Kept open: the child printed its URL there and may not find the pipe closed.
    _stdout: BufReader<ChildStdout>,
    pub port: u16,
}

impl PeerProcess {
    /// Starts `hamux listen` on `port` (0: a free one) and waits until it listens.
    ///
    /// The child is killed when the thread that started it ends (`PR_SET_PDEATHSIG`), so
    /// a soak that dies or is killed leaves no listener behind; that thread must therefore
    /// outlive its use of the peer.
    pub fn start(spec: &PeerSpec, port: u16) -> Result<PeerProcess, String> {
        let mut command = Command::new(&spec.hamux);
        process::die_with_starter(&mut command);
        let mut child = command
            .args(["listen", "--address", "127.0.0.1", "--port", &port.to_string()])
            .args(["--io-threads", &spec.io_threads.to_string()])
            .args(["--handler-threads", &spec.handler_threads.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {} listen: {e}", spec.hamux.display()))?;
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let bound = line.trim().rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok());
        match bound {
            Some(bound) if port == 0 || bound == port => {
                Ok(PeerProcess { child, _stdout: stdout, port: bound })
            }
            _ => {
                let _ = child.kill();
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                Err(format!("hamux listen on port {port} did not start ({status})"))
            }
        }
    }

    /// Starts it again on the same port. A port just freed by a killed peer can be taken
    /// a moment later than asked, so a few attempts are made.
    pub fn restart(spec: &PeerSpec, port: u16) -> Result<PeerProcess, String> {
        let mut last = String::new();
        for _ in 0..50 {
            match PeerProcess::start(spec, port) {
                Ok(peer) => return Ok(peer),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(last)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has exited (a peer nobody stopped has crashed).
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// SIGKILL, and reap it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM (a graceful shutdown) and wait for it to exit; SIGKILL after `limit`.
    pub fn terminate(mut self, limit: Duration) -> bool {
        // SAFETY: signals our own child, which has not been reaped (we own `child`).
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.kill();
        false
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        // Never leave a listener behind (kill on an exited child is harmless).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
