//! A real kea-dhcp4 (Kea 2.2, Debian's package) serving HA lease commands on loopback for
//! `hamux bench --scenario kea`: the standby of a hot-standby pair whose primary does not
//! exist, with the lease_cmds and HA hooks, the HA dedicated listener (HA multi-threading,
//! `http-listener-threads` [`LISTENER_THREADS`]) and leases in memory only. The daemon is
//! the test kit's [`Kea`]: its files live in a temporary directory, and it is killed when
//! dropped or when the thread that started it ends, so no run leaves one behind. Also
//! what every Kea scenario needs: whether Kea is installed, its version, and where the
//! hook (`libdhcp_hamux.so`) was built.

use crate::subnet::Subnet;
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;
use testkit::kea::{self as kit, Kea, Launcher};

/// The daemon every Kea comparison of the bench runs.
pub const DAEMON: &str = "kea-dhcp4";
/// Kea's `http-listener-threads`: the threads of its HA listener.
pub const LISTENER_THREADS: usize = kit::HA_LISTENER_THREADS;

/// Why kea-dhcp4 (with the HA and lease_cmds hooks) cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    let installed = kit::installed(DAEMON, &["libdhcp_ha.so", "libdhcp_lease_cmds.so"]);
    installed.err().map(|why| format!("{why}; the Kea comparison needs it"))
}

/// `kea-dhcp4 -v`, e.g. "2.2.0".
pub fn version() -> String {
    kit::version(DAEMON)
}

/// `libdhcp_hamux.so` next to this binary's target directory (`target/kea/`, where
/// `make kea` puts it), or in the library's source tree's.
pub fn hook_library() -> Result<PathBuf, String> {
    let library = testkit::library::manifest_dir();
    let exe = std::env::current_exe().ok();
    let near_exe = exe.as_deref().and_then(|e| e.parent()?.parent()).map(|t| t.join("kea/libdhcp_hamux.so"));
    let candidates: Vec<PathBuf> =
        near_exe.into_iter().chain([library.join("target/kea/libdhcp_hamux.so")]).collect();
    candidates.iter().find(|p| p.exists()).cloned().ok_or_else(|| {
        format!(
            "the hook {} is missing; build it with `make -C {} kea` (needs kea-dev, libboost-dev)",
            candidates[0].display(),
            library.display()
        )
    })
}

/// A running standby kea-dhcp4.
pub struct Standby {
    kea: Kea,
    port: u16,
}

fn config(subnet: &Subnet, port: u16, primary_port: u16) -> Value {
    let url = |port: u16| format!("http://127.0.0.1:{port}/");
    let peers = [("primary", url(primary_port), "primary"), ("standby", url(port), "standby")];
    let hooks = vec![kit::lease_cmds_hook(), kit::ha_hook("standby", "hot-standby", &peers, json!({}))];
    kit::server("Dhcp4", hooks, json!({ "subnet4": [{ "id": subnet.id, "subnet": subnet.to_string() }] }))
}

impl Standby {
    /// Starts kea-dhcp4 with `subnet` on a free loopback port and waits until it listens.
    pub fn start(subnet: &Subnet) -> Result<Standby, String> {
        let (port, primary_port) = (kit::try_free_port()?, kit::try_free_port()?);
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let listens = || TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok();
        let config = config(subnet, port, primary_port);
        let label = format!("bench-{port}");
        let what = format!("listen on {address}");
        let kea = Kea::launch(DAEMON, &label, &config, &[], &Launcher::default(), &what, listens)?;
        Ok(Standby { kea, port })
    }

    /// The URL of its HA listener.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// CPU time (user + system) the daemon used so far.
    pub fn cpu(&self) -> Duration {
        self.kea.cpu()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_standby_config() {
        let subnet = Subnet::parse("192.0.2.0/24", 7).unwrap();
        let c = config(&subnet, 4001, 4002);
        assert_eq!(c["Dhcp4"]["subnet4"][0], json!({ "id": 7, "subnet": "192.0.2.0/24" }));
        assert!(c["Dhcp4"]["hooks-libraries"][0]["library"]
            .as_str()
            .unwrap()
            .ends_with("libdhcp_lease_cmds.so"));
        let ha = &c["Dhcp4"]["hooks-libraries"][1]["parameters"]["high-availability"][0];
        assert_eq!(ha["this-server-name"], "standby");
        assert_eq!(ha["mode"], "hot-standby");
        assert_eq!(ha["peers"][1]["url"], "http://127.0.0.1:4001/");
        assert_eq!(ha["peers"][1]["role"], "standby");
        assert_eq!(ha["multi-threading"]["http-dedicated-listener"], true);
        assert_eq!(ha["multi-threading"]["http-listener-threads"], LISTENER_THREADS);
        assert_eq!(c["Dhcp4"]["lease-database"], json!({ "type": "memfile", "persist": false }));
        if let Some(why) = missing() {
            assert!(
                why.ends_with(
                    "is not installed (apt-get install kea-dhcp4-server); the Kea comparison needs it"
                ) || why.ends_with("(apt-get install kea-common); the Kea comparison needs it"),
                "{why}"
            );
        }
    }
}
