//! Real Kea 2.2 daemons (Debian's packages) on loopback: for the interop tests, and for
//! the tool's comparisons with Kea (`hamux bench --scenario kea`, `kea-e2e`).
//!
//! Kea is installed by `.ci/run`. Where it is missing a test says so and passes without
//! running ([`available`], through [`crate::skip`]), unless `HAMUX_REQUIRE_KEA=1` (set by
//! CI) makes that a failure; the tool reports [`installed`]'s reason instead.
//!
//! Each daemon gets a temporary directory for its configuration, log, pid and lock files,
//! removed when the [`Kea`] is dropped. The daemon is killed then too, and by the kernel
//! if the thread that started it ends first ([`process::die_with_starter`]), so no run
//! leaves one behind.

use crate::process;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where Debian installs Kea's daemons and perfdhcp.
pub const SBIN: &str = "/usr/sbin";
/// Where Debian installs Kea's hook libraries.
pub const HOOKS: &str = "/usr/lib/x86_64-linux-gnu/kea/hooks";
/// `http-listener-threads` of [`ha_hook`]: the threads of Kea's HA listener.
pub const HA_LISTENER_THREADS: usize = 2;
/// How long a daemon may take to be ready unless its [`Launcher`] says otherwise.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// The path of one of Kea's programs, e.g. `kea-dhcp4`.
pub fn program(name: &str) -> PathBuf {
    Path::new(SBIN).join(name)
}

/// `Ok` if `daemon` (e.g. "kea-dhcp4") and the hook libraries `hooks` (file names in
/// [`HOOKS`]) are installed; else which one is not, and its Debian package.
pub fn installed(daemon: &str, hooks: &[&str]) -> Result<(), String> {
    let daemon_path = program(daemon);
    if !daemon_path.exists() {
        return Err(format!("{} is not installed (apt-get install {daemon}-server)", daemon_path.display()));
    }
    match hooks.iter().map(|hook| Path::new(HOOKS).join(hook)).find(|path| !path.exists()) {
        Some(path) => Err(format!("{} is not installed (apt-get install kea-common)", path.display())),
        None => Ok(()),
    }
}

/// Whether `daemon` with Kea's HA hook can run here, for a test: if not, the test is
/// skipped (or fails, with `HAMUX_REQUIRE_KEA`) through [`crate::skip`].
#[track_caller]
pub fn available(daemon: &str) -> bool {
    crate::skip::needs(installed(daemon, &["libdhcp_ha.so"]))
}

/// A free TCP port on 127.0.0.1 (bound and released; fine on one machine).
pub fn free_port() -> u16 {
    try_free_port().unwrap_or_else(|e| panic!("{e}"))
}

/// As [`free_port`], with the error.
pub fn try_free_port() -> Result<u16, String> {
    let socket = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    socket.local_addr().map(|a| a.port()).map_err(|e| format!("no free port: {e}"))
}

/// What a daemon runs under: a program and its arguments before the daemon's path
/// (e.g. valgrind), environment variables (e.g. a sanitizer's LD_PRELOAD), and how long
/// it may take to start (instrumented daemons are slow; default 15 s).
#[derive(Clone, Debug, Default)]
pub struct Launcher {
    pub program: Vec<String>,
    pub env: Vec<(String, String)>,
    pub start_timeout: Option<Duration>,
}

/// A running Kea daemon, killed on drop.
pub struct Kea {
    child: Child,
    /// Its files: `kea.json` (the configuration it was started with), `kea.log`, and the
    /// pid and lock files Kea writes.
    pub dir: PathBuf,
}

impl Kea {
    /// Starts `daemon` with `config` (the whole JSON, e.g. `{"Dhcp4": ...}`) and `args`,
    /// then waits until `wait_for` accepts TCP connections. Panics if it does not.
    pub fn start(daemon: &str, config: &Value, args: &[&str], wait_for: SocketAddr) -> Kea {
        Kea::start_with(daemon, config, args, wait_for, &Launcher::default())
    }

    /// As [`Kea::start`], run through `launcher` (valgrind, a sanitizer's preload).
    pub fn start_with(
        daemon: &str,
        config: &Value,
        args: &[&str],
        wait_for: SocketAddr,
        launcher: &Launcher,
    ) -> Kea {
        let listens = || TcpStream::connect_timeout(&wait_for, Duration::from_millis(200)).is_ok();
        let label = wait_for.port().to_string();
        let what = format!("listen on {wait_for}");
        Kea::launch(daemon, &label, config, args, launcher, &what, listens).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts `daemon` with `config` and `args` through `launcher`, its files in a
    /// temporary directory named after `label` (unique among this process's daemons),
    /// and waits until `ready` says it is (`what` names that in the error, which carries
    /// the daemon's log).
    pub fn launch(
        daemon: &str,
        label: &str,
        config: &Value,
        args: &[&str],
        launcher: &Launcher,
        what: &str,
        ready: impl FnMut() -> bool,
    ) -> Result<Kea, String> {
        let dir = Kea::dir_of(label);
        let child = spawn(daemon, &dir, config, args, launcher).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&dir);
        })?;
        let mut kea = Kea { child, dir };
        let timeout = launcher.start_timeout.unwrap_or(START_TIMEOUT);
        kea.wait_until(daemon, what, timeout, ready)?;
        Ok(kea)
    }

    /// The temporary directory [`Kea::launch`] gives the daemon named `label`: known
    /// before it starts, so its configuration can put a control socket there (removed
    /// with the directory).
    pub fn dir_of(label: &str) -> PathBuf {
        std::env::temp_dir().join(format!("hamux-kea-{}-{label}", std::process::id()))
    }

    fn wait_until(
        &mut self,
        daemon: &str,
        what: &str,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        while !ready() {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("{daemon} exited ({status}):\n{}", self.log()));
            }
            if Instant::now() > deadline {
                return Err(format!("{daemon} did not {what} within {timeout:?}:\n{}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Everything it logged (its stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kea.log")).unwrap_or_default()
    }

    /// The pid of the process started (the daemon, or the launcher's program running it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system) it used so far.
    pub fn cpu(&self) -> Duration {
        process::cpu_time(self.pid())
    }
}

/// Writes the configuration, opens the log and starts the daemon.
fn spawn(
    daemon: &str,
    dir: &Path,
    config: &Value,
    args: &[&str],
    launcher: &Launcher,
) -> Result<Child, String> {
    let io = |what: &str, e: std::io::Error| format!("{what} in {}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(|e| io("cannot create a directory", e))?;
    let config_path = dir.join("kea.json");
    let text = serde_json::to_vec_pretty(config).expect("a JSON value serializes");
    std::fs::write(&config_path, text).map_err(|e| io("cannot write the configuration", e))?;
    let log = std::fs::File::create(dir.join("kea.log")).map_err(|e| io("cannot create the log", e))?;
    let log2 = log.try_clone().map_err(|e| io("cannot open the log", e))?;
    let binary = program(daemon);
    let mut command = match launcher.program.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg(&binary);
            c
        }
        None => Command::new(&binary),
    };
    command
        .envs(launcher.env.iter().map(|(k, v)| (k, v)))
        .arg("-c")
        .arg(&config_path)
        .args(args)
        .env("KEA_PIDFILE_DIR", dir)
        .env("KEA_LOCKFILE_DIR", dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    process::die_with_starter(&mut command);
    command.spawn().map_err(|e| format!("cannot start {}: {e}", binary.display()))
}

impl Drop for Kea {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `<daemon> -v`, e.g. "2.2.0" ("?" if it does not run).
pub fn version(daemon: &str) -> String {
    Command::new(program(daemon))
        .arg("-v")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "?".into(), |v| v.trim().to_string())
}

/// Sends `request` (`{"command": ..., "arguments": ...}`) to the unix control socket
/// `socket` of a daemon and returns its answer: Kea answers one JSON object and closes
/// the connection. `timeout` bounds each read (a large `lease4-get-all` takes a while).
pub fn control(socket: &Path, request: &Value, timeout: Duration) -> Result<Value, String> {
    let command = request["command"].as_str().unwrap_or("?");
    let mut stream = UnixStream::connect(socket).map_err(|e| format!("connect {}: {e}", socket.display()))?;
    let io = |e: std::io::Error| format!("{command} on {}: {e}", socket.display());
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.write_all(request.to_string().as_bytes()).map_err(io)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(io)?;
    serde_json::from_slice(&answer)
        .map_err(|e| format!("{command}: the answer is not JSON ({e}): {}", String::from_utf8_lossy(&answer)))
}

/// The HA hook entry for a server named `this` among `peers` (name, url, role), with
/// HA multi-threading and its dedicated listener; `extra` is merged into the HA entry.
pub fn ha_hook(this: &str, mode: &str, peers: &[(&str, String, &str)], extra: Value) -> Value {
    let peers: Vec<Value> =
        peers.iter().map(|(name, url, role)| json!({"name": name, "url": url, "role": role})).collect();
    let mut ha = json!({
        "this-server-name": this,
        "mode": mode,
        "heartbeat-delay": 1000,
        "max-response-delay": 5000,
        "max-ack-delay": 5000,
        "max-unacked-clients": 0,
        "multi-threading": {
            "enable-multi-threading": true,
            "http-dedicated-listener": true,
            "http-listener-threads": HA_LISTENER_THREADS,
            "http-client-threads": 2
        },
        "peers": peers
    });
    if let (Some(ha), Some(extra)) = (ha.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            ha.insert(k.clone(), v.clone());
        }
    }
    json!({"library": format!("{HOOKS}/libdhcp_ha.so"), "parameters": {"high-availability": [ha]}})
}

/// The hooks-libraries entry of Kea's lease commands.
pub fn lease_cmds_hook() -> Value {
    json!({"library": format!("{HOOKS}/libdhcp_lease_cmds.so")})
}

/// Common server settings: multi-threaded, in-memory leases, quiet logs, no DHCP
/// interfaces unless `body` has some. `family` is the top-level key ("Dhcp4", "Dhcp6").
pub fn server(family: &str, hooks: Vec<Value>, mut body: Value) -> Value {
    let logger = if family == "Dhcp4" { "kea-dhcp4" } else { "kea-dhcp6" };
    let obj = body.as_object_mut().expect("a server body is a JSON object");
    obj.insert("lease-database".into(), json!({"type": "memfile", "persist": false}));
    obj.insert(
        "multi-threading".into(),
        json!({"enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 64}),
    );
    obj.insert("hooks-libraries".into(), Value::Array(hooks));
    obj.insert(
        "loggers".into(),
        json!([{"name": logger, "output_options": [{"output": "stdout"}], "severity": "WARN"}]),
    );
    obj.entry("interfaces-config").or_insert(json!({"interfaces": []}));
    json!({ family: body })
}

/// RFC 1123 date, as Kea's heartbeat carries it ("Tue, 24 Nov 2026 09:40:33 GMT").
pub fn http_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[days.rem_euclid(7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_is_missing() {
        let missing = installed("no-such-daemon", &[]).unwrap_err();
        assert_eq!(
            missing,
            "/usr/sbin/no-such-daemon is not installed (apt-get install no-such-daemon-server)"
        );
        if program("kea-dhcp4").exists() {
            let missing = installed("kea-dhcp4", &["libdhcp_nothing.so"]).unwrap_err();
            assert!(missing.ends_with("libdhcp_nothing.so is not installed (apt-get install kea-common)"));
        }
    }

    #[test]
    fn server_and_ha_hook_configurations() {
        let peers = [("a", "http://127.0.0.1:1/".to_string(), "primary")];
        let ha = ha_hook("a", "hot-standby", &peers, json!({"max-ack-delay": 7}));
        let entry = &ha["parameters"]["high-availability"][0];
        assert_eq!(entry["max-ack-delay"], 7);
        assert_eq!(entry["multi-threading"]["http-listener-threads"], HA_LISTENER_THREADS);
        assert_eq!(entry["peers"][0]["url"], "http://127.0.0.1:1/");
        let config =
            server("Dhcp6", vec![lease_cmds_hook()], json!({"interfaces-config": {"interfaces": ["lo"]}}));
        assert_eq!(config["Dhcp6"]["loggers"][0]["name"], "kea-dhcp6");
        assert_eq!(config["Dhcp6"]["interfaces-config"]["interfaces"][0], "lo");
        assert!(config["Dhcp6"]["hooks-libraries"][0]["library"]
            .as_str()
            .unwrap()
            .ends_with("libdhcp_lease_cmds.so"));
    }
}
