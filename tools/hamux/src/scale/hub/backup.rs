//! The central backup of `--scenario kea-hub`: one real kea-dhcp4 loading the hook and
//! Kea's lease commands, with one passive-backup relationship per primary. Every
//! relationship names the same backup URL, so the hook serves them all on one listener,
//! as a central server taking the updates of many branch offices would be configured.

use super::super::process_stats;
use crate::kea::DAEMON;
use crate::subnet::Subnet;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;
use testkit::kea::{self as kit, Kea, Launcher};

/// Primary `k`'s subnet (`k` from 1): 10.k.0.0/16 with subnet-id `k`; a /16 each holds
/// any primary's leases, and the scheme has room for 255 primaries.
pub fn subnet(k: usize) -> Subnet {
    Subnet::parse(&format!("10.{k}.0.0/16"), k as u32).expect("10.k.0.0/16 is a subnet")
}

/// The backup's whole configuration: relationship `k` (from 1) is `central-k` backing up
/// `branch-k` (at `primary_ports[k - 1]`, where nothing listens: a backup sends nothing
/// in passive-backup), and subnet `k` belongs to it (`ha-server-name`). The rest is the
/// test kit's common server: multi-threaded (2 DHCP threads, which the hook takes as its
/// listener threads), no DHCP interfaces, and leases in memory only (`persist: false`):
/// a lease file would add a write per update that is the same whatever the number of
/// primaries, and on this shared VM's disk would only add noise to what is measured, the
/// cost of N relationships and their connections.
pub fn config(hook: &Path, primary_ports: &[u16], backup_port: u16, socket: &Path) -> Value {
    let url = |port: u16| format!("hamux://127.0.0.1:{port}/");
    let relationships: Vec<Value> = (1..)
        .zip(primary_ports)
        .map(|(k, &port)| {
            json!({
                "this-server-name": format!("central-{k}"),
                "mode": "passive-backup",
                "peers": [{"name": format!("branch-{k}"), "url": url(port), "role": "primary"},
                          {"name": format!("central-{k}"), "url": url(backup_port), "role": "backup"}],
            })
        })
        .collect();
    let subnets: Vec<Value> = (1..=primary_ports.len())
        .map(|k| {
            json!({
                "id": k,
                "subnet": subnet(k).to_string(),
                "pools": [{"pool": format!("10.{k}.0.1 - 10.{k}.255.254")}],
                "user-context": {"ha-server-name": format!("central-{k}")},
            })
        })
        .collect();
    let ha =
        json!({"library": hook.display().to_string(), "parameters": {"high-availability": relationships}});
    kit::server(
        "Dhcp4",
        vec![kit::lease_cmds_hook(), ha],
        json!({
            "valid-lifetime": 3600,
            "subnet4": subnets,
            "control-socket": {"socket-type": "unix", "socket-name": socket.display().to_string()},
        }),
    )
}

/// `count` distinct free loopback ports: all bound at once, then released.
fn free_ports(count: usize) -> Result<Vec<u16>, String> {
    let held = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0").and_then(|l| Ok((l.local_addr()?.port(), l))))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("no free port: {e}"))?;
    Ok(held.into_iter().map(|(port, _)| port).collect())
}

/// The running backup; the daemon is stopped when this is dropped.
pub struct Backup {
    kea: Kea,
    socket: PathBuf,
    /// Its peer URL, which every primary sends to.
    pub url: String,
}

impl Backup {
    /// Starts the backup of `primaries` relationships and waits until it listens for
    /// them and on its control socket.
    pub fn start(primaries: usize, hook: &Path) -> Result<Backup, String> {
        let ports = free_ports(primaries + 1)?;
        let (port, primary_ports) = (ports[0], &ports[1..]);
        let label = format!("hub-{primaries}-{port}");
        let socket = Kea::dir_of(&label).join("control.sock");
        let config = config(hook, primary_ports, port, &socket);
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let ready = || {
            TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
                && UnixStream::connect(&socket).is_ok()
        };
        let what = format!("listen on {address} and {}", socket.display());
        let kea = Kea::launch(DAEMON, &label, &config, &[], &Launcher::default(), &what, ready)?;
        Ok(Backup { kea, socket, url: format!("hamux://127.0.0.1:{port}/") })
    }

    /// CPU time (user + system, all its threads) the daemon used so far.
    pub fn cpu(&self) -> Duration {
        self.kea.cpu()
    }

    /// Its resident memory (`VmRSS`) now, in bytes.
    pub fn rss(&self) -> u64 {
        process_stats::rss(&self.kea.pid().to_string()).unwrap_or(0)
    }

    /// The leases it holds, per subnet-id, as `lease4-get-all` lists them.
    pub fn leases_per_subnet(&self) -> Result<BTreeMap<u64, u64>, String> {
        let request = json!({"command": "lease4-get-all"});
        let answer = kit::control(&self.socket, &request, Duration::from_secs(60))?;
        // 0: leases found, 3: none.
        if !matches!(answer["result"].as_i64(), Some(0 | 3)) {
            return Err(format!("lease4-get-all: {answer}"));
        }
        let mut counts = BTreeMap::new();
        for lease in answer["arguments"]["leases"].as_array().into_iter().flatten() {
            *counts.entry(lease["subnet-id"].as_u64().unwrap_or(0)).or_insert(0) += 1;
        }
        Ok(counts)
    }

    /// What the daemon logged, for an error message.
    pub fn log(&self) -> String {
        self.kea.log()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_relationship_and_one_subnet_per_primary_all_on_one_backup_url() {
        let c = config(Path::new("/h.so"), &[4001, 4002, 4003], 5000, Path::new("/t/control.sock"));
        let dhcp4 = &c["Dhcp4"];
        let hooks = dhcp4["hooks-libraries"].as_array().unwrap();
        assert!(hooks[0]["library"].as_str().unwrap().ends_with("libdhcp_lease_cmds.so"));
        assert_eq!(hooks[1]["library"], "/h.so");
        let relationships = hooks[1]["parameters"]["high-availability"].as_array().unwrap();
        assert_eq!(relationships.len(), 3);
        let third = &relationships[2];
        assert_eq!(
            (&third["this-server-name"], &third["mode"]),
            (&json!("central-3"), &json!("passive-backup"))
        );
        assert_eq!(
            third["peers"],
            json!([{"name": "branch-3", "url": "hamux://127.0.0.1:4003/", "role": "primary"},
                   {"name": "central-3", "url": "hamux://127.0.0.1:5000/", "role": "backup"}])
        );
        for r in relationships {
            assert_eq!(r["peers"][1]["url"], "hamux://127.0.0.1:5000/");
        }
        let subnets = dhcp4["subnet4"].as_array().unwrap();
        assert_eq!(subnets.len(), 3);
        assert_eq!(subnets[1]["id"], 2);
        assert_eq!(subnets[1]["subnet"], "10.2.0.0/16");
        assert_eq!(subnets[1]["user-context"]["ha-server-name"], "central-2");
        assert_eq!(dhcp4["lease-database"], json!({"type": "memfile", "persist": false}));
        assert_eq!(dhcp4["multi-threading"]["enable-multi-threading"], true);
        assert_eq!(dhcp4["control-socket"]["socket-name"], "/t/control.sock");
        assert_eq!(subnet(64).to_string(), "10.64.0.0/16");
        assert_eq!(subnet(64).id, 64);
    }
}
