//! The kea-dhcp4 servers of each configuration: a primary serving DHCP on a free UDP port
//! of loopback, replicating (passive-backup, wait-backup-ack) with Kea's `libdhcp_ha` or
//! the hook to a backup — another kea-dhcp4 without DHCP interfaces, or the in-process
//! slow listener. Every server gets the settings the hook's parking needs (see
//! kea-hooks.md): an unbounded packet queue and no parked-packet limit, so the
//! configurations differ only in how they replicate.

use super::dhcp::{self, RELAY};
use crate::kea::DAEMON;
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::Duration;
use testkit::kea::{self, Kea, Launcher};

/// The address pool: some 983,000 leases, more than all steps of one server hand out.
pub const POOL: &str = "10.1.0.0 - 10.15.255.255";

/// What replicates a server's leases.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Replicator {
    /// Kea's own `libdhcp_ha.so` (HTTP, its dedicated listener).
    KeaHa,
    /// `libdhcp_hamux.so`.
    Hook,
}

/// Where the primary's lease updates go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backup {
    /// No HA at all: the primary alone.
    None,
    /// A kea-dhcp4 replicating with this.
    Kea(Replicator),
    /// A listener already on this loopback port.
    Listener(u16),
}

/// A running configuration: the daemons run until it is dropped.
pub struct Setup {
    primary: Kea,
    backup: Option<Kea>,
    /// The primary's DHCP socket.
    pub dhcp: SocketAddr,
}

impl Setup {
    /// CPU time the primary and the backup daemon used so far.
    pub fn cpu(&self) -> (Duration, Duration) {
        (self.primary.cpu(), self.backup.as_ref().map_or(Duration::ZERO, Kea::cpu))
    }
}

pub fn dhcp4(hooks: Vec<Value>, serves_dhcp: bool) -> Value {
    let interfaces = if serves_dhcp {
        json!({"interfaces": ["lo"], "dhcp-socket-type": "udp"})
    } else {
        json!({"interfaces": []})
    };
    json!({"Dhcp4": {
        "interfaces-config": interfaces,
        "valid-lifetime": 3600,
        "subnet4": [{"id": 1, "subnet": "10.0.0.0/8", "relay": {"ip-addresses": [RELAY.to_string()]},
                     "pools": [{"pool": POOL}]}],
        "lease-database": {"type": "memfile", "persist": false},
        "multi-threading": {"enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 0},
        "parked-packet-limit": 0,
        "hooks-libraries": hooks,
        "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "stdout"}], "severity": "WARN"}],
    }})
}

/// The hooks of a server named `this` in HA `mode` among `peers`, replicating with
/// `replicator`, `settings` (an object) merged into its HA entry.
pub fn hooks(
    replicator: Replicator,
    hook: &Path,
    this: &str,
    mode: &str,
    peers: &Value,
    settings: &Value,
) -> Vec<Value> {
    let lease_cmds = kea::lease_cmds_hook();
    let mut ha = json!({"this-server-name": this, "mode": mode, "peers": peers});
    for (key, value) in settings.as_object().into_iter().flatten() {
        ha[key] = value.clone();
    }
    let library = match replicator {
        Replicator::KeaHa => {
            ha["multi-threading"] = json!({"enable-multi-threading": true, "http-dedicated-listener": true,
                                           "http-listener-threads": 2, "http-client-threads": 2});
            format!("{}/libdhcp_ha.so", kea::HOOKS)
        }
        Replicator::Hook => {
            ha["hamux"] = json!({"connections-per-peer": 4, "request-timeout-ms": 10000});
            hook.display().to_string()
        }
    };
    vec![lease_cmds, json!({"library": library, "parameters": {"high-availability": [ha]}})]
}

const PASSIVE_BACKUP: &str = "passive-backup";

fn wait_backup_ack() -> Value {
    json!({"wait-backup-ack": true})
}

pub fn free_udp_port() -> Result<u16, String> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("no free UDP port: {e}"))?;
    socket.local_addr().map(|a| a.port()).map_err(|e| format!("no free UDP port: {e}"))
}

/// Xids of the readiness probes, apart from the load runs' (those start at run << 24).
static PROBE: AtomicU32 = AtomicU32::new(0xfe00_0000);

/// Whether the primary at `dhcp` completes a DORA (so it serves, and replicates).
pub fn serves(dhcp: SocketAddr) -> bool {
    dhcp::dora_once(dhcp, PROBE.fetch_add(1, Relaxed))
}

/// Starts the backup (if a daemon), then the primary, and waits until the primary
/// completes a DORA. `primary: None` is the server without HA.
pub fn start(primary: Option<Replicator>, backup: Backup, hook: &Path) -> Result<Setup, String> {
    let dhcp = SocketAddr::from(([127, 0, 0, 1], free_udp_port()?));
    let Some(replicator) = primary else {
        let kea = launch("no-ha", &dhcp4(Vec::new(), true), dhcp.port(), Some(dhcp), 0)?;
        return Ok(Setup { primary: kea, backup: None, dhcp });
    };
    // hamux:// only when the hook is at both ends (or the listener, which speaks both).
    let scheme = match (replicator, backup) {
        (Replicator::Hook, Backup::Kea(Replicator::Hook) | Backup::Listener(_)) => "hamux",
        _ => "http",
    };
    let (primary_port, backup_port) = match backup {
        Backup::Listener(port) => (kea::try_free_port()?, port),
        _ => (kea::try_free_port()?, kea::try_free_port()?),
    };
    let url = |port: u16| format!("{scheme}://127.0.0.1:{port}/");
    let peers = json!([{"name": "server1", "url": url(primary_port), "role": "primary"},
                       {"name": "server2", "url": url(backup_port), "role": "backup"}]);
    let backup = match backup {
        Backup::Kea(kind) => {
            let config =
                dhcp4(hooks(kind, hook, "server2", PASSIVE_BACKUP, &peers, &wait_backup_ack()), false);
            Some(launch("backup", &config, backup_port, None, backup_port)?)
        }
        Backup::Listener(_) => None,
        Backup::None => return Err("a replicating primary needs a backup".into()),
    };
    let config = dhcp4(hooks(replicator, hook, "server1", PASSIVE_BACKUP, &peers, &wait_backup_ack()), true);
    let kea = launch("primary", &config, dhcp.port(), Some(dhcp), primary_port)?;
    Ok(Setup { primary: kea, backup, dhcp })
}

/// Starts one kea-dhcp4: ready once `dhcp` completes a DORA, or without DHCP once it
/// listens on its HA port.
fn launch(
    role: &str,
    config: &Value,
    label_port: u16,
    dhcp: Option<SocketAddr>,
    port: u16,
) -> Result<Kea, String> {
    let label = format!("e2e-{role}-{label_port}");
    let args = dhcp.map(|d| vec!["-p".to_string(), d.port().to_string()]).unwrap_or_default();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let launcher = Launcher::default();
    match dhcp {
        Some(d) => {
            let what = format!("answer a DORA on {d}");
            Kea::launch(DAEMON, &label, config, &args, &launcher, &what, || serves(d))
        }
        None => {
            let address = SocketAddr::from(([127, 0, 0, 1], port));
            let listens = || TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok();
            Kea::launch(DAEMON, &label, config, &args, &launcher, &format!("listen on {address}"), listens)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicators_get_their_own_hook_entries() {
        let peers = json!([]);
        let kea_ha = hooks(
            Replicator::KeaHa,
            Path::new("/h.so"),
            "server1",
            PASSIVE_BACKUP,
            &peers,
            &wait_backup_ack(),
        );
        assert!(kea_ha[0]["library"].as_str().unwrap().ends_with("libdhcp_lease_cmds.so"));
        let ha = &kea_ha[1]["parameters"]["high-availability"][0];
        assert_eq!(ha["multi-threading"]["http-client-threads"], 2);
        assert_eq!(ha["wait-backup-ack"], true);
        let hook =
            hooks(Replicator::Hook, Path::new("/h.so"), "server2", "hot-standby", &peers, &json!({"x": 1}));
        assert_eq!(hook[1]["parameters"]["high-availability"][0]["mode"], "hot-standby");
        assert_eq!(hook[1]["parameters"]["high-availability"][0]["x"], 1, "settings are merged");
        assert_eq!(hook[1]["library"], "/h.so");
        assert_eq!(hook[1]["parameters"]["high-availability"][0]["hamux"]["connections-per-peer"], 4);
        let config = dhcp4(hook, false);
        assert_eq!(config["Dhcp4"]["parked-packet-limit"], 0);
        assert_eq!(config["Dhcp4"]["multi-threading"]["packet-queue-size"], 0);
        assert_eq!(config["Dhcp4"]["interfaces-config"]["interfaces"], json!([]));
    }
}
