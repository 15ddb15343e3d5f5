//! hamux's Kea hook (`libdhcp_hamux.so`, built from `kea/` by `make kea` against this test
//! run's `libhamux.a`) in real, unmodified kea-dhcp4 / kea-dhcp6 2.2 servers:
//!
//! - a primary and a backup with the hook (passive-backup, wait-backup-ack) over
//!   `hamux://` (DHCPv4 and DHCPv6) and `hamuxs://` (mutual TLS), driven by perfdhcp with
//!   renewals and releases: the backup ends with exactly the primary's leases, and the
//!   hook's statistics and `hamux-status` account for every answered lease;
//! - migration over `http://` (and `https://`) both ways, with Kea's own `libdhcp_ha.so`
//!   on the other side; TLS chosen by Kea's TLS files with plain URLs, as Kea's HA does;
//! - a backup does not serve DHCP (as libdhcp_ha's backup state), its primary does;
//! - configurations the hook must refuse at startup, with the key named in the log;
//! - the same lease commands (v4 and v6) sent to Kea's HA + lease_cmds and to the hook,
//!   over HTTP and over hamux://: the same answers, the same leases.
//!
//! `HAMUX_KEA_HOOK_STANDIN=1` runs every test with Kea's `libdhcp_ha.so` in the hook's
//! place (hamux-only checks left out), to check the harness against Kea itself. The
//! `reference_*` tests do that always. Needs Kea, kea-dev and root (for 127.0.0.2 on lo);
//! run with `--test-threads=1` (perfdhcp runs are serialized anyway).

mod support;

use hamux::client::Client;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::certs::Pki;
use support::kea;
use support::kea_hook::{
    call, check_refused, converged_leases, dhcp_body, free_ports, ha_entry, hamux_settings, hamux_stats,
    hook_under_test, lease_difference, loopback6_ready, perfdhcp, perfdhcp_with, ready, relay_address_ready,
    scheme, server_config, Family, PerfdhcpTurn, Replicator, Server,
};

fn url(scheme: &str, port: u16) -> String {
    format!("{scheme}://127.0.0.1:{port}/")
}

/// A server replicating with `replicator` as `this` among `peers`, with lease_cmds.
fn start_server(
    family: Family,
    replicator: Replicator,
    this: &str,
    peers: &[(&str, String, &str)],
    dhcp_port: Option<u16>,
    tls: Option<&Pki>,
    hamux: &Value,
) -> Server {
    let mut extra = json!({"wait-backup-ack": true, "hamux": hamux});
    if let Some(pki) = tls {
        // Kea's TLS keys at the top of the HA entry: one certificate as server and client.
        let id = pki.identity("", "peer");
        extra["trust-anchor"] = json!(pki.ca(""));
        extra["cert-file"] = json!(id.cert);
        extra["key-file"] = json!(id.key);
        extra["require-client-certs"] = json!(true);
    }
    let entry = ha_entry(replicator, this, "passive-backup", peers, extra);
    let config =
        server_config(family, vec![kea::lease_cmds_hook(), entry], dhcp_body(family, dhcp_port.is_some()));
    let own = &peers.iter().find(|(name, _, _)| *name == this).expect("this server among the peers").1;
    Server::start(family, config, own, dhcp_port)
}

/// Waits (up to 10 s) until the hook's client has no update outstanding:
/// hamux-updates-sent = acked + failed. Returns its hamux statistics.
fn settled_client_stats(server: &Server) -> BTreeMap<String, i64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = hamux_stats(server);
        let get = |k: &str| stats.get(k).copied().unwrap_or(-1);
        if get("hamux-updates-sent") == get("hamux-updates-acked") + get("hamux-updates-failed")
            || Instant::now() > deadline
        {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stat(stats: &BTreeMap<String, i64>, name: &str) -> i64 {
    *stats.get(name).unwrap_or_else(|| panic!("no statistic {name} among {stats:?}"))
}

/// A primary replicating to a backup (passive-backup, wait-backup-ack) under perfdhcp
/// DORA/SARR with renewals and releases for 3 s; with `tls`, mutual TLS between them
/// (`hamuxs://`, `https://`).
fn replicate(family: Family, primary_kind: Replicator, backup_kind: Replicator, tls: bool) {
    replicate_tls(family, primary_kind, backup_kind, tls, tls)
}

/// As [`replicate`]: with `tls_files` Kea's TLS keys are given (mutual TLS), with
/// `tls_urls` the URLs have TLS schemes. TLS files with plain URLs (`hamux://`,
/// `http://`) is how an operator migrating from libdhcp_ha configures TLS: Kea's HA
/// chooses TLS by the files, so must the hook.
fn replicate_tls(
    family: Family,
    primary_kind: Replicator,
    backup_kind: Replicator,
    tls_files: bool,
    tls_urls: bool,
) {
    replicate_with(family, primary_kind, backup_kind, tls_files, tls_urls, &hamux_settings())
}

/// As [`replicate_tls`], with `hamux` as the hooks' `hamux` settings.
fn replicate_with(
    family: Family,
    primary_kind: Replicator,
    backup_kind: Replicator,
    tls_files: bool,
    tls_urls: bool,
    hamux: &Value,
) {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !ready(family, &[primary_kind, backup_kind])
        || (family == Family::V4 && !relay_address_ready())
        || (family == Family::V6 && !loopback6_ready())
    {
        return;
    }
    // Declared before the servers: its files outlive them.
    let pki = tls_files.then(|| Pki::new("kea-hook"));
    let scheme = scheme(primary_kind, backup_kind, tls_urls);
    let [primary_port, backup_port, dhcp_port] = free_ports();
    let peers =
        [("server1", url(scheme, primary_port), "primary"), ("server2", url(scheme, backup_port), "backup")];
    let backup = start_server(family, backup_kind, "server2", &peers, None, pki.as_ref(), hamux);
    let primary = start_server(family, primary_kind, "server1", &peers, Some(dhcp_port), pki.as_ref(), hamux);
    primary.wait_until_serving();

    // Kea's HA keeps no order per address across its connections: a renewal's update and
    // the release's delete of one lease, in flight at once, may land the wrong way round
    // (the backup then keeps a lease the primary released; seen with Kea's HA at both
    // ends too). So a Kea HA primary gets renewals but no releases; the hook keeps that
    // order (tests/kea_hook_order.rs) and gets both.
    let report = if primary_kind == Replicator::KeaHa {
        perfdhcp_with(family, dhcp_port, &["-r", "100", "-R", "150", "-f", "20", "-p", "3"])
    } else {
        perfdhcp(family, dhcp_port, 3)
    };
    let acks = report.lease_acks(family);
    assert!(acks > 0, "perfdhcp got no lease answered:\n{}\n--- primary\n{}", report.text, primary.log());

    let (at_primary, at_backup) = converged_leases(&primary, &backup);
    assert!(!at_primary.is_empty(), "no leases at the primary:\n{}", report.text);
    assert!(
        at_primary == at_backup,
        "the backup must hold exactly the primary's leases: {}\n--- primary\n{}\n--- backup\n{}",
        lease_difference(&at_primary, &at_backup),
        primary.log(),
        backup.log()
    );

    let mut summary = format!(
        "{family:?} {primary_kind:?} -> {backup_kind:?} over {scheme}://: {acks} leases answered, {} leases at both",
        at_primary.len()
    );
    if primary_kind == Replicator::Hamux {
        let stats = settled_client_stats(&primary);
        let logs = || format!("{stats:?}\n--- primary\n{}\n--- backup\n{}", primary.log(), backup.log());
        assert!(stat(&stats, "hamux-updates-acked") >= acks as i64, "{acks} answered leases, {}", logs());
        assert_eq!(stat(&stats, "hamux-updates-failed"), 0, "{}", logs());
        assert_eq!(stat(&stats, "hamux-packets-dropped"), 0, "{}", logs());
        // With wait-backup-ack every answered lease waited, parked, for its update.
        assert!(stat(&stats, "hamux-packets-parked") >= acks as i64, "{acks} answered leases, {}", logs());
        assert_eq!(
            stat(&stats, "hamux-updates-sent"),
            stat(&stats, "hamux-updates-acked"),
            "every update sent is acknowledged: {}",
            logs()
        );
        let status = check_hamux_status(&primary, Some(&peers[1].1));
        if tls_files {
            // The client speaks TLS to the backup whatever the URL's scheme.
            let peers = status["arguments"]["client"]["peers"].as_array().cloned().unwrap_or_default();
            assert!(
                peers.iter().all(|p| p["url"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("hamuxs://") || u.starts_with("https://"))),
                "the client does not use TLS: {status}"
            );
        }
        summary += &format!("; primary {stats:?}");
    }
    if backup_kind == Replicator::Hamux {
        let stats = hamux_stats(&backup);
        // The primary's log says why an update was refused (its answer's text).
        let logs = || format!("{stats:?}\n--- primary\n{}\n--- backup\n{}", primary.log(), backup.log());
        let received = stat(&stats, "hamux-updates-received");
        // Every answered lease waited for its update to reach the backup.
        assert!(received >= acks as i64, "{acks} answered leases, {}", logs());
        // A Kea HA primary may have two updates of one address in flight at once (a
        // client's retransmission while the first waits): lease_cmds then refuses the
        // second (ResourceBusy), and Kea's HA drops that client's message, logging why,
        // as with Kea's own backup. The hook keeps one update per address in flight.
        let refused = match primary_kind {
            Replicator::KeaHa => primary
                .log()
                .lines()
                .filter(|l| l.contains("HA_LEASE_UPDATE_FAILED") && l.contains("ResourceBusy"))
                .count() as i64,
            _ => 0,
        };
        assert_eq!(stat(&stats, "hamux-updates-refused"), refused, "{}", logs());
        assert_eq!(
            stat(&stats, "hamux-updates-applied") + refused,
            received,
            "every update received is applied (but {refused} refused as busy): {}",
            logs()
        );
        if primary_kind == Replicator::Hamux {
            assert_eq!(received, stat(&hamux_stats(&primary), "hamux-updates-sent"), "{}", logs());
        }
        let status = check_hamux_status(&backup, None);
        // Memfile never blocks: unless told otherwise the backup applies updates on
        // the IO threads that read them (handler-threads 0), with as many IO threads as
        // libdhcp_ha would have listener threads.
        let threads = &status["arguments"]["listener-threads"];
        let expected = hamux.get("handler-threads").cloned().unwrap_or(json!(0));
        assert_eq!(threads["handler-threads"], expected, "hamux-status: {status}");
        if hamux.get("handler-threads").is_none() {
            assert!(threads["io-threads"].as_i64().is_some_and(|n| n > 0), "hamux-status: {status}");
        }
        if tls_files {
            // The listener speaks TLS only: a plain request fails.
            let client = Client::new(r#"{"connections-per-peer": 1, "request-timeout-ms": 5000}"#).unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            let done = Box::new(move |r: hamux::client::Reply<'_>| {
                let _ = tx.send(r.status);
            });
            let plain = url(scheme.trim_end_matches('s'), backup.port);
            let heartbeat = json!({"command": "ha-heartbeat", "service": [family.service()]});
            client.send(&plain, heartbeat.to_string().as_bytes(), done, None).unwrap();
            let status = rx.recv_timeout(Duration::from_secs(20)).expect("a completion");
            assert_ne!(status, hamux::Status::Ok, "{plain} answered without TLS: {}", logs());
        }
        summary += &format!("; backup {stats:?}");
    }
    println!("{summary}");
}

/// `hamux-status` on the control channel: the hook's client and listener statistics; the
/// listener is the server's own peer URL, the client knows `peer` (if given). Returns it.
fn check_hamux_status(server: &Server, peer: Option<&str>) -> Value {
    let status = server.command("hamux-status", None);
    assert_eq!(status["result"], 0, "hamux-status: {status}\n{}", server.log());
    let (client, listener) = (&status["arguments"]["client"], &status["arguments"]["listener"]);
    assert!(client.is_object() && listener.is_object(), "hamux-status: {status}");
    assert_eq!(
        listener["port"], server.port,
        "hamux-status: the listener is on the server's own URL: {status}"
    );
    // (Not tls-failures: Kea::start's readiness probe, a TCP connect closed at once, counts
    // as one on a TLS listener.)
    assert_eq!(listener["protocol-errors"], 0, "hamux-status: {status}");
    if let Some(peer) = peer {
        let authority = peer.split("://").nth(1).unwrap().trim_end_matches('/');
        let peers = client["peers"].as_array().map(Vec::as_slice).unwrap_or_default();
        assert!(
            peers.iter().any(|p| p["url"].as_str().is_some_and(|u| u.contains(authority))),
            "hamux-status: the client has no peer {peer}: {status}"
        );
    }
    status
}

/// Kea's `http-client-threads` and `http-listener-threads` default to 0, "as many as
/// Kea's DHCP threads": the hook's connections per peer follow `thread-pool-size` (3
/// here, not hamux's own default of 2), unless `http-client-threads` says otherwise.
#[test]
fn connections_per_peer_follow_keas_thread_settings() {
    if !ready(Family::V4, &[Replicator::Hamux]) {
        return;
    }
    let connections = |extra: Value| {
        let [own, other] = free_ports();
        let peers = [("server1", url("hamux", own), "primary"), ("server2", url("hamux", other), "backup")];
        let mut entry = ha_entry(Replicator::Hamux, "server1", "passive-backup", &peers, extra);
        let ha = &mut entry["parameters"]["high-availability"][0];
        ha["hamux"].as_object_mut().unwrap().remove("connections-per-peer");
        let mut config =
            server_config(Family::V4, vec![kea::lease_cmds_hook(), entry], dhcp_body(Family::V4, false));
        config["Dhcp4"]["multi-threading"]["thread-pool-size"] = json!(3);
        let server = Server::start(Family::V4, config, &peers[0].1, None);
        let status = check_hamux_status(&server, Some(&peers[1].1));
        status["arguments"]["client"]["peers"][0]["connections"].clone()
    };
    assert_eq!(connections(json!({})), 3, "thread-pool-size 3, http-client-threads 0");
    assert_eq!(connections(json!({"multi-threading": {"http-client-threads": 1}})), 1);
}

#[test]
fn v4_hook_primary_replicates_to_hook_backup_over_hamux() {
    replicate(Family::V4, hook_under_test(), hook_under_test(), false);
}

/// `handler-threads: 2` under `hamux`: the backup hands each update to one of two
/// handler threads (what a database lease backend gets by default) instead of applying
/// it on the IO thread that read it (memfile's default, the other tests).
#[test]
fn v4_hook_primary_replicates_to_hook_backup_with_handler_threads() {
    let mut hamux = hamux_settings();
    hamux["handler-threads"] = json!(2);
    replicate_with(Family::V4, hook_under_test(), hook_under_test(), false, false, &hamux);
}

#[test]
fn v6_hook_primary_replicates_to_hook_backup_over_hamux() {
    replicate(Family::V6, hook_under_test(), hook_under_test(), false);
}

#[test]
fn migration_kea_ha_primary_replicates_to_hook_backup_over_http() {
    replicate(Family::V4, Replicator::KeaHa, hook_under_test(), false);
}

#[test]
fn migration_hook_primary_replicates_to_kea_ha_backup_over_http() {
    replicate(Family::V4, hook_under_test(), Replicator::KeaHa, false);
}

#[test]
fn v4_hook_primary_replicates_to_hook_backup_over_hamuxs_with_mutual_tls() {
    replicate(Family::V4, hook_under_test(), hook_under_test(), true);
}

#[test]
fn migration_kea_ha_primary_replicates_to_hook_backup_over_https_with_mutual_tls() {
    replicate(Family::V4, Replicator::KeaHa, hook_under_test(), true);
}

/// Kea's TLS keys with `hamux://` URLs: TLS (`hamuxs://`) as with Kea's HA.
#[test]
fn v4_hook_primary_replicates_to_hook_backup_with_tls_files_and_hamux_urls() {
    replicate_tls(Family::V4, hook_under_test(), hook_under_test(), true, false);
}

/// An operator migrating keeps `http://` URLs with the TLS files: Kea's HA then speaks
/// TLS, and so must the hook, both ways.
#[test]
fn migration_kea_ha_primary_replicates_to_hook_backup_with_tls_files_and_http_urls() {
    replicate_tls(Family::V4, Replicator::KeaHa, hook_under_test(), true, false);
}

#[test]
fn migration_hook_primary_replicates_to_kea_ha_backup_with_tls_files_and_http_urls() {
    replicate_tls(Family::V4, hook_under_test(), Replicator::KeaHa, true, false);
}

#[test]
fn migration_v6_kea_ha_primary_replicates_to_hook_backup_over_http() {
    replicate(Family::V6, Replicator::KeaHa, hook_under_test(), false);
}

#[test]
fn migration_v6_hook_primary_replicates_to_kea_ha_backup_over_http() {
    replicate(Family::V6, hook_under_test(), Replicator::KeaHa, false);
}

/// The harness against Kea's own HA on both sides: what the hook must match.
#[test]
fn reference_v4_kea_ha_replicates_to_kea_ha() {
    replicate(Family::V4, Replicator::KeaHa, Replicator::KeaHa, false);
}

#[test]
fn reference_v6_kea_ha_replicates_to_kea_ha() {
    replicate(Family::V6, Replicator::KeaHa, Replicator::KeaHa, false);
}

/// A backup does not serve DHCP (libdhcp_ha's backup state disables the service, with
/// the HA origin: a user's `dhcp-enable` does not change that, nor does a reload); its
/// primary does. Both have DHCP on lo; the backup's drops show as Kea's
/// `DHCP4_PACKET_DROP_0008` ("DHCP service is globally disabled").
#[test]
fn backup_does_not_serve_dhcp_its_primary_does() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    let hook = hook_under_test();
    if !ready(Family::V4, &[hook]) || !relay_address_ready() {
        return;
    }
    let scheme = scheme(hook, hook, false);
    let [primary_port, backup_port, primary_dhcp, backup_dhcp] = free_ports();
    let peers =
        [("server1", url(scheme, primary_port), "primary"), ("server2", url(scheme, backup_port), "backup")];
    let start = |this: &str, own: &str, dhcp_port: u16| {
        let entry = ha_entry(hook, this, "passive-backup", &peers, json!({"wait-backup-ack": true}));
        let mut config =
            server_config(Family::V4, vec![kea::lease_cmds_hook(), entry], dhcp_body(Family::V4, true));
        config["Dhcp4"]["loggers"].as_array_mut().unwrap().push(json!({"name": "kea-dhcp4.bad-packets",
            "severity": "DEBUG", "debuglevel": 15, "output_options": [{"output": "stdout"}]}));
        Server::start(Family::V4, config, own, Some(dhcp_port))
    };
    let backup = start("server2", &peers[1].1, backup_dhcp);
    let primary = start("server1", &peers[0].1, primary_dhcp);
    primary.wait_until_serving();
    let offers = |port: u16| {
        let report = perfdhcp_with(Family::V4, port, &["-r", "50", "-p", "2"]);
        let (sent, received) = report.blocks.get("DISCOVER-OFFER").copied().unwrap_or_default();
        assert!(sent > 20, "perfdhcp sent {sent} DISCOVERs:\n{}", report.text);
        received
    };
    let drops = |s: &Server| s.log().matches("DHCP4_PACKET_DROP_0008").count();
    let check_backup_silent = |when: &str| {
        let before = drops(&backup);
        let answered = offers(backup_dhcp);
        assert_eq!(answered, 0, "{when}: the backup answered {answered} DISCOVERs:\n{}", backup.log());
        assert!(drops(&backup) > before, "{when}: the backup did not drop the DISCOVERs:\n{}", backup.log());
    };
    check_backup_silent("after start");
    // A user's dhcp-enable clears only the user's own disabling.
    let answer = backup.command("dhcp-enable", None);
    assert_eq!(answer["result"], 0, "{answer}");
    check_backup_silent("after dhcp-enable");
    let answer = backup.command("config-reload", None);
    assert_eq!(answer["result"], 0, "{answer}\n{}", backup.log());
    check_backup_silent("after config-reload");

    let answered = offers(primary_dhcp);
    assert!(answered > 20, "the primary answered {answered} DISCOVERs:\n{}", primary.log());
    assert_eq!(drops(&primary), 0, "{}", primary.log());
    println!("backup: no OFFER, {} DISCOVERs dropped; primary: {answered} OFFERs", drops(&backup));
}

/// A stand-in HTTP backup: accepts Kea's HTTP/1.1 lease commands (keep-alive, any
/// number of connections), answers each `[{"result": 0}]`, and records the
/// `Authorization` header of each.
struct HttpBackup {
    port: u16,
    authorizations: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl HttpBackup {
    fn start() -> HttpBackup {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let authorizations = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = authorizations.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut writer = stream.try_clone().unwrap();
                    let mut reader = BufReader::new(stream);
                    loop {
                        let (mut length, mut authorization) = (0usize, String::new());
                        let mut line = String::new();
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            let header = line.trim_end();
                            if header.is_empty() {
                                break;
                            }
                            if let Some((name, value)) = header.split_once(':') {
                                match name.to_ascii_lowercase().as_str() {
                                    "content-length" => length = value.trim().parse().unwrap_or(0),
                                    "authorization" => authorization = value.trim().to_string(),
                                    _ => {}
                                }
                            }
                        }
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        seen.lock().unwrap().push(authorization);
                        let answer = r#"[{"result": 0, "text": "IPv4 lease updated."}]"#;
                        let reply = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                            answer.len()
                        );
                        if writer.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        HttpBackup { port, authorizations }
    }
}

/// Standard base64 (RFC 4648), for the expected `Authorization` header.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `basic-auth-password-file` is read as Kea 2.2's libdhcp_ha reads it: the whole file,
/// a trailing newline included (`util::file::getContent`). The same file gives the same
/// `Authorization` header from Kea's HA and from the hook (which used to strip the
/// newline, so a migrated primary was refused by a partner checking the password).
#[test]
fn basic_auth_password_file_is_read_as_kea_reads_it() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !ready(Family::V4, &[Replicator::KeaHa, hook_under_test()]) || !relay_address_ready() {
        return;
    }
    let dir = support::kea_hook::TempDir::new("password-file");
    let file = dir.path().join("password");
    std::fs::write(&file, "s3cret\n").unwrap();
    let expected = format!("Basic {}", base64(b"hamux:s3cret\n"));
    let mut headers = BTreeMap::new();
    for replicator in [Replicator::KeaHa, hook_under_test()] {
        let backup = HttpBackup::start();
        let [primary_port, dhcp_port] = free_ports();
        let peers = [
            ("server1", url("http", primary_port), "primary"),
            ("server2", url("http", backup.port), "backup"),
        ];
        let mut entry = ha_entry(replicator, "server1", "passive-backup", &peers, json!({}));
        let backup_peer = &mut entry["parameters"]["high-availability"][0]["peers"][1];
        backup_peer["basic-auth-user"] = json!("hamux");
        backup_peer["basic-auth-password-file"] = json!(file);
        let config =
            server_config(Family::V4, vec![kea::lease_cmds_hook(), entry], dhcp_body(Family::V4, true));
        let primary = Server::start(Family::V4, config, &peers[0].1, Some(dhcp_port));
        primary.wait_until_serving();
        let report = perfdhcp_with(Family::V4, dhcp_port, &["-r", "10", "-R", "100000", "-p", "1"]);
        assert!(
            report.lease_acks(Family::V4) > 0,
            "{replicator:?}: no ACK:\n{}\n{}",
            report.text,
            primary.log()
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while backup.authorizations.lock().unwrap().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let seen: std::collections::BTreeSet<String> =
            backup.authorizations.lock().unwrap().iter().cloned().collect();
        assert_eq!(seen.len(), 1, "{replicator:?}: Authorization headers {seen:?}\n{}", primary.log());
        headers.insert(format!("{replicator:?}"), seen.into_iter().next().unwrap());
    }
    for (replicator, header) in &headers {
        assert_eq!(header, &expected, "{replicator}'s Authorization header (all: {headers:?})");
    }
    println!("Authorization from the same password file: {headers:?}");
}

// ---------------------------------------------------------------- configuration errors

/// A bad configuration: how it differs from a good primary's, and what the error lines of
/// the log must say (each substring, case-insensitive, in one ERROR line) from the hook
/// and from Kea's HA (`None`: Kea's HA accepts it, or has no such key).
struct BadConfig {
    change: fn(&mut Value),
    hook_says: &'static [&'static str],
    kea_ha_says: Option<&'static [&'static str]>,
}

fn refuse(bad: BadConfig) {
    let replicator = hook_under_test();
    if !kea::available("kea-dhcp4") || !ready(Family::V4, &[replicator]) {
        return;
    }
    let expected = match replicator {
        Replicator::Hamux => bad.hook_says,
        Replicator::KeaHa => match bad.kea_ha_says {
            Some(says) => says,
            None => return eprintln!("SKIPPED: Kea's HA accepts this; nothing to check with the stand-in"),
        },
    };
    let scheme = scheme(replicator, replicator, false);
    let [primary_port, backup_port] = free_ports();
    let peers =
        [("server1", url(scheme, primary_port), "primary"), ("server2", url(scheme, backup_port), "backup")];
    let mut entry =
        ha_entry(replicator, "server1", "passive-backup", &peers, json!({"wait-backup-ack": true}));
    let ha = &mut entry["parameters"]["high-availability"][0];
    (bad.change)(ha);
    let config = server_config(Family::V4, vec![kea::lease_cmds_hook(), entry], dhcp_body(Family::V4, false));
    check_refused(&config, expected);
}

#[test]
fn refuses_an_unknown_key() {
    refuse(BadConfig {
        change: |ha| ha["no-such-key"] = json!(1),
        hook_says: &["no-such-key"],
        kea_ha_says: None,
    });
}

#[test]
fn refuses_an_unknown_key_in_hamux_settings() {
    refuse(BadConfig {
        change: |ha| ha["hamux"]["no-such-key"] = json!(1),
        hook_says: &["no-such-key"],
        kea_ha_says: None,
    });
}

#[test]
fn refuses_a_bad_url() {
    refuse(BadConfig {
        change: |ha| ha["peers"][1]["url"] = json!("ftp://127.0.0.1:1/"),
        hook_says: &["url", "ftp"],
        kea_ha_says: Some(&["url", "ftp"]),
    });
}

/// Kea's rule: all or none of trust-anchor, cert-file and key-file.
#[test]
fn refuses_tls_files_given_in_part() {
    refuse(BadConfig {
        change: |ha| {
            ha["trust-anchor"] = json!("/nonexistent/ca.pem");
            ha["cert-file"] = json!("/nonexistent/cert.pem");
        },
        hook_says: &["key-file", "all or none"],
        kea_ha_says: Some(&["key-file", "all or none"]),
    });
}

#[test]
fn refuses_a_tls_url_without_tls_files() {
    refuse(BadConfig {
        change: |ha| {
            let url = ha["peers"][1]["url"].as_str().unwrap().replacen("://", "s://", 1);
            ha["peers"][1]["url"] = json!(url.replacen("hamuxs://", "https://", 1));
        },
        hook_says: &["url", "https", "tls"],
        kea_ha_says: Some(&["https", "tls"]),
    });
}

#[test]
fn refuses_this_server_name_not_among_the_peers() {
    refuse(BadConfig {
        change: |ha| ha["this-server-name"] = json!("server3"),
        hook_says: &["this-server-name", "server3"],
        kea_ha_says: Some(&["server3"]),
    });
}

#[test]
fn refuses_two_primaries() {
    refuse(BadConfig {
        change: |ha| ha["peers"][1]["role"] = json!("primary"),
        hook_says: &["primary"],
        kea_ha_says: Some(&["primary"]),
    });
}

// ---------------------------------------------------------------- differential

/// DHCPv4 lease commands as an HA partner sends them, and the mistakes it might make.
fn lease4_commands() -> Vec<Value> {
    let update = |args: Value| json!({"command": "lease4-update", "service": ["dhcp4"], "arguments": args});
    let del = |args: Value| json!({"command": "lease4-del", "service": ["dhcp4"], "arguments": args});
    let full = json!({"ip-address": "192.0.2.13", "hw-address": "1a:1b:1c:1d:1e:13", "client-id": "01:02:03",
        "subnet-id": 1, "valid-lft": 7200, "expire": 2_000_000_000, "fqdn-fwd": true, "fqdn-rev": false,
        "hostname": "host13.example.org", "state": 0, "force-create": true, "origin": "ha-partner"});
    let mut renamed = full.clone();
    renamed["hostname"] = json!("renamed.example.org");
    renamed.as_object_mut().unwrap().remove("force-create");
    vec![
        // Added, then updated, then deleted, then not found.
        update(json!({"ip-address": "192.0.2.10", "hw-address": "1a:1b:1c:1d:1e:10", "subnet-id": 1,
            "valid-lft": 3600, "force-create": true, "origin": "ha-partner"})),
        update(json!({"ip-address": "192.0.2.10", "hw-address": "1a:1b:1c:1d:1e:11", "subnet-id": 1,
            "valid-lft": 3600, "force-create": true, "origin": "ha-partner"})),
        del(json!({"ip-address": "192.0.2.10", "hw-address": "1a:1b:1c:1d:1e:11", "subnet-id": 1,
            "origin": "ha-partner"})),
        del(json!({"ip-address": "192.0.2.10", "origin": "ha-partner"})),
        del(json!({"ip-address": "192.0.2.99"})),
        // Every field a lease carries; then updated without force-create.
        update(full),
        update(renamed),
        // An update of a missing lease without force-create.
        update(json!({"ip-address": "192.0.2.11", "hw-address": "1a:1b:1c:1d:1e:12", "subnet-id": 1})),
        // Without the subnet: found from the address.
        update(json!({"ip-address": "192.0.2.12", "hw-address": "1a:1b:1c:1d:1e:14", "force-create": true})),
        // Bad addresses, outside any subnet, an unknown subnet, missing or wrong arguments.
        update(json!({"ip-address": "not-an-address", "hw-address": "1a:1b:1c:1d:1e:15", "subnet-id": 1,
            "force-create": true})),
        update(json!({"ip-address": "2001:db8::1", "hw-address": "1a:1b:1c:1d:1e:15", "subnet-id": 1,
            "force-create": true})),
        update(
            json!({"ip-address": "198.51.100.5", "hw-address": "1a:1b:1c:1d:1e:16", "force-create": true}),
        ),
        update(json!({"ip-address": "198.51.100.5", "hw-address": "1a:1b:1c:1d:1e:16", "subnet-id": 1,
            "force-create": true})),
        update(json!({"ip-address": "192.0.2.17", "hw-address": "1a:1b:1c:1d:1e:17", "subnet-id": 77,
            "force-create": true})),
        update(json!({"ip-address": "192.0.2.18", "subnet-id": 1, "force-create": true})),
        update(
            json!({"ip-address": "192.0.2.19", "hw-address": "not-a-mac", "subnet-id": 1, "force-create": true}),
        ),
        update(json!({"hw-address": "1a:1b:1c:1d:1e:19", "subnet-id": 1, "force-create": true})),
        update(json!({"ip-address": 7, "hw-address": "1a:1b:1c:1d:1e:19", "subnet-id": 1})),
        update(json!({})),
        update(json!("not an object")),
        json!({"command": "lease4-update", "service": ["dhcp4"]}),
        json!({"command": "lease4-del", "service": ["dhcp4"]}),
        del(json!({"ip-address": "not-an-address"})),
    ]
}

/// DHCPv6 lease commands as an HA partner sends them (Kea's HA sends one
/// lease6-bulk-apply per packet), and mistakes.
fn lease6_commands() -> Vec<Value> {
    let command = |name: &str, args: Value| json!({"command": name, "service": ["dhcp6"], "arguments": args});
    let lease = |addr: &str, duid: &str| {
        json!({"ip-address": addr, "duid": duid, "iaid": 7, "subnet-id": 1, "valid-lft": 3600,
               "preferred-lft": 3000, "type": "IA_NA", "hw-address": "1a:1b:1c:1d:1e:1f", "fqdn-fwd": false,
               "fqdn-rev": false, "hostname": "", "state": 0})
    };
    let forced = |mut l: Value| {
        l["force-create"] = json!(true);
        l["origin"] = json!("ha-partner");
        l
    };
    let bulk = |leases: Vec<Value>, deleted: Vec<Value>| {
        command(
            "lease6-bulk-apply",
            json!({"origin": "ha-partner", "leases": leases, "deleted-leases": deleted}),
        )
    };
    let mut prefix = lease("2001:db8:1:8000::", "01:02:03:04:05:06:07:30");
    prefix["type"] = json!("IA_PD");
    prefix["prefix-len"] = json!(64);
    vec![
        // Added, then updated, then deleted, then not found.
        command("lease6-update", forced(lease("2001:db8:1::10", "01:02:03:04:05:06:07:10"))),
        command("lease6-update", forced(lease("2001:db8:1::10", "01:02:03:04:05:06:07:11"))),
        command("lease6-del", json!({"ip-address": "2001:db8:1::10", "origin": "ha-partner"})),
        command("lease6-del", json!({"ip-address": "2001:db8:1::10", "origin": "ha-partner"})),
        // Bulk: new leases, one updated, one deleted, one missing deleted, one bad.
        bulk(
            vec![
                lease("2001:db8:1::20", "01:02:03:04:05:06:07:20"),
                lease("2001:db8:1::21", "01:02:03:04:05:06:07:21"),
            ],
            vec![],
        ),
        // One updated, one deleted, one missing deleted (Kea lists it in failed-leases).
        bulk(
            vec![lease("2001:db8:1::21", "01:02:03:04:05:06:07:22")],
            vec![
                lease("2001:db8:1::20", "01:02:03:04:05:06:07:20"),
                lease("2001:db8:1::99", "01:02:03:04:05:06:07:99"),
            ],
        ),
        // A lease outside the subnet among good ones.
        bulk(
            vec![
                lease("2001:db8:1::22", "01:02:03:04:05:06:07:24"),
                lease("2001:db8:2::1", "01:02:03:04:05:06:07:23"),
            ],
            vec![lease("2001:db8:1::21", "01:02:03:04:05:06:07:22")],
        ),
        bulk(vec![], vec![]),
        command("lease6-bulk-apply", json!({"leases": "not a list"})),
        command("lease6-bulk-apply", json!({})),
        json!({"command": "lease6-bulk-apply", "service": ["dhcp6"]}),
        // A prefix.
        command("lease6-update", forced(prefix)),
        // Bad addresses, outside any subnet, an unknown subnet, missing or wrong arguments.
        command("lease6-update", forced(lease("not-an-address", "01:02:03:04:05:06:07:40"))),
        command("lease6-update", forced(lease("192.0.2.1", "01:02:03:04:05:06:07:41"))),
        command("lease6-update", {
            let mut l = forced(lease("2001:db8:9::1", "01:02:03:04:05:06:07:42"));
            l.as_object_mut().unwrap().remove("subnet-id");
            l
        }),
        command("lease6-update", forced(lease("2001:db8:9::1", "01:02:03:04:05:06:07:43"))),
        command("lease6-update", {
            let mut l = forced(lease("2001:db8:1::44", "01:02:03:04:05:06:07:44"));
            l["subnet-id"] = json!(77);
            l
        }),
        command("lease6-update", {
            let mut l = forced(lease("2001:db8:1::45", "01:02:03:04:05:06:07:45"));
            l.as_object_mut().unwrap().remove("duid");
            l
        }),
        command("lease6-update", {
            let mut l = forced(lease("2001:db8:1::46", "01:02:03:04:05:06:07:46"));
            l.as_object_mut().unwrap().remove("iaid");
            l
        }),
        command("lease6-update", forced(lease("2001:db8:1::47", "not-a-duid"))),
        command("lease6-update", lease("2001:db8:1::48", "01:02:03:04:05:06:07:48")),
        command("lease6-update", json!({})),
        json!({"command": "lease6-update", "service": ["dhcp6"]}),
        json!({"command": "lease6-del", "service": ["dhcp6"]}),
        command("lease6-del", json!({"ip-address": "not-an-address"})),
    ]
}

/// Its leases as `lease4-get-all` / `lease6-get-all` lists them, without `cltt` (when the
/// lease was last written: for commands without `expire` the servers' clocks differ).
fn all_leases(server: &Server) -> Value {
    let command = if server.family == Family::V4 { "lease4-get-all" } else { "lease6-get-all" };
    let mut all = server.command(command, None)["arguments"]["leases"].clone();
    for lease in all.as_array_mut().into_iter().flatten() {
        lease.as_object_mut().unwrap().remove("cltt");
    }
    all
}

/// The same lease commands over HTTP to Kea's HA + lease_cmds and to the hook: the answers
/// and the leases they leave must be the same. The hook is asked again over hamux://
/// (after the reference was asked a second time over HTTP: the second round starts from
/// the first's leases).
fn answers_like_kea(family: Family) {
    let hook = hook_under_test();
    if !ready(family, &[Replicator::KeaHa, hook]) {
        return;
    }
    let (subnets, commands) = match family {
        Family::V4 => (
            json!({"subnet4": [{"id": 1, "subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.100 - 192.0.2.200"}]}]}),
            lease4_commands(),
        ),
        Family::V6 => (
            json!({"subnet6": [{"id": 1, "subnet": "2001:db8:1::/48",
                "pools": [{"pool": "2001:db8:1::1000 - 2001:db8:1::ffff"}],
                "pd-pools": [{"prefix": "2001:db8:1:8000::", "prefix-len": 49, "delegated-len": 64}]}]}),
            lease6_commands(),
        ),
    };
    let [reference_port, reference_partner, tested_port, tested_partner] = free_ports();
    let start = |replicator: Replicator, port: u16, partner: u16| {
        let scheme = scheme(replicator, replicator, false);
        // A backup whose primary does not exist (passive-backup: it never calls it).
        let peers = [("server1", url(scheme, partner), "primary"), ("server2", url(scheme, port), "backup")];
        let entry = ha_entry(replicator, "server2", "passive-backup", &peers, json!({}));
        let config = server_config(family, vec![kea::lease_cmds_hook(), entry], subnets.clone());
        Server::start(family, config, &peers[1].1, None)
    };
    let reference = start(Replicator::KeaHa, reference_port, reference_partner);
    let tested = start(hook, tested_port, tested_partner);
    let client = Client::new(r#"{"connections-per-peer": 1}"#).unwrap();
    let http = |s: &Server| url("http", s.port);

    let compare = |round: &str, tested_url: &str| {
        let mut differences = Vec::new();
        for command in &commands {
            let expected = call(&client, &http(&reference), command);
            let got = call(&client, tested_url, command);
            println!("{round}: {command} -> {expected}");
            if expected != got {
                differences.push(format!("{command}\n  Kea:  {expected}\n  hook: {got}"));
            }
        }
        assert!(
            differences.is_empty(),
            "{round}: the hook answers differently from Kea's lease_cmds:\n{}\n--- hook log\n{}",
            differences.join("\n"),
            tested.log()
        );
        let (expected, got) = (all_leases(&reference), all_leases(&tested));
        assert!(expected.as_array().is_some_and(|l| !l.is_empty()), "{round}: {expected}");
        assert_eq!(expected, got, "{round}: the hook keeps other leases than Kea's lease_cmds");
    };
    compare("HTTP", &http(&tested));
    if hook == Replicator::Hamux {
        compare("hamux://", &url("hamux", tested.port));
    }
}

#[test]
fn v4_hook_answers_lease_commands_like_kea() {
    answers_like_kea(Family::V4);
}

#[test]
fn v6_hook_answers_lease_commands_like_kea() {
    answers_like_kea(Family::V6);
}

/// Other commands than lease updates reach Kea's command manager through the serial
/// lane (Kea's main thread): a command nobody registered gets Kea's "not supported",
/// config-get answers; with `restrict-commands` only libdhcp_ha's own commands are
/// taken and the rest refused with 403, as libdhcp_ha's listener refuses them.
#[test]
fn other_commands_run_in_kea_unless_restricted() {
    if hook_under_test() != Replicator::Hamux || !ready(Family::V4, &[Replicator::Hamux]) {
        return;
    }
    let client = Client::new(r#"{"connections-per-peer": 1}"#).unwrap();
    for restrict in [false, true] {
        let [port, partner] = free_ports();
        let peers =
            [("server1", url("hamux", partner), "primary"), ("server2", url("hamux", port), "backup")];
        let entry = ha_entry(
            Replicator::Hamux,
            "server2",
            "passive-backup",
            &peers,
            json!({"restrict-commands": restrict}),
        );
        let config =
            server_config(Family::V4, vec![kea::lease_cmds_hook(), entry], dhcp_body(Family::V4, false));
        let server = Server::start(Family::V4, config, &peers[1].1, None);
        let answer = |command: &str| {
            let answer = call(&client, &peers[1].1, &json!({"command": command, "service": ["dhcp4"]}));
            answer[0].clone()
        };
        let heartbeat = answer("ha-heartbeat");
        assert_eq!(heartbeat["result"], 0, "{heartbeat}");
        assert_eq!(heartbeat["arguments"]["state"], "backup", "{heartbeat}");
        let config_get = answer("config-get");
        let unknown = answer("no-such-command");
        if restrict {
            assert_eq!(config_get, json!({"result": 403, "text": "Forbidden"}), "{}", server.log());
            assert_eq!(unknown, json!({"result": 403, "text": "Forbidden"}), "{}", server.log());
        } else {
            assert_eq!(config_get["result"], 0, "{config_get}");
            assert!(config_get["arguments"]["Dhcp4"].is_object(), "{config_get}");
            assert_eq!(unknown, json!({"result": 2, "text": "'no-such-command' command not supported."}));
            // It would unload the hook serving it: refused on the HA port.
            let reload = answer("config-reload");
            assert_eq!(reload["result"], 1, "{reload}");
            assert!(server.running(), "{}", server.log());
        }
        let expected = if restrict { 3 } else { 4 };
        assert_eq!(server.stat("hamux-commands-received"), expected, "restrict-commands {restrict}");
    }
}
