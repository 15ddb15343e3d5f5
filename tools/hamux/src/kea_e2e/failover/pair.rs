//! An HA pair of kea-dhcp4 servers for the failover part of kea-e2e: `server1` (primary)
//! and `server2` (standby in hot-standby, secondary in load-balancing), both replicating
//! with Kea's `libdhcp_ha` or both with the hook, each serving DHCP on its own UDP port of
//! loopback and reading commands on a unix control socket, where `ha-heartbeat` tells its
//! HA state.

use super::super::servers::{self, Replicator};
use crate::kea::DAEMON;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use testkit::kea::{self as kit, Kea, Launcher};

pub const PRIMARY: &str = "server1";
pub const PARTNER: &str = "server2";

/// The HA mode of a pair.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    HotStandby,
    LoadBalancing,
}

impl Mode {
    /// Kea's name of the mode, which is also the state both servers serve in.
    pub fn name(self) -> &'static str {
        match self {
            Mode::HotStandby => "hot-standby",
            Mode::LoadBalancing => "load-balancing",
        }
    }

    fn partner_role(self) -> &'static str {
        match self {
            Mode::HotStandby => "standby",
            Mode::LoadBalancing => "secondary",
        }
    }
}

/// The HA timers of both servers, the hook's and Kea's HA alike: heartbeats every second,
/// the partner down 3 s after the last answer, no traffic analysis.
pub fn timers() -> Value {
    json!({
        "heartbeat-delay": 1000,
        "max-response-delay": 3000,
        "max-ack-delay": 1000,
        "max-unacked-clients": 0,
        "sync-timeout": 60000,
    })
}

/// Load-balancing's pools, split between the servers by the `HA_<server>` class the HA
/// library gives each query, as Kea's ARM requires: with one shared pool both servers
/// allocate the same free address to different clients at once, and the second REQUEST
/// to arrive is NAKed once the partner's update has taken the address.
fn split_pools() -> Value {
    json!([{"pool": "10.1.0.0 - 10.7.255.255", "client-class": format!("HA_{PRIMARY}")},
           {"pool": "10.8.0.0 - 10.15.255.255", "client-class": format!("HA_{PARTNER}")}])
}

/// One server of a pair, running or not.
pub struct Server {
    pub name: &'static str,
    kea: Option<Kea>,
    pub dhcp: SocketAddr,
    socket: PathBuf,
    config: Value,
    label: String,
}

impl Server {
    /// Sends `command` (no arguments) to its control socket; its answer.
    pub fn command(&self, command: &Value) -> Result<Value, String> {
        kit::control(&self.socket, command, Duration::from_secs(30))
    }

    /// Its HA state by `ha-heartbeat`, or `None` if it does not answer.
    pub fn state(&self) -> Option<String> {
        let answer = self.command(&json!({"command": "ha-heartbeat"})).ok()?;
        answer["arguments"]["state"].as_str().map(str::to_string)
    }

    /// Starts the daemon; ready once its control socket answers.
    pub fn launch(&mut self) -> Result<(), String> {
        let socket = self.socket.clone();
        let ready =
            || kit::control(&socket, &json!({"command": "ha-heartbeat"}), Duration::from_secs(1)).is_ok();
        let args = ["-p".to_string(), self.dhcp.port().to_string()];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let what = format!("answer ha-heartbeat on {}", self.socket.display());
        let kea = Kea::launch(DAEMON, &self.label, &self.config, &args, &Launcher::default(), &what, ready)?;
        self.kea = Some(kea);
        Ok(())
    }

    /// SIGKILL (the daemon's files go with it).
    pub fn kill(&mut self) {
        self.kea = None;
    }

    /// CPU time its daemon used so far (zero if it does not run).
    pub fn cpu(&self) -> Duration {
        self.kea.as_ref().map_or(Duration::ZERO, Kea::cpu)
    }

    pub fn log(&self) -> String {
        self.kea.as_ref().map(Kea::log).unwrap_or_default()
    }

    /// Polls its state every 50 ms until it is `want`; how long that took.
    pub fn wait_for(&self, want: &str, timeout: Duration) -> Result<Duration, String> {
        let start = Instant::now();
        let mut seen = Vec::<String>::new();
        loop {
            let now = self.state().unwrap_or_else(|| "(no answer)".into());
            if seen.last() != Some(&now) {
                seen.push(now.clone());
            }
            if now == want {
                return Ok(start.elapsed());
            }
            if start.elapsed() > timeout {
                return Err(format!(
                    "{} did not reach {want} within {timeout:?} (states seen: {seen:?}):\n{}",
                    self.name,
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The two servers, configured but not started.
pub struct Pair {
    pub servers: [Server; 2],
}

impl Pair {
    /// Configures a pair in `mode` replicating with `replicator`; `settings` are merged
    /// into both HA entries after [`timers`]. With `leases`, server2 loads that memfile
    /// lease file at start and keeps writing it; the leases of server1 stay in memory.
    pub fn new(
        replicator: Replicator,
        mode: Mode,
        hook: &Path,
        settings: &Value,
        leases: Option<&Path>,
    ) -> Result<Pair, String> {
        let scheme = match replicator {
            Replicator::Hook => "hamux",
            Replicator::KeaHa => "http",
        };
        let ha_ports = [kit::try_free_port()?, kit::try_free_port()?];
        let url = |port: u16| format!("{scheme}://127.0.0.1:{port}/");
        let peers = json!([{"name": PRIMARY, "url": url(ha_ports[0]), "role": "primary"},
                           {"name": PARTNER, "url": url(ha_ports[1]), "role": mode.partner_role()}]);
        let mut merged = timers();
        for (key, value) in settings.as_object().into_iter().flatten() {
            merged[key] = value.clone();
        }
        let server = |name: &'static str, ha_port: u16, leases: Option<&Path>| -> Result<Server, String> {
            let dhcp = SocketAddr::from(([127, 0, 0, 1], servers::free_udp_port()?));
            let label = format!("e2e-{}-{name}-{ha_port}", mode.name());
            let socket = Kea::dir_of(&label).join("control");
            let hooks = servers::hooks(replicator, hook, name, mode.name(), &peers, &merged);
            let mut config = servers::dhcp4(hooks, true);
            let body = &mut config["Dhcp4"];
            if mode == Mode::LoadBalancing {
                body["subnet4"][0]["pools"] = split_pools();
            }
            body["control-socket"] = json!({"socket-type": "unix", "socket-name": socket});
            if let Some(file) = leases {
                body["lease-database"] =
                    json!({"type": "memfile", "persist": true, "name": file, "lfc-interval": 0});
            }
            // The HA libraries' own messages (sync results among them) at INFO.
            let logger = match replicator {
                Replicator::Hook => "kea-dhcp4.hamux-hooks",
                Replicator::KeaHa => "kea-dhcp4.ha-hooks",
            };
            body["loggers"]
                .as_array_mut()
                .expect("servers::dhcp4's loggers")
                .push(json!({"name": logger, "output_options": [{"output": "stdout"}], "severity": "INFO"}));
            Ok(Server { name, kea: None, dhcp, socket, config, label })
        };
        Ok(Pair { servers: [server(PRIMARY, ha_ports[0], None)?, server(PARTNER, ha_ports[1], leases)?] })
    }

    /// Starts both and waits until both serve in the mode's state.
    pub fn start(replicator: Replicator, mode: Mode, hook: &Path) -> Result<Pair, String> {
        let mut pair = Pair::new(replicator, mode, hook, &json!({}), None)?;
        pair.servers[0].launch()?;
        pair.servers[1].launch()?;
        for server in &pair.servers {
            server.wait_for(mode.name(), Duration::from_secs(60))?;
        }
        Ok(pair)
    }

    /// Where a relay forwards each client message: both servers.
    pub fn dhcp(&self) -> Vec<SocketAddr> {
        self.servers.iter().map(|s| s.dhcp).collect()
    }

    /// Each daemon's CPU time so far, server1's first.
    pub fn cpu(&self) -> [Duration; 2] {
        [self.servers[0].cpu(), self.servers[1].cpu()]
    }
}
