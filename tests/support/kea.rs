//! Runs real Kea 2.2 daemons (Debian's packages) on loopback for interop tests.
//!
//! Kea is installed by `.ci/run`. Where it is missing the interop tests say so and pass
//! without running, unless `HAMUX_REQUIRE_KEA=1` (set by CI) makes that a failure.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const HOOKS: &str = "/usr/lib/x86_64-linux-gnu/kea/hooks";

/// Whether `daemon` (e.g. "kea-dhcp4") can run here; prints why a test is skipped.
pub fn available(daemon: &str) -> bool {
    let found = std::path::Path::new("/usr/sbin").join(daemon).exists()
        && std::path::Path::new(HOOKS).join("libdhcp_ha.so").exists();
    if !found {
        assert!(
            std::env::var_os("HAMUX_REQUIRE_KEA").is_none(),
            "{daemon} or the HA hooks are not installed and HAMUX_REQUIRE_KEA is set"
        );
        eprintln!("SKIPPED: {daemon} is not installed (apt-get install kea-dhcp4-server kea-dhcp6-server)");
    }
    found
}

/// A free TCP port on 127.0.0.1 (bound and released; fine for tests on one machine).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// What a daemon runs under: a program and its arguments before the daemon's path
/// (e.g. valgrind), environment variables (e.g. a sanitizer's LD_PRELOAD), and how long
/// it may take to start (instrumented daemons are slow).
#[derive(Clone, Debug, Default)]
pub struct Launcher {
    pub program: Vec<String>,
    pub env: Vec<(String, String)>,
    pub start_timeout: Option<Duration>,
}

/// A running Kea daemon, killed on drop.
pub struct Kea {
    child: Child,
    pub dir: PathBuf,
}

impl Kea {
    /// Starts `daemon` with `config` (the whole JSON, e.g. `{"Dhcp4": ...}`) and `args`,
    /// then waits until `wait_for` accepts TCP connections.
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
        let dir = std::env::temp_dir().join(format!("hamux-kea-{}-{}", std::process::id(), wait_for.port()));
        std::fs::create_dir_all(&dir).unwrap();
        let config_path = dir.join("kea.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
        let log = std::fs::File::create(dir.join("kea.log")).unwrap();
        let binary = format!("/usr/sbin/{daemon}");
        let mut command = match launcher.program.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(&binary);
                c
            }
            None => Command::new(&binary),
        };
        let child = command
            .envs(launcher.env.iter().map(|(k, v)| (k, v)))
            .arg("-c")
            .arg(&config_path)
            .args(args)
            .env("KEA_PIDFILE_DIR", &dir)
            .env("KEA_LOCKFILE_DIR", &dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {daemon}: {e}"));
        let mut kea = Kea { child, dir };
        let deadline = Instant::now() + launcher.start_timeout.unwrap_or(Duration::from_secs(15));
        while TcpStream::connect(wait_for).is_err() {
            if let Ok(Some(status)) = kea.child.try_wait() {
                panic!("{daemon} exited ({status}): {}", kea.log());
            }
            assert!(Instant::now() < deadline, "{daemon} did not listen on {wait_for}: {}", kea.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        kea
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kea.log")).unwrap_or_default()
    }
}

impl Drop for Kea {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The HA hook entry for a server named `this` among `peers` (name, url, role).
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
            "http-listener-threads": 2,
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

pub fn lease_cmds_hook() -> Value {
    json!({"library": format!("{HOOKS}/libdhcp_lease_cmds.so")})
}

/// Common server settings: multi-threaded, in-memory leases, quiet logs.
pub fn server(family: &str, hooks: Vec<Value>, mut body: Value) -> Value {
    let logger = if family == "Dhcp4" { "kea-dhcp4" } else { "kea-dhcp6" };
    let obj = body.as_object_mut().unwrap();
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
