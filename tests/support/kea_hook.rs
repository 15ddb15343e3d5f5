//! Real kea-dhcp4 / kea-dhcp6 servers replicating leases to each other, either through
//! hamux's own Kea hook (`kea/` → `libdhcp_hamux.so`, built once per test process from the
//! `libhamux.a` of this test run) or through Kea's own `libdhcp_ha.so`, which serves as
//! the reference and as a stand-in with the same configuration shape.
//!
//! Every server also loads `libdhcp_lease_cmds.so` and has a unix control socket, so a test
//! reads its leases and statistics with `lease4-get-all` / `statistic-get-all`.
//! perfdhcp runs (DHCPv4 as a relay at 127.0.0.2, DHCPv6 as a relay at ::1) are serialized
//! across test processes by an flock.

use super::kea::{self, Kea};
use super::library::{lib_dir, manifest_dir};
use super::process::{run_with_limit, Finished};
use super::{perfdhcp, skip};
use hamux::client::{Client, Reply};
use hamux::Status;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// What replicates the leases in a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replicator {
    /// Kea's own `libdhcp_ha.so` (HTTP only).
    KeaHa,
    /// hamux's `libdhcp_hamux.so`.
    Hamux,
}

/// What the tests call "the hook": `libdhcp_hamux.so`, or — with
/// `HAMUX_KEA_HOOK_STANDIN=1` — Kea's `libdhcp_ha.so` in the same configuration shape
/// (to check the harness itself; the hamux-only checks are left out then).
pub fn hook_under_test() -> Replicator {
    if std::env::var_os("HAMUX_KEA_HOOK_STANDIN").is_some_and(|v| v == "1") {
        Replicator::KeaHa
    } else {
        Replicator::Hamux
    }
}

/// Whether the hook under test is hamux's (not Kea's HA standing in): the hamux-only
/// checks run only then.
pub fn hamux_under_test() -> bool {
    hook_under_test() == Replicator::Hamux
}

/// The URL of a server on `port` (on 127.0.0.1) whose partners all replicate with the
/// hook under test: what [`scheme`] gives two of them, without TLS.
pub fn hook_url(port: u16) -> String {
    let hook = hook_under_test();
    format!("{}://127.0.0.1:{port}/", scheme(hook, hook, false))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn daemon(self) -> &'static str {
        match self {
            Family::V4 => "kea-dhcp4",
            Family::V6 => "kea-dhcp6",
        }
    }

    /// The top-level key of the configuration.
    pub fn key(self) -> &'static str {
        match self {
            Family::V4 => "Dhcp4",
            Family::V6 => "Dhcp6",
        }
    }

    /// The `service` of commands sent to a Kea HA listener.
    pub fn service(self) -> &'static str {
        match self {
            Family::V4 => "dhcp4",
            Family::V6 => "dhcp6",
        }
    }
}

/// Whether a test with servers of `family` using `replicators` can run here: Kea (and
/// perfdhcp) installed, and for the hamux hook Kea's headers and a successful build
/// (a failed build panics with make's output). Prints why a test is skipped;
/// `HAMUX_REQUIRE_KEA=1` makes a skip a failure.
pub fn ready(family: Family, replicators: &[Replicator]) -> bool {
    if !kea::available(family.daemon()) {
        return false;
    }
    if !skip::needs(perfdhcp::installed()) {
        return false;
    }
    if !Path::new(kea::HOOKS).join("libdhcp_lease_cmds.so").exists() {
        return skip::skip("libdhcp_lease_cmds.so is not installed (apt-get install kea-dhcp4-server)");
    }
    if replicators.contains(&Replicator::Hamux) {
        if !Path::new("/usr/include/kea/hooks/hooks.h").exists() {
            return skip::skip("Kea's headers are not installed (apt-get install kea-dev libboost-dev)");
        }
        hook_library();
    }
    true
}

static HOOK: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// `libdhcp_hamux.so`, built by `make kea` (once per test process) against the
/// `libhamux.a` cargo built for this test run, into `target/<profile>/kea-test`.
/// Panics with make's output if the build fails.
pub fn hook_library() -> &'static Path {
    match HOOK.get_or_init(build_hook) {
        Ok(path) => path,
        Err(why) => panic!("{why}"),
    }
}

static ASAN_HOOK: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// `libdhcp_hamux.so` with its C++ compiled with AddressSanitizer, into
/// `target/<profile>/kea-asan` (objects apart from the plain build's). Kea itself is not
/// instrumented: run it with `LD_PRELOAD` of the compiler's libasan.
pub fn asan_hook_library() -> &'static Path {
    let build = || {
        build_hook_flavour(
            "kea-asan",
            &[
                "KEA_CXXFLAGS=-std=c++17 -O1 -g -fPIC -fsanitize=address -fno-omit-frame-pointer",
                "KEA_LDFLAGS=-fsanitize=address",
            ],
        )
    };
    match ASAN_HOOK.get_or_init(build) {
        Ok(path) => path,
        Err(why) => panic!("{why}"),
    }
}

fn build_hook() -> Result<PathBuf, String> {
    build_hook_flavour("kea-test", &[])
}

/// `make kea` into `target/<profile>/<name>`, with `extra` make variables (a flavour
/// with its own flags gets its own object directory).
fn build_hook_flavour(name: &str, extra: &[&str]) -> Result<PathBuf, String> {
    let libs = lib_dir();
    let out = libs.parent().expect("target/<profile>").join(name);
    let mut cmd = Command::new("make");
    cmd.current_dir(manifest_dir())
        .args(["--no-print-directory", "-j2", "kea", "NO_BUILD=1"])
        .arg(format!("LIB_DIR={}", libs.display()))
        .arg(format!("KEA_OUT={}", out.display()))
        .args(extra);
    if !extra.is_empty() {
        cmd.arg(format!("KEA_OBJ={}", out.join("obj").display()));
    }
    cmd
        // An outer make's flags (-n, a jobserver) are not for this one.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL");
    let limit = Duration::from_secs(900);
    let Finished { status, stdout, stderr, .. } = run_with_limit(&mut cmd, limit, "make kea");
    let library = out.join("libdhcp_hamux.so");
    match status {
        Some(s) if s.success() && library.exists() => Ok(library),
        Some(s) => Err(format!(
            "make kea failed ({s}, {} exists: {}): {cmd:?}\n--- stdout\n{stdout}--- stderr\n{stderr}",
            library.display(),
            library.exists()
        )),
        None => {
            Err(format!("make kea killed after {limit:?}: {cmd:?}\n--- stdout\n{stdout}--- stderr\n{stderr}"))
        }
    }
}

/// The `hamux` part of the hook's HA entry the tests use.
pub fn hamux_settings() -> Value {
    json!({"connections-per-peer": 4, "request-timeout-ms": 10000})
}

/// The hooks-libraries entry replicating with `replicator` for the server named `this`
/// among `peers` (name, url, role); `extra` is merged into the HA entry (for Kea's HA,
/// a `hamux` key in it is dropped).
pub fn ha_entry(
    replicator: Replicator,
    this: &str,
    mode: &str,
    peers: &[(&str, String, &str)],
    extra: Value,
) -> Value {
    match replicator {
        Replicator::KeaHa => {
            let mut extra = extra;
            if let Some(obj) = extra.as_object_mut() {
                obj.remove("hamux");
            }
            kea::ha_hook(this, mode, peers, extra)
        }
        Replicator::Hamux => {
            let peers: Vec<Value> = peers
                .iter()
                .map(|(name, url, role)| json!({"name": name, "url": url, "role": role}))
                .collect();
            let mut ha =
                json!({"this-server-name": this, "mode": mode, "peers": peers, "hamux": hamux_settings()});
            if let (Some(ha), Some(extra)) = (ha.as_object_mut(), extra.as_object()) {
                for (k, v) in extra {
                    ha.insert(k.clone(), v.clone());
                }
            }
            json!({"library": hook_library(), "parameters": {"high-availability": [ha]}})
        }
    }
}

/// The URL scheme two servers use for each other: `hamux://` between two hamux hooks,
/// Kea's `http://` as soon as one of them is Kea's HA; over TLS `hamuxs://`, `https://`.
pub fn scheme(a: Replicator, b: Replicator, tls: bool) -> &'static str {
    match (a == Replicator::Hamux && b == Replicator::Hamux, tls) {
        (true, false) => "hamux",
        (true, true) => "hamuxs",
        (false, false) => "http",
        (false, true) => "https",
    }
}

/// perfdhcp acts as a DHCPv4 relay at this address, which the v4 subnet selects.
pub const RELAY4: &str = "127.0.0.2";

/// The subnets every server of a test has (the backup needs them for the lease updates);
/// `dhcp` also makes it answer perfdhcp on loopback.
pub fn dhcp_body(family: Family, dhcp: bool) -> Value {
    match family {
        Family::V4 => json!({
            "interfaces-config": if dhcp { json!({"interfaces": ["lo"], "dhcp-socket-type": "udp"}) }
                                 else { json!({"interfaces": []}) },
            "valid-lifetime": 3600,
            "subnet4": [{"id": 1, "subnet": "10.0.0.0/8", "relay": {"ip-addresses": [RELAY4]},
                         "pools": [{"pool": "10.1.0.0 - 10.1.255.255"}]}]
        }),
        // kea-dhcp6 does not open a multicast socket on lo (no link-local address) but
        // listens on ::1 by unicast with "lo/::1"; perfdhcp -A1 relays from ::1 with
        // link-address ::1, which the subnet's relay address selects (a relayed SOLICIT
        // is accepted by unicast).
        Family::V6 => json!({
            "interfaces-config": {"interfaces": if dhcp { json!(["lo/::1"]) } else { json!([]) }},
            "preferred-lifetime": 3000,
            "valid-lifetime": 3600,
            "subnet6": [{"id": 1, "subnet": "2001:db8:1::/64", "relay": {"ip-addresses": ["::1"]},
                         "pools": [{"pool": "2001:db8:1::1000 - 2001:db8:1::ffff"}]}]
        }),
    }
}

/// The whole configuration of a server: Kea's common test settings, then what the hook
/// documentation asks for (an unbounded packet queue, no parked-packet limit).
pub fn server_config(family: Family, hooks: Vec<Value>, body: Value) -> Value {
    let mut config = kea::server(family.key(), hooks, body);
    let obj = config[family.key()].as_object_mut().expect("a server object");
    obj.insert(
        "multi-threading".into(),
        json!({"enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 0}),
    );
    obj.insert("parked-packet-limit".into(), json!(0));
    if family == Family::V6 {
        // Otherwise kea-dhcp6 wants to write /var/lib/kea/kea-dhcp6-serverid.
        obj.insert("server-id".into(), json!({"type": "LLT", "persist": false}));
    }
    config
}

/// A directory removed on drop.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server with a unix control socket; stopped (and its files removed) on drop.
pub struct Server {
    // Declared first, dropped first: the daemon is stopped before its socket's directory
    // is removed.
    kea: Kea,
    pub family: Family,
    /// Its own peer URL: where its HA listener is.
    pub url: String,
    pub port: u16,
    pub socket: PathBuf,
    _dir: Dir,
}

impl Server {
    /// Starts `family`'s daemon with `config` (from [`server_config`]) once a control
    /// socket is added, listening for HA traffic at `url` (whose port it waits for);
    /// `dhcp_port` is its DHCP port (`-p`) when it serves perfdhcp.
    pub fn start(family: Family, config: Value, url: &str, dhcp_port: Option<u16>) -> Server {
        Server::start_with(family, config, url, dhcp_port, &kea::Launcher::default())
    }

    /// As [`Server::start`], the daemon run through `launcher`.
    pub fn start_with(
        family: Family,
        mut config: Value,
        url: &str,
        dhcp_port: Option<u16>,
        launcher: &kea::Launcher,
    ) -> Server {
        let port = port_of(url);
        let dir = Dir(std::env::temp_dir().join(format!("hamux-kea-hook-{}-{port}", std::process::id())));
        let _ = std::fs::remove_dir_all(&dir.0);
        std::fs::create_dir_all(&dir.0).unwrap();
        let socket = dir.0.join(format!("{}.sock", family.service()));
        config[family.key()]["control-socket"] = json!({"socket-type": "unix", "socket-name": socket});
        let dhcp_port = dhcp_port.map(|p| p.to_string());
        let args: Vec<&str> = dhcp_port.as_deref().map(|p| vec!["-p", p]).unwrap_or_default();
        let kea = Kea::start_with(
            family.daemon(),
            &config,
            &args,
            SocketAddr::from(([127, 0, 0, 1], port)),
            launcher,
        );
        let server = Server { kea, family, url: url.to_string(), port, socket, _dir: dir };
        let deadline = Instant::now() + launcher.start_timeout.unwrap_or(Duration::from_secs(15));
        while UnixStream::connect(&server.socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "no control socket {}: {}",
                server.socket.display(),
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn log(&self) -> String {
        self.kea.log()
    }

    /// Sends `{"command": command, "arguments": arguments}` over the control socket;
    /// Kea answers one JSON object and closes the connection.
    pub fn command(&self, command: &str, arguments: Option<Value>) -> Value {
        let mut request = json!({"command": command});
        if let Some(arguments) = arguments {
            request["arguments"] = arguments;
        }
        kea::control(&self.socket, &request, Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("{e}\n{}", self.log()))
    }

    /// Its leases: address → hw-address (v4) or duid (v6).
    pub fn leases(&self) -> BTreeMap<String, String> {
        let (command, owner) = match self.family {
            Family::V4 => ("lease4-get-all", "hw-address"),
            Family::V6 => ("lease6-get-all", "duid"),
        };
        let answer = self.command(command, None);
        // 0: leases found, 3: none.
        let result = answer["result"].as_i64();
        assert!(matches!(result, Some(0) | Some(3)), "{command}: {answer}\n{}", self.log());
        let Some(leases) = answer["arguments"]["leases"].as_array() else { return BTreeMap::new() };
        leases
            .iter()
            .map(|l| {
                (l["ip-address"].as_str().unwrap().to_string(), l[owner].as_str().unwrap_or("").to_string())
            })
            .collect()
    }

    /// Its statistics: name → the latest sample's value (integer statistics only).
    pub fn stats(&self) -> BTreeMap<String, i64> {
        let answer = self.command("statistic-get-all", None);
        assert_eq!(answer["result"], 0, "statistic-get-all: {answer}");
        let mut stats = BTreeMap::new();
        for (name, samples) in answer["arguments"].as_object().into_iter().flatten() {
            if let Some(value) = samples[0][0].as_i64() {
                stats.insert(name.clone(), value);
            }
        }
        stats
    }

    /// A statistic that must exist.
    pub fn stat(&self, name: &str) -> i64 {
        let stats = self.stats();
        *stats.get(name).unwrap_or_else(|| panic!("no statistic {name} in {stats:?}"))
    }

    /// The configuration file the daemon was started with (what `config-reload` and
    /// SIGHUP read), as JSON: the configuration given to [`Server::start`] with its
    /// control socket.
    pub fn config(&self) -> Value {
        let path = self.kea.dir.join("kea.json");
        let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_slice(&text).unwrap()
    }

    /// The daemon's pid, from the pid file Kea writes at start.
    pub fn pid(&self) -> u32 {
        let file = format!("kea.{}.pid", self.family.daemon());
        let path = self.kea.dir.join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), self.log()));
        text.trim().parse().unwrap_or_else(|e| panic!("{}: {text:?}: {e}", path.display()))
    }

    /// Whether the daemon still runs (has not exited, crashed or become a zombie).
    pub fn running(&self) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // "pid (comm) state ...": the state follows the last ')'.
        let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
        matches!(state, Some(s) if s != 'Z' && s != 'X')
    }

    /// Sends `signal` to the daemon.
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on the pid of a child this Server owns (not yet waited for).
        assert_eq!(unsafe { libc::kill(self.pid() as libc::pid_t, signal) }, 0, "kill {signal}");
    }

    /// Kills the daemon with SIGKILL (as drop does: its socket and files are removed) and
    /// returns its log.
    pub fn kill(self) -> String {
        let log = self.log();
        drop(self);
        log
    }

    /// Waits until the server serves DHCP: Kea's HA answers DHCP only once its state
    /// machine has left "waiting" (for a primary in passive-backup: "passive-backup");
    /// a replicator without `ha-heartbeat` (Kea answers result 2) is taken as serving.
    pub fn wait_until_serving(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let answer = self.command("ha-heartbeat", None);
            let state = answer["arguments"]["state"].as_str().unwrap_or("");
            if answer["result"] == 2 || state == "passive-backup" {
                return;
            }
            assert!(Instant::now() < deadline, "never reached passive-backup: {answer}\n{}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A directory of a test's own (a lease file, log files) that outlives its servers;
/// removed on drop.
pub struct TempDir(Dir);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("hamux-kea-{tag}-{}-{}", std::process::id(), kea::free_port()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(Dir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0 .0
    }
}

/// `N` different free TCP ports on 127.0.0.1 (all bound at once, then released).
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<std::net::TcpListener> =
        (0..N).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    std::array::from_fn(|i| listeners[i].local_addr().unwrap().port())
}

/// The port of `scheme://host:port/`.
pub fn port_of(url: &str) -> u16 {
    let rest = url.split("://").nth(1).expect("scheme://");
    let authority = rest.split('/').next().unwrap();
    authority.rsplit(':').next().unwrap().parse().expect("a port in the URL")
}

/// How a daemon that was expected to refuse its configuration ended.
pub struct Refusal {
    /// `None`: it was still running at the time limit (and was killed).
    pub status: Option<ExitStatus>,
    pub log: String,
}

/// Starts `family`'s daemon with `config` and waits (up to 20 s) for it to exit.
pub fn start_expecting_refusal(family: Family, config: &Value) -> Refusal {
    let dir = Dir(std::env::temp_dir().join(format!(
        "hamux-kea-refusal-{}-{}",
        std::process::id(),
        kea::free_port()
    )));
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("kea.json");
    std::fs::write(&path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
    let mut cmd = Command::new(format!("/usr/sbin/{}", family.daemon()));
    cmd.arg("-c").arg(&path).env("KEA_PIDFILE_DIR", &dir.0).env("KEA_LOCKFILE_DIR", &dir.0);
    let Finished { status, stdout, stderr, .. } =
        run_with_limit(&mut cmd, Duration::from_secs(20), family.daemon());
    Refusal { status, log: format!("{stdout}{stderr}") }
}

/// Starts kea-dhcp4 with `config`, which it must refuse: it exits non-zero with an
/// ERROR (or FATAL) line saying all of `says` (case-insensitive). Prints that line.
pub fn check_refused(config: &Value, says: &[&str]) {
    let refusal = start_expecting_refusal(Family::V4, config);
    let code = refusal.status.and_then(|s| s.code());
    assert!(
        matches!(code, Some(c) if c != 0),
        "kea-dhcp4 must exit non-zero, got {:?}: {}\n{}",
        refusal.status,
        config,
        refusal.log
    );
    let named = refusal.log.lines().filter(|l| l.contains("ERROR") || l.contains("FATAL")).find(|l| {
        let l = l.to_lowercase();
        says.iter().all(|s| l.contains(&s.to_lowercase()))
    });
    let Some(line) = named else { panic!("no ERROR line saying all of {says:?}:\n{}", refusal.log) };
    println!("refused ({code:?}): {line}");
}

pub use testkit::perfdhcp::{ensure_relay_address, relay_ready};
pub use testkit::perfdhcp::{relay_address_ready, PerfdhcpTurn};

/// Whether `lo` has ::1 (perfdhcp -6 relays from it); else the skip policy's line.
pub fn loopback6_ready() -> bool {
    skip::needs(perfdhcp::loopback6())
}

/// perfdhcp's report: per exchange block ("DISCOVER-OFFER", "REQUEST-ACK", ...),
/// (sent, received).
pub struct PerfdhcpReport {
    pub text: String,
    pub blocks: BTreeMap<String, (u64, u64)>,
}

impl PerfdhcpReport {
    pub fn parse(text: String) -> PerfdhcpReport {
        let blocks = perfdhcp::blocks(&text);
        PerfdhcpReport { text, blocks }
    }

    /// Answers received for the exchanges that commit a lease: DHCPv4 REQUEST-ACK (also
    /// renewals), DHCPv6 REQUEST-REPLY and RENEW-REPLY.
    pub fn lease_acks(&self, family: Family) -> u64 {
        let names: &[&str] = match family {
            Family::V4 => &["REQUEST-ACK", "REQUEST-ACK (renewal)"],
            Family::V6 => &["REQUEST-REPLY", "RENEW-REPLY"],
        };
        names.iter().filter_map(|n| self.blocks.get(*n)).map(|(_, received)| received).sum()
    }
}

/// Runs perfdhcp for `seconds` against a server's DHCP port on loopback: new clients at
/// `rate`/s out of `clients`, with renewals and releases (`-f`, `-F`).
pub fn perfdhcp(family: Family, dhcp_port: u16, seconds: u32) -> PerfdhcpReport {
    let seconds = seconds.to_string();
    perfdhcp_with(family, dhcp_port, &["-r", "100", "-R", "150", "-f", "20", "-F", "10", "-p", &seconds])
}

/// Runs perfdhcp against a server's DHCP port on loopback with `args` (rates, run time,
/// clients: see perfdhcp(8)) added to the relay and server arguments of [`perfdhcp`].
pub fn perfdhcp_with(family: Family, dhcp_port: u16, args: &[&str]) -> PerfdhcpReport {
    let relay = match family {
        Family::V4 => RELAY4,
        Family::V6 => "lo",
    };
    perfdhcp_via(family, dhcp_port, relay, args)
}

/// As [`perfdhcp_with`], perfdhcp sending from `relay`: for DHCPv4 the relay address
/// (`-l relay -L 67`, which a subnet's `relay` selects; `lo` must have it, see
/// [`relay_ready`]; [`RELAY4`]: as [`perfdhcp_with`]), for DHCPv6 the local interface or
/// address of `-A1 -l` (`lo`: as [`perfdhcp_with`]).
pub fn perfdhcp_via(family: Family, dhcp_port: u16, relay: &str, args: &[&str]) -> PerfdhcpReport {
    let port = dhcp_port.to_string();
    let mut cmd = Command::new("/usr/sbin/perfdhcp");
    match family {
        Family::V4 => cmd.arg("-4").args(args).args(["-N", &port, "-l", relay, "-L", "67", "127.0.0.1"]),
        Family::V6 => cmd.arg("-6").args(args).args(["-N", &port, "-A1", "-l", relay, "-L", "547", "::1"]),
    };
    let Finished { status, stdout, stderr, .. } =
        run_with_limit(&mut cmd, Duration::from_secs(60), "perfdhcp");
    // 0: all exchanges completed, 3: some did not (counted in the report).
    assert!(
        matches!(status.and_then(|s| s.code()), Some(0) | Some(3)),
        "perfdhcp failed ({status:?}): {cmd:?}\n{stdout}\n{stderr}"
    );
    PerfdhcpReport::parse(stdout)
}

/// Waits (up to 10 s) until `backup` holds the same leases as `primary`; returns both.
pub fn converged_leases(
    primary: &Server,
    backup: &Server,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (p, b) = (primary.leases(), backup.leases());
        if p == b || Instant::now() > deadline {
            return (p, b);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What differs between two lease maps, briefly.
pub fn lease_difference(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> String {
    let only_a: Vec<_> = a.iter().filter(|(k, _)| !b.contains_key(*k)).take(10).collect();
    let only_b: Vec<_> = b.iter().filter(|(k, _)| !a.contains_key(*k)).take(10).collect();
    let changed: Vec<_> =
        a.iter().filter_map(|(k, v)| b.get(k).filter(|w| *w != v).map(|w| (k, v, w))).take(10).collect();
    format!(
        "{} vs {} leases; only at the primary (first 10): {only_a:?}; only at the backup: {only_b:?}; \
         different owner: {changed:?}",
        a.len(),
        b.len()
    )
}

/// The first `n` of `items` (all of them if fewer), for messages.
pub fn first<T: std::fmt::Debug>(items: &[T], n: usize) -> &[T] {
    &items[..items.len().min(n)]
}

/// The `hamux-*` statistics of a server, for messages.
pub fn hamux_stats(server: &Server) -> BTreeMap<String, i64> {
    server.stats().into_iter().filter(|(k, _)| k.starts_with("hamux-")).collect()
}

/// Sends one command to `url` with the hamux client (HTTP or hamux://) and returns the
/// answer as JSON (Kea answers a list holding one object).
pub fn call(client: &Client, url: &str, command: &Value) -> Value {
    let (tx, rx) = mpsc::channel();
    let done = Box::new(move |r: Reply<'_>| {
        let _ = tx.send((r.status, r.body.to_vec()));
    });
    client.send(url, command.to_string().as_bytes(), done, None).unwrap();
    let (status, body) = rx.recv_timeout(Duration::from_secs(20)).expect("a completion");
    assert_eq!(status, Status::Ok, "{url} {command}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{url} {command}: not JSON ({e}): {}", String::from_utf8_lossy(&body)))
}

/// A test hook library of the tests' own, listed before the others in a test's
/// `hooks-libraries`; what it does depends on its parameters:
///
/// - `delay-ms` (with `log`): a command callout on `lease4-update` that appends "begin"
///   to the `log` file, sleeps that long, then appends "end" (and returns without an
///   answer, so the next library's handler, lease_cmds', answers). It makes a lease
///   update slow *inside* Kea's command handling. Its `unload` appends "unload".
/// - `critical-section-ms` (with `log`): a command of its own, `test-critical-section`,
///   that enters Kea's multi-threading critical section (as `lease4-wipe` or a
///   reconfiguration does), appends "cs-begin", holds it that long, appends "cs-end" and
///   answers result 0.
/// - `unpark-first: true`: a `leases4_committed` callout that takes the query out of
///   Kea's parking lot before the next library sees it, as Kea does for the queries it
///   does not park (DHCPv4-over-DHCPv6): referencing it there then fails.
const TEST_HOOK: &str = r#"
#include <hooks/hooks.h>
#include <cc/command_interpreter.h>
#include <cc/data.h>
#include <dhcp/pkt4.h>
#include <util/multi_threading_mgr.h>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

using namespace isc::hooks;

namespace {
std::string log_path;
int64_t delay_ms = 0;
int64_t critical_section_ms = 0;

void note(const char* what) {
    if (!log_path.empty()) {
        std::ofstream out(log_path, std::ios::app);
        out << what << std::endl;
    }
}

int slowUpdate(CalloutHandle&) {
    note("begin");
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    note("end");
    return (0);
}

int holdCriticalSection(CalloutHandle& handle) {
    {
        isc::util::MultiThreadingCriticalSection cs;
        note("cs-begin");
        std::this_thread::sleep_for(std::chrono::milliseconds(critical_section_ms));
        note("cs-end");
    }
    handle.setArgument("response", isc::config::createAnswer(0, "critical section held"));
    return (0);
}

int unparkFirst(CalloutHandle& handle) {
    isc::dhcp::Pkt4Ptr query;
    handle.getArgument("query4", query);
    handle.getParkingLotHandlePtr()->drop(query);
    return (0);
}
}

extern "C" {
int version() { return (KEA_HOOKS_VERSION); }
int multi_threading_compatible() { return (1); }
int load(LibraryHandle& handle) {
    auto log = handle.getParameter("log");
    if (log) {
        log_path = log->stringValue();
    }
    auto delay = handle.getParameter("delay-ms");
    if (delay) {
        delay_ms = delay->intValue();
        handle.registerCommandCallout("lease4-update", slowUpdate);
    }
    auto critical = handle.getParameter("critical-section-ms");
    if (critical) {
        critical_section_ms = critical->intValue();
        handle.registerCommandCallout("test-critical-section", holdCriticalSection);
    }
    auto unpark = handle.getParameter("unpark-first");
    if (unpark && unpark->boolValue()) {
        handle.registerCallout("leases4_committed", unparkFirst);
    }
    return (0);
}
int unload() {
    note("unload");
    return (0);
}
}
"#;

static TEST_HOOK_LIBRARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// [`TEST_HOOK`], built (once per test process) into `target/<profile>/kea-test-hook`.
pub fn test_hook() -> &'static Path {
    let build = || {
        let out = lib_dir().parent().expect("target/<profile>").join("kea-test-hook");
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let source = out.join(format!("test_hook-{}.cc", std::process::id()));
        std::fs::write(&source, TEST_HOOK).map_err(|e| format!("{}: {e}", source.display()))?;
        let library = out.join(format!("libtest_hook-{}.so", std::process::id()));
        let mut cmd = Command::new("c++");
        cmd.args(["-std=c++17", "-O1", "-fPIC", "-shared", "-I/usr/include/kea", "-o"])
            .arg(&library)
            .arg(&source)
            .args(["-lkea-dhcp++", "-lkea-hooks", "-lkea-cc", "-lkea-log", "-lkea-util", "-lkea-exceptions"]);
        let Finished { status, stdout, stderr, .. } =
            run_with_limit(&mut cmd, Duration::from_secs(300), "c++ test_hook.cc");
        match status {
            Some(s) if s.success() => Ok(library),
            _ => Err(format!("{cmd:?} failed ({status:?}):\n{stdout}\n{stderr}")),
        }
    };
    match TEST_HOOK_LIBRARY.get_or_init(build) {
        Ok(path) => path,
        Err(why) => panic!("{why}"),
    }
}
