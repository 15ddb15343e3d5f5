//! A real kea-dhcp4 (Kea 2.2, Debian's package) serving HA lease commands on loopback for
//! `hamux bench --scenario kea`: the standby of a hot-standby pair whose primary does not
//! exist, with the lease_cmds and HA hooks, the HA dedicated listener (HA multi-threading,
//! `http-listener-threads` 2) and leases in memory only. Its files live in a temporary
//! directory. The daemon is killed when the `Kea` is dropped, and by the kernel if this
//! process dies first (`PR_SET_PDEATHSIG`), so no run leaves one behind.

use crate::subnet::Subnet;
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DAEMON: &str = "/usr/sbin/kea-dhcp4";
pub const HOOKS: &str = "/usr/lib/x86_64-linux-gnu/kea/hooks";
/// Kea's `http-listener-threads`: the threads of its HA listener.
pub const LISTENER_THREADS: usize = 2;

/// Why kea-dhcp4 cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    first_missing(&[
        DAEMON.into(),
        format!("{HOOKS}/libdhcp_ha.so"),
        format!("{HOOKS}/libdhcp_lease_cmds.so"),
    ])
}

fn first_missing(paths: &[String]) -> Option<String> {
    paths.iter().find(|p| !Path::new(p).exists()).map(|p| {
        format!("{p} is not installed (apt-get install kea-dhcp4-server); the Kea comparison needs it")
    })
}

/// A running kea-dhcp4.
pub struct Kea {
    child: Child,
    dir: PathBuf,
    port: u16,
}

/// A free TCP port on loopback (bound and released).
pub fn free_port() -> Result<u16, String> {
    let socket = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    socket.local_addr().map(|a| a.port()).map_err(|e| format!("no free port: {e}"))
}

fn config(subnet: &Subnet, port: u16, primary_port: u16) -> Value {
    let peer = |name: &str, port: u16, role: &str| json!({ "name": name, "url": format!("http://127.0.0.1:{port}/"), "role": role });
    let ha = json!({
        "this-server-name": "standby",
        "mode": "hot-standby",
        "heartbeat-delay": 1000,
        "max-response-delay": 5000,
        "max-ack-delay": 5000,
        "max-unacked-clients": 0,
        "multi-threading": {
            "enable-multi-threading": true,
            "http-dedicated-listener": true,
            "http-listener-threads": LISTENER_THREADS,
            "http-client-threads": 2,
        },
        "peers": [peer("primary", primary_port, "primary"), peer("standby", port, "standby")],
    });
    json!({ "Dhcp4": {
        "interfaces-config": { "interfaces": [] },
        "lease-database": { "type": "memfile", "persist": false },
        "multi-threading": { "enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 64 },
        "subnet4": [{ "id": subnet.id, "subnet": subnet.to_string() }],
        "hooks-libraries": [
            { "library": format!("{HOOKS}/libdhcp_lease_cmds.so") },
            { "library": format!("{HOOKS}/libdhcp_ha.so"), "parameters": { "high-availability": [ha] } },
        ],
        "loggers": [{ "name": "kea-dhcp4", "output_options": [{ "output": "stdout" }], "severity": "WARN" }],
    }})
}

impl Kea {
    /// Starts kea-dhcp4 with `subnet` on a free loopback port and waits until it listens.
    pub fn start(subnet: &Subnet) -> Result<Kea, String> {
        let (port, primary_port) = (free_port()?, free_port()?);
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let what = format!("listen on {address}");
        Kea::start_with(&format!("kea-{port}"), &config(subnet, port, primary_port), &[], port, &what, || {
            TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
        })
    }

    /// Starts kea-dhcp4 with a whole configuration (`{"Dhcp4": ...}`) and extra
    /// arguments, its files in a temporary directory named after `label`, and waits up to
    /// 15 s until `ready` says it is (`what` names that in the error). `port` is the HA
    /// listener's, for [`url`](Self::url).
    pub fn start_with(
        label: &str,
        config: &Value,
        args: &[&str],
        port: u16,
        what: &str,
        ready: impl FnMut() -> bool,
    ) -> Result<Kea, String> {
        let dir = std::env::temp_dir().join(format!("hamux-bench-{label}-{}", std::process::id()));
        let spawned = Kea::spawn(&dir, config, args);
        let child = spawned.inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&dir);
        })?;
        let mut kea = Kea { child, dir, port };
        kea.wait_until(what, ready)?;
        Ok(kea)
    }

    fn spawn(dir: &Path, config: &Value, args: &[&str]) -> Result<Child, String> {
        let io = |what: &str, e: std::io::Error| format!("{what} in {}: {e}", dir.display());
        std::fs::create_dir_all(dir).map_err(|e| io("cannot create a directory", e))?;
        let config_path = dir.join("kea-dhcp4.json");
        std::fs::write(&config_path, config.to_string()).map_err(|e| io("cannot write the config", e))?;
        let log = std::fs::File::create(dir.join("kea.log")).map_err(|e| io("cannot create the log", e))?;
        let log2 = log.try_clone().map_err(|e| io("cannot open the log", e))?;
        let mut command = Command::new(DAEMON);
        command.arg("-c").arg(&config_path).args(args);
        command.env("KEA_PIDFILE_DIR", dir).env("KEA_LOCKFILE_DIR", dir);
        command.stdin(Stdio::null()).stdout(log).stderr(log2);
        // SAFETY: runs in the child between fork and exec; prctl is async-signal-safe.
        unsafe {
            command.pre_exec(|| match libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            });
        }
        command.spawn().map_err(|e| format!("cannot start {DAEMON}: {e}"))
    }

    fn wait_until(&mut self, what: &str, mut ready: impl FnMut() -> bool) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !ready() {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("kea-dhcp4 exited ({status}):\n{}", self.log_tail()));
            }
            if Instant::now() > deadline {
                return Err(format!("kea-dhcp4 did not {what} within 15 s:\n{}", self.log_tail()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// The last 20 lines of its log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("kea.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The URL of its HA listener.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// CPU time (user + system) the daemon used so far, from /proc.
    pub fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which may hold spaces): state is the 3rd field,
        // utime and stime the 14th and 15th.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let ticks: u64 = rest.split_whitespace().skip(11).take(2).filter_map(|t| t.parse::<u64>().ok()).sum();
        // SAFETY: sysconf has no preconditions.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        Duration::from_nanos(ticks * 1_000_000_000 / per_second)
    }
}

/// `kea-dhcp4 -v`, e.g. "2.2.0".
pub fn version() -> String {
    Command::new(DAEMON)
        .arg("-v")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "?".into(), |v| v.trim().to_string())
}

impl Drop for Kea {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_is_missing_and_writes_a_standby_config() {
        let missing = first_missing(&["/".into(), "/no/such/kea-dhcp4".into()]).unwrap();
        assert!(missing.starts_with("/no/such/kea-dhcp4 is not installed"), "{missing}");
        assert_eq!(first_missing(&["/".into()]), None);
        let subnet = Subnet::parse("192.0.2.0/24", 7).unwrap();
        let c = config(&subnet, 4001, 4002);
        assert_eq!(c["Dhcp4"]["subnet4"][0], json!({ "id": 7, "subnet": "192.0.2.0/24" }));
        let ha = &c["Dhcp4"]["hooks-libraries"][1]["parameters"]["high-availability"][0];
        assert_eq!(ha["peers"][1]["url"], "http://127.0.0.1:4001/");
        assert_eq!(ha["peers"][1]["role"], "standby");
        assert_eq!(ha["multi-threading"]["http-dedicated-listener"], true);
    }
}
