//! The listeners of a scale scenario, in a child process (`hamux listen --listeners N`):
//! the client's CPU and memory are then this process's alone, and the listeners' are
//! the child's, so each side's cost per update and per idle connection can be read
//! apart.

use super::{child, process_stats};
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Stdio};
use std::time::Duration;

pub struct ListenerProcess {
    child: Child,
    /// Kept open: the child printed its URLs there and may not find the pipe closed.
    _stdout: BufReader<ChildStdout>,
    /// One `hamux://` URL per listener.
    pub urls: Vec<String>,
}

/// How the child's listeners are set up.
pub struct ListenerSpec {
    pub listeners: usize,
    pub io_threads: usize,
    pub max_connections: usize,
}

impl ListenerProcess {
    /// Starts `hamux listen` (this binary) and waits until every listener listens.
    pub fn start(spec: &ListenerSpec) -> Result<ListenerProcess, String> {
        let (listeners, io_threads, max_connections) =
            (spec.listeners.to_string(), spec.io_threads.to_string(), spec.max_connections.to_string());
        let (mut child, mut stdout) = child::start(
            &[
                "listen",
                "--address",
                "127.0.0.1",
                "--port",
                "0",
                "--listeners",
                &listeners,
                "--io-threads",
                &io_threads,
                // The handler never blocks: inline, as in the other bench scenarios.
                "--handler-threads",
                "0",
                "--max-connections",
                &max_connections,
            ],
            Stdio::null(),
        )?;
        let mut urls = Vec::with_capacity(spec.listeners);
        while urls.len() < spec.listeners {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                return Err(format!("hamux listen --listeners {} did not start ({status})", spec.listeners));
            }
            urls.push(line.trim().to_string());
        }
        Ok(ListenerProcess { child, _stdout: stdout, urls })
    }

    pub fn cpu(&self) -> Duration {
        process_stats::cpu(self.child.id())
    }

    pub fn rss(&self) -> u64 {
        process_stats::rss(&self.child.id().to_string()).unwrap_or(0)
    }
}

impl Drop for ListenerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
