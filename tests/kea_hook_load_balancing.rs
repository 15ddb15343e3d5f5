//! hamux's Kea hook (`libdhcp_hamux.so`) in `load-balancing`, libdhcp_ha 2.2's
//! active-active mode, in real kea-dhcp4 / kea-dhcp6 2.2 servers: a primary and a
//! secondary, each serving DHCP on its own port, with short HA timers (a heartbeat every
//! 500 ms, communication interrupted after 2 s, no traffic analysis) and lease syncs of 7
//! leases a page:
//!
//! - the split (DHCPv4 and DHCPv6): both reach `load-balancing`, the primary serving its
//!   own scope and the secondary its own; perfdhcp sends the same 40 clients first to the
//!   primary only, then to the secondary only: the clients each server gave a lease are
//!   exactly those RFC 3074's hash (computed here, in Rust, from the spec's table, which
//!   the spec's test vectors check) gives it — the primary the even hashes, the secondary
//!   the odd ones — so together all 40, each once; and both servers end with the same
//!   leases;
//! - the same split with Kea's own `libdhcp_ha.so` on one side and the hook on the other
//!   (over `http://`; DHCPv4 both ways, DHCPv6 with Kea's HA as the primary), which checks
//!   the Rust hash against Kea's too;
//! - failover and back: the secondary is SIGKILLed, the primary reaches `partner-down`
//!   serving both scopes and gives every client a lease; the secondary is restarted (with
//!   no leases) and syncs (pages of at most 7, as its log says), both are back in
//!   `load-balancing` with the same leases and the secondary serves its half again; the
//!   same with the mixed pair over `http://`, Kea's HA taking over from the hook and the
//!   hook from Kea's HA;
//! - communication-recovery: with `max-response-delay` 8 s, the secondary is SIGKILLed;
//!   the primary goes to `communication-recovery`, still answers its own half of the
//!   clients there (and only that), and when the secondary returns within the 8 s it goes
//!   back to `load-balancing` without `partner-down` or `waiting`, after sending its
//!   backlog of lease updates (its log says so, at least one per lease given there); the
//!   secondary syncs, and both end with the same leases;
//! - the load-balancing configurations Kea's HA refuses, refused with libdhcp_ha's words.
//!
//! A client is the key Kea's HA hashes: DHCPv4, the client identifier (option 61) if the
//! query has one, else the hardware address — perfdhcp sends one, `01` and the MAC
//! address; DHCPv6, the DUID — here a DUID-LL of the MAC address (`-b duid=`). perfdhcp
//! draws its clients' MAC addresses from a base (`-b mac=`) with the last byte increased
//! by 0 to 39 (`-R 40`); 600 draws leave none of them out but with a probability of about
//! 10⁻⁵. A lease's client is read from `lease4-get-all` / `lease6-get-all` (`client-id`
//! or `hw-address`, `duid`). States are read by polling `ha-heartbeat`, the transitions a server went
//! through from its log (`HAMUX_STATE_TRANSITION`, libdhcp_ha's `HA_STATE_TRANSITION`).
//!
//! `HAMUX_KEA_HOOK_STANDIN=1` runs them with Kea's `libdhcp_ha.so` in the hook's place
//! (over `http://`; the hamux-only checks left out), to check the tests against Kea
//! itself. Needs Kea, kea-dev and root (for 127.0.0.2 on lo); run with `--test-threads=1`.

mod support;

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use support::failover::{
    can_run, check_converged, check_each_refused, check_served, config, failover_settings, lacking, scopes,
    state, sync_pages, wait_for_state, PRIMARY, SYNC_PAGE_LIMIT,
};
use support::kea_hook::{
    first, free_ports, hamux_under_test, hook_under_test, perfdhcp_with, ready, scheme, Family,
    PerfdhcpReport, PerfdhcpTurn, Replicator, Server,
};

const V4: Family = Family::V4;
const SECONDARY: &str = "server2";
const HAMUX: Replicator = Replicator::Hamux;
const KEA_HA: Replicator = Replicator::KeaHa;
const MODE: &str = "load-balancing";

/// The clients of one perfdhcp client set: `-R` of [`drive`].
const CLIENTS: u8 = 40;

// ---------------------------------------------------------------- RFC 3074's hash

/// RFC 3074 section 6's permutation table, as the spec (section 4.4) gives libdhcp_ha's
/// `loadb_mx_tbl`.
#[rustfmt::skip]
const RFC3074_TABLE: [u8; 256] = [
    251, 175, 119, 215,  81,  14,  79, 191, 103,  49, 181, 143, 186, 157,   0, 232,
     31,  32,  55,  60, 152,  58,  17, 237, 174,  70, 160, 144, 220,  90,  57, 223,
     59,   3,  18, 140, 111, 166, 203, 196, 134, 243, 124,  95, 222, 179, 197,  65,
    180,  48,  36,  15, 107,  46, 233, 130, 165,  30, 123, 161, 209,  23,  97,  16,
     40,  91, 219,  61, 100,  10, 210, 109, 250, 127,  22, 138,  29, 108, 244,  67,
    207,   9, 178, 204,  74,  98, 126, 249, 167, 116,  34,  77, 193, 200, 121,   5,
     20, 113,  71,  35, 128,  13, 182,  94,  25, 226, 227, 199,  75,  27,  41, 245,
    230, 224,  43, 225, 177,  26, 155, 150, 212, 142, 218, 115, 241,  73,  88, 105,
     39, 114,  62, 255, 192, 201, 145, 214, 168, 158, 221, 148, 154, 122,  12,  84,
     82, 163,  44, 139, 228, 236, 205, 242, 217,  11, 187, 146, 159,  64,  86, 239,
    195,  42, 106, 198, 118, 112, 184, 172,  87,   2, 173, 117, 176, 229, 247, 253,
    137, 185,  99, 164, 102, 147,  45,  66, 231,  52, 141, 211, 194, 206, 246, 238,
     56, 110,  78, 248,  63, 240, 189,  93,  92,  51,  53, 183,  19, 171,  72,  50,
     33, 104, 101,  69,   8, 252,  83, 120,  76, 135,  85,  54, 202, 125, 188, 213,
     96, 235, 136, 208, 162, 129, 190, 132, 156,  38,  47,   1,   7, 254,  24,   4,
    216, 131,  89,  21,  28, 133,  37, 153, 149,  80, 170,  68,   6, 169, 234, 151,
];

/// RFC 3074's hash of `key`: the length (mod 256), then each byte from the last to the
/// first XORed in and looked up in [`RFC3074_TABLE`].
fn rfc3074_hash(key: &[u8]) -> u8 {
    key.iter().rev().fold(key.len() as u8, |hash, byte| RFC3074_TABLE[(hash ^ byte) as usize])
}

/// Which server of a load-balancing pair serves the client `key`: 0 the primary, 1 the
/// secondary (the hash modulo the two active servers).
fn server_of(key: &[u8]) -> usize {
    rfc3074_hash(key) as usize % 2
}

/// The bytes of `aa:bb:cc` (or `aabbcc`) hexadecimal text.
fn hex_bytes(text: &str) -> Vec<u8> {
    let digits: String = text.chars().filter(char::is_ascii_hexdigit).collect();
    assert!(digits.len() % 2 == 0 && digits.len() == text.replace(':', "").len(), "not hex: {text:?}");
    (0..digits.len()).step_by(2).map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap()).collect()
}

/// `key` as Kea prints it: lower-case hexadecimal bytes with colons.
fn hex_text(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// The spec's test vectors (section 4.4): key, hash, server index.
const TEST_VECTORS: [(&str, u8, usize); 7] = [
    ("00:00:00:00:00:00", 254, 0),
    ("00:00:00:00:00:01", 153, 1),
    ("00:00:00:00:00:02", 102, 0),
    ("00:01:02:03:04:05", 161, 1),
    ("11:22:33:44:55:66", 66, 0),
    ("aa:bb:cc:dd:ee:ff", 57, 1),
    ("01:11:22:33:44:55:66", 152, 0),
];

/// Checks [`rfc3074_hash`] and [`server_of`] against the spec's [`TEST_VECTORS`], and
/// that the table is a permutation.
fn check_hash_vectors() {
    let distinct: BTreeSet<u8> = RFC3074_TABLE.iter().copied().collect();
    assert_eq!(distinct.len(), 256, "RFC 3074's table is a permutation of 0..=255");
    for (key, hash, index) in TEST_VECTORS {
        let bytes = hex_bytes(key);
        assert_eq!(rfc3074_hash(&bytes), hash, "RFC 3074 hash of {key}");
        assert_eq!(server_of(&bytes), index, "load-balancing server of {key}");
    }
}

#[test]
fn rfc3074_hash_matches_the_specs_test_vectors() {
    check_hash_vectors();
}

// ---------------------------------------------------------------- clients

/// One set of [`CLIENTS`] perfdhcp clients: the base (`-b`) of the `base`-th set.
#[derive(Clone, Copy, Debug)]
struct ClientSet {
    family: Family,
    base: u8,
}

impl ClientSet {
    /// perfdhcp's base client, `00:<base>:00:00:00:00`.
    fn base_mac(&self) -> [u8; 6] {
        [0, self.base, 0, 0, 0, 0]
    }

    /// perfdhcp's `-b` arguments: the base MAC address, and for DHCPv6 a base DUID-LL of
    /// it (perfdhcp -6 puts each client's MAC address in the last 6 bytes of the base
    /// DUID; its own base DUID is a DUID-LLT of the time it starts, which would make the
    /// clients of every run others).
    fn base_args(&self) -> Vec<String> {
        let mac = self.base_mac();
        let mut args = vec!["-b".to_string(), format!("mac={}", hex_text(&mac))];
        if self.family == Family::V6 {
            let duid: String = [0, 3, 0, 1].iter().chain(&mac).map(|b| format!("{b:02x}")).collect();
            args.extend(["-b".to_string(), format!("duid={duid}")]);
        }
        args
    }

    /// The keys Kea's HA hashes of the set's clients, whose MAC addresses are the base with
    /// its last byte increased by 0 to [`CLIENTS`] - 1, as perfdhcp's `-R` draws them: for
    /// DHCPv4 the client identifier perfdhcp sends, the hardware type (1) and the MAC
    /// address; for DHCPv6 the DUID-LL perfdhcp makes of it (type 3, hardware type 1).
    fn keys(&self) -> BTreeSet<Vec<u8>> {
        (0..CLIENTS)
            .map(|i| {
                let mut mac = self.base_mac();
                mac[5] += i;
                match self.family {
                    Family::V4 => [&[1][..], &mac].concat(),
                    Family::V6 => [&[0, 3, 0, 1][..], &mac].concat(),
                }
            })
            .collect()
    }

    /// The set's clients that RFC 3074's hash gives to the server of `index` (0 primary,
    /// 1 secondary).
    fn of_server(&self, index: usize) -> BTreeSet<Vec<u8>> {
        self.keys().into_iter().filter(|key| server_of(key) == index).collect()
    }
}

/// perfdhcp DORA/SARR against `dhcp_port` with `clients`: `rate` new exchanges a second
/// for `seconds`, drawn from the set, no renewals or releases.
fn drive(clients: ClientSet, dhcp_port: u16, rate: u32, seconds: u32) -> PerfdhcpReport {
    let (rate, seconds, range) = (rate.to_string(), seconds.to_string(), CLIENTS.to_string());
    let base = clients.base_args();
    let mut args = vec!["-r", &rate, "-R", &range, "-p", &seconds];
    args.extend(base.iter().map(String::as_str));
    perfdhcp_with(clients.family, dhcp_port, &args)
}

/// The clients of `server`'s leases: address → the key Kea's HA hashes (the client id if
/// the lease has one, else the hardware address; the DUID).
fn lease_clients(server: &Server) -> BTreeMap<String, Vec<u8>> {
    let command = match server.family {
        Family::V4 => "lease4-get-all",
        Family::V6 => "lease6-get-all",
    };
    let answer = server.command(command, None);
    let result = answer["result"].as_i64();
    assert!(matches!(result, Some(0) | Some(3)), "{command}: {answer}\n{}", server.log());
    let leases = answer["arguments"]["leases"].as_array().cloned().unwrap_or_default();
    leases
        .iter()
        .map(|lease| {
            let text = |key: &str| lease[key].as_str().filter(|s| !s.is_empty()).map(str::to_string);
            let key = match server.family {
                Family::V4 => text("client-id").or_else(|| text("hw-address")),
                Family::V6 => text("duid"),
            };
            let key = key.unwrap_or_else(|| panic!("{command}: a lease without a client: {lease}"));
            (lease["ip-address"].as_str().unwrap().to_string(), hex_bytes(&key))
        })
        .collect()
}

/// The client keys of `leases` whose address is not in `before`: the leases given since.
fn clients_since(leases: &BTreeMap<String, Vec<u8>>, before: &BTreeMap<String, Vec<u8>>) -> Vec<Vec<u8>> {
    leases.iter().filter(|(address, _)| !before.contains_key(*address)).map(|(_, key)| key.clone()).collect()
}

/// Checks that `got` (the clients a server gave a lease, one lease each) are exactly
/// `want`: names the extra ones with their hash and the missing ones.
fn check_clients(got: &[Vec<u8>], want: &BTreeSet<Vec<u8>>, what: &str, logs: &dyn Fn() -> String) {
    let set: BTreeSet<Vec<u8>> = got.iter().cloned().collect();
    assert_eq!(set.len(), got.len(), "{what}: a client with two leases: {:?}", hex_keys(got));
    let extra: Vec<String> =
        set.difference(want).map(|k| format!("{} (hash {})", hex_text(k), rfc3074_hash(k))).collect();
    let missing: Vec<String> =
        want.difference(&set).map(|k| format!("{} (hash {})", hex_text(k), rfc3074_hash(k))).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{what}: {} clients got a lease, {} wanted; not wanted: {extra:?}; missing: {missing:?}{}",
        set.len(),
        want.len(),
        logs()
    );
}

/// `keys` as text, for messages.
fn hex_keys(keys: &[Vec<u8>]) -> Vec<String> {
    keys.iter().map(|k| hex_text(k)).collect()
}

// ---------------------------------------------------------------- servers and states

/// The primary and the secondary (name, url, role) on `ports`, replicating with
/// `replicators`: `hamux://` between two hooks, `http://` else.
fn peers(replicators: [Replicator; 2], ports: [u16; 2]) -> Vec<(&'static str, String, &'static str)> {
    let scheme = scheme(replicators[0], replicators[1], false);
    let url = |port: u16| format!("{scheme}://127.0.0.1:{port}/");
    vec![(PRIMARY, url(ports[0]), "primary"), (SECONDARY, url(ports[1]), "secondary")]
}

/// A load-balancing configuration of `this` among `peers` replicating with `replicator`
/// ([`config`] with [`failover_settings`] and `extra` merged in), serving DHCP if `dhcp`.
fn lb_config(
    family: Family,
    replicator: Replicator,
    this: &str,
    peers: &[(&str, String, &str)],
    extra: Value,
    dhcp: bool,
) -> Value {
    let mut settings = failover_settings();
    if let (Some(settings), Some(extra)) = (settings.as_object_mut(), extra.as_object()) {
        settings.extend(extra.clone());
    }
    config(family, replicator, this, MODE, peers, settings, dhcp)
}

/// `ha-heartbeat` on `server`'s control channel; must be result 0 (also every answer the
/// waits for a state poll).
fn heartbeat(server: &Server, what: &str) -> Value {
    let answer = server.command("ha-heartbeat", None);
    assert_eq!(answer["result"], 0, "{what}: ha-heartbeat: {answer}\n{}", server.log());
    answer
}

/// The scopes of an `ha-heartbeat` answer, sorted.
fn scope_set(answer: &Value) -> Vec<String> {
    let mut scopes: Vec<String> = scopes(answer)
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect();
    scopes.sort();
    scopes
}

/// Waits until `primary` and `secondary` are both in load-balancing, each serving its own
/// scope (libdhcp_ha's default scopes).
fn wait_for_load_balancing(primary: (&str, &Server), secondary: (&str, &Server)) {
    let answers = wait_for_state(&[primary, secondary], MODE, heartbeat);
    assert_eq!(scope_set(&answers[0]), [PRIMARY], "{}: {}", primary.0, answers[0]);
    assert_eq!(scope_set(&answers[1]), [SECONDARY], "{}: {}", secondary.0, answers[1]);
}

/// The state transitions `log` has (`HAMUX_STATE_TRANSITION`, libdhcp_ha's
/// `HA_STATE_TRANSITION`: "... server transitions from X to Y state, ..."), lower-case
/// (libdhcp_ha prints the states in capitals).
fn transitions(log: &str) -> Vec<(String, String)> {
    log.lines()
        .filter_map(|line| line.split_once("server transitions from "))
        .filter_map(|(_, rest)| {
            let (from, rest) = rest.split_once(" to ")?;
            let (to, _) = rest.split_once(" state")?;
            Some((from.to_lowercase(), to.to_lowercase()))
        })
        .collect()
}

/// The number of lease updates of the backlog-sending lines of `log`: the hook's
/// `HAMUX_BACKLOG_SENDING ... sending <n> queued lease updates to ...`, libdhcp_ha's
/// `HA_LEASES_BACKLOG_START ... starting to send <n> outstanding lease updates to ...`.
fn backlogs_sent(log: &str) -> Vec<u64> {
    log.lines()
        .filter(|line| line.contains("HAMUX_BACKLOG_SENDING") || line.contains("HA_LEASES_BACKLOG_START"))
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let at = words.iter().position(|w| *w == "queued" || *w == "outstanding")?;
            words.get(at.checked_sub(1)?)?.parse().ok()
        })
        .collect()
}

/// Checks that the restarted `server` synced its partner's `leases` leases: its log says
/// the sync succeeded (`HAMUX_SYNC_SUCCESSFUL`, libdhcp_ha's `HA_SYNC_SUCCESSFUL`) and
/// lists pages of at most [`SYNC_PAGE_LIMIT`] leases, `leases` in all at least. Returns
/// the pages.
fn check_synced(server: &Server, leases: usize, logs: &dyn Fn() -> String) -> Vec<u64> {
    let log = server.log();
    let pages = sync_pages(&log);
    let synced: u64 = pages.iter().sum();
    assert!(
        log.contains("_SYNC_SUCCESSFUL")
            && pages.iter().all(|&n| n <= SYNC_PAGE_LIMIT)
            && synced >= leases as u64,
        "the restarted server must sync the {leases} leases in pages of at most {SYNC_PAGE_LIMIT}: \
         pages {pages:?}{}",
        logs()
    );
    pages
}

/// Who replicates in a server, for messages.
fn label(replicator: Replicator) -> &'static str {
    match replicator {
        Replicator::Hamux => "hook",
        Replicator::KeaHa => "Kea's HA",
    }
}

// ---------------------------------------------------------------- the split

#[test]
fn v4_load_balancing_pair_splits_clients_by_keas_hash() {
    let hook = hook_under_test();
    splits_clients(V4, [hook, hook]);
}

#[test]
fn v6_load_balancing_pair_splits_clients_by_keas_hash() {
    let hook = hook_under_test();
    splits_clients(Family::V6, [hook, hook]);
}

#[test]
fn v4_kea_ha_and_hook_split_clients_alike() {
    splits_clients(V4, [KEA_HA, HAMUX]);
}

#[test]
fn v4_hook_and_kea_ha_split_clients_alike() {
    splits_clients(V4, [HAMUX, KEA_HA]);
}

#[test]
fn v6_kea_ha_and_hook_split_clients_alike() {
    splits_clients(Family::V6, [KEA_HA, HAMUX]);
}

/// A primary replicating with `replicators[0]` and a secondary with `replicators[1]` in
/// load-balancing: the same clients sent to each get their leases from the server RFC
/// 3074's hash names, and both servers end with all of them (see the module
/// documentation).
fn splits_clients(family: Family, replicators: [Replicator; 2]) {
    let _one_at_a_time = PerfdhcpTurn::wait();
    check_hash_vectors();
    if !can_run(family, &replicators) {
        return;
    }
    let began = Instant::now();
    let [primary_port, secondary_port, primary_dhcp, secondary_dhcp] = free_ports();
    let peers = peers(replicators, [primary_port, secondary_port]);
    let primary_name = format!("primary ({})", label(replicators[0]));
    let secondary_name = format!("secondary ({})", label(replicators[1]));
    let (pn, sn) = (primary_name.as_str(), secondary_name.as_str());
    let config = |k: usize, this: &str| lb_config(family, replicators[k], this, &peers, json!({}), true);
    let secondary = Server::start(family, config(1, SECONDARY), &peers[1].1, Some(secondary_dhcp));
    let primary = Server::start(family, config(0, PRIMARY), &peers[0].1, Some(primary_dhcp));
    wait_for_load_balancing((pn, &primary), (sn, &secondary));
    let up_at = began.elapsed();
    let logs = || format!("\n--- {pn}\n{}\n--- {sn}\n{}", primary.log(), secondary.log());
    if replicators == [HAMUX, HAMUX] {
        for (name, server) in [(pn, &primary), (sn, &secondary)] {
            let status = server.command("hamux-status", None);
            let entry = &status["arguments"]["high-availability"][0];
            assert_eq!(entry["mode"], MODE, "{name}: hamux-status: {status}");
            assert_eq!(entry["state"], MODE, "{name}: hamux-status: {status}");
        }
    }

    // The primary alone gets the clients: it answers exactly those of even hash, and
    // replicates them to the secondary.
    let clients = ClientSet { family, base: 0x61 };
    let (primary_half, secondary_half) = (clients.of_server(0), clients.of_server(1));
    assert!(!primary_half.is_empty() && !secondary_half.is_empty(), "{clients:?}: both halves have clients");
    let report = drive(clients, primary_dhcp, 200, 3);
    check_served(&report, family, pn, &primary);
    let first_answered = report.lease_acks(family);
    check_converged((pn, &primary), (sn, &secondary), &logs);
    let by_primary = lease_clients(&primary);
    let got: Vec<Vec<u8>> = by_primary.values().cloned().collect();
    check_clients(&got, &primary_half, &format!("the {pn} (even hashes)"), &logs);

    // The secondary alone gets the same clients: it answers exactly the others.
    let report = drive(clients, secondary_dhcp, 200, 3);
    check_served(&report, family, sn, &secondary);
    let leases = check_converged((sn, &secondary), (pn, &primary), &logs);
    let by_both = lease_clients(&secondary);
    let kept: Vec<&String> = by_primary.keys().filter(|a| by_both.get(*a) != by_primary.get(*a)).collect();
    assert!(kept.is_empty(), "the {pn}'s leases changed on the {sn}: {:?}{}", first(&kept, 20), logs());
    let got = clients_since(&by_both, &by_primary);
    check_clients(&got, &secondary_half, &format!("the {sn} (odd hashes)"), &logs);
    let all: Vec<Vec<u8>> = by_both.values().cloned().collect();
    check_clients(&all, &clients.keys(), "both servers (all clients)", &logs);
    println!(
        "{family:?} {pn} + {sn}: load-balancing after {up_at:?}; of {CLIENTS} clients the primary \
         leased {} ({first_answered} ACKs), the secondary {} ({} ACKs); {} leases on both; {:?} in all",
        primary_half.len(),
        secondary_half.len(),
        report.lease_acks(family),
        leases.len(),
        began.elapsed()
    );
}

// ---------------------------------------------------------------- failover

#[test]
fn v4_load_balancing_fails_over_and_back() {
    let hook = hook_under_test();
    fails_over_and_back([hook, hook]);
}

/// The mixed pair, Kea's HA taking over from the hook and back.
#[test]
fn v4_kea_ha_primary_takes_over_from_hook_secondary_and_back() {
    fails_over_and_back([KEA_HA, HAMUX]);
}

/// The mixed pair, the hook taking over from Kea's HA and back.
#[test]
fn v4_hook_primary_takes_over_from_kea_ha_secondary_and_back() {
    fails_over_and_back([HAMUX, KEA_HA]);
}

/// A primary replicating with `replicators[0]` and a secondary with `replicators[1]` in
/// load-balancing; the secondary is SIGKILLed: the primary reaches partner-down, serves
/// both scopes and leases every client; the secondary returns, syncs, and both are back
/// in load-balancing with the same leases, each serving its half.
fn fails_over_and_back(replicators: [Replicator; 2]) {
    let _one_at_a_time = PerfdhcpTurn::wait();
    if !can_run(V4, &replicators) {
        return;
    }
    let [primary_port, secondary_port, primary_dhcp, secondary_dhcp] = free_ports();
    let peers = peers(replicators, [primary_port, secondary_port]);
    let config = |k: usize, this: &str| lb_config(V4, replicators[k], this, &peers, json!({}), true);
    let secondary_config = config(1, SECONDARY);
    let secondary = Server::start(V4, secondary_config.clone(), &peers[1].1, Some(secondary_dhcp));
    let primary = Server::start(V4, config(0, PRIMARY), &peers[0].1, Some(primary_dhcp));
    wait_for_load_balancing(("primary", &primary), ("secondary", &secondary));

    // Both serve their halves.
    let clients = ClientSet { family: V4, base: 0x62 };
    check_served(&drive(clients, primary_dhcp, 100, 2), V4, "primary", &primary);
    check_served(&drive(clients, secondary_dhcp, 100, 2), V4, "secondary", &secondary);
    let logs = || format!("\n--- primary\n{}\n--- secondary\n{}", primary.log(), secondary.log());
    let before = check_converged(("primary", &primary), ("secondary", &secondary), &logs);

    // The secondary dies: the primary serves both scopes, every client.
    let killed_secondary_log = secondary.kill();
    let killed = Instant::now();
    let answer = wait_for_state(&[("primary", &primary)], "partner-down", heartbeat).remove(0);
    let down_after = killed.elapsed();
    assert_eq!(scope_set(&answer), [PRIMARY, SECONDARY], "the primary in partner-down: {answer}");
    let lonely = || format!("\n--- primary\n{}\n--- killed secondary\n{killed_secondary_log}", primary.log());
    let until_down = transitions(&primary.log());
    assert!(
        until_down
            .iter()
            .any(|(from, to)| from == MODE && (to == "communication-recovery" || to == "partner-down")),
        "the primary never left load-balancing: {until_down:?}{}",
        lonely()
    );
    let before_down = lease_clients(&primary);
    let alone = ClientSet { family: V4, base: 0x63 };
    let report = drive(alone, primary_dhcp, 200, 3);
    check_served(&report, V4, "primary in partner-down", &primary);
    let in_partner_down = lease_clients(&primary);
    let got = clients_since(&in_partner_down, &before_down);
    check_clients(&got, &alone.keys(), "the primary in partner-down (all clients)", &lonely);
    let answer = heartbeat(&primary, "primary");
    assert_eq!(state(&answer), "partner-down", "{answer}{}", lonely());

    // The secondary returns (no leases): it syncs, and both are back in load-balancing.
    let restarted = Instant::now();
    let secondary = Server::start(V4, secondary_config, &peers[1].1, Some(secondary_dhcp));
    wait_for_load_balancing(("primary", &primary), ("restarted secondary", &secondary));
    let back_after = restarted.elapsed();
    let logs = || {
        format!(
            "\n--- primary\n{}\n--- restarted secondary\n{}\n--- killed secondary\n{killed_secondary_log}",
            primary.log(),
            secondary.log()
        )
    };
    let after = check_converged(("primary", &primary), ("restarted secondary", &secondary), &logs);
    let lost = lacking(&before, &after);
    assert!(lost.is_empty(), "leases from before the kill missing: {:?}{}", first(&lost, 20), logs());
    let pages = check_synced(&secondary, after.len(), &logs);
    assert!(
        after.len() >= in_partner_down.len(),
        "{} leases, {} in partner-down",
        after.len(),
        in_partner_down.len()
    );

    // The secondary serves its half again, and only it.
    let again = ClientSet { family: V4, base: 0x64 };
    let before_again = lease_clients(&secondary);
    check_served(&drive(again, secondary_dhcp, 200, 3), V4, "restarted secondary", &secondary);
    let end = check_converged(("restarted secondary", &secondary), ("primary", &primary), &logs);
    let got = clients_since(&lease_clients(&secondary), &before_again);
    check_clients(&got, &again.of_server(1), "the restarted secondary (odd hashes)", &logs);
    println!(
        "partner-down {down_after:?} after the kill, the primary leased all {CLIENTS} clients; back in \
         load-balancing {back_after:?} after the restart with {} leases on both, synced in pages {pages:?}; \
         {} at the end",
        after.len(),
        end.len()
    );
}

// ---------------------------------------------------------------- communication-recovery

/// With `max-response-delay` 8 s: the secondary is SIGKILLed, the primary goes to
/// communication-recovery and answers its own half there; the secondary returns within
/// the 8 s and the primary sends it the backlog and goes back to load-balancing, never
/// through partner-down or waiting.
#[test]
fn v4_communication_recovery_sends_the_backlog() {
    let _one_at_a_time = PerfdhcpTurn::wait();
    let hook = hook_under_test();
    if !can_run(V4, &[hook]) {
        return;
    }
    let max_response_delay = Duration::from_secs(8);
    let [primary_port, secondary_port, primary_dhcp, secondary_dhcp] = free_ports();
    let peers = peers([hook, hook], [primary_port, secondary_port]);
    // Kea's default delayed-updates-limit in load-balancing (100) holds the backlog of
    // the ~25 updates below.
    let extra = json!({"max-response-delay": max_response_delay.as_millis() as u64});
    let config = |this: &str| lb_config(V4, hook, this, &peers, extra.clone(), true);
    let secondary_config = config(SECONDARY);
    let secondary = Server::start(V4, secondary_config.clone(), &peers[1].1, Some(secondary_dhcp));
    let primary = Server::start(V4, config(PRIMARY), &peers[0].1, Some(primary_dhcp));
    wait_for_load_balancing(("primary", &primary), ("secondary", &secondary));
    let transitions_before = transitions(&primary.log()).len();

    // The secondary dies: the primary is in communication-recovery and serves its half.
    let killed_secondary_log = secondary.kill();
    let killed = Instant::now();
    let lonely = || format!("\n--- primary\n{}\n--- killed secondary\n{killed_secondary_log}", primary.log());
    let answer = wait_for_state(&[("primary", &primary)], "communication-recovery", heartbeat).remove(0);
    let recovering_after = killed.elapsed();
    assert_eq!(scope_set(&answer), [PRIMARY], "the primary in communication-recovery: {answer}");
    let before = lease_clients(&primary);
    let clients = ClientSet { family: V4, base: 0x65 };
    let report = drive(clients, primary_dhcp, 50, 1);
    check_served(&report, V4, "primary in communication-recovery", &primary);
    let got = clients_since(&lease_clients(&primary), &before);
    let half = clients.of_server(0);
    let foreign: Vec<String> = got.iter().filter(|k| !half.contains(*k)).map(|k| hex_text(k)).collect();
    assert!(
        !got.is_empty() && foreign.is_empty(),
        "the primary in communication-recovery leased {} clients, of the secondary's half {foreign:?}{}",
        got.len(),
        lonely()
    );
    let answer = heartbeat(&primary, "primary");
    let elapsed = killed.elapsed();
    assert_eq!(
        state(&answer),
        "communication-recovery",
        "{elapsed:?} after the kill (max-response-delay {max_response_delay:?}): {answer}{}",
        lonely()
    );

    // The secondary returns in time: the primary sends the backlog, both load-balance.
    let secondary = Server::start(V4, secondary_config, &peers[1].1, Some(secondary_dhcp));
    let restarted_after = killed.elapsed();
    wait_for_load_balancing(("primary", &primary), ("restarted secondary", &secondary));
    let logs = || {
        format!(
            "\n--- primary\n{}\n--- restarted secondary\n{}\n--- killed secondary\n{killed_secondary_log}",
            primary.log(),
            secondary.log()
        )
    };
    let log = primary.log();
    let since_kill = transitions(&log).split_off(transitions_before);
    let went = |from: &str, to: &str| since_kill.iter().any(|(f, t)| f == from && t == to);
    assert!(
        went(MODE, "communication-recovery") && went("communication-recovery", MODE),
        "the primary must go load-balancing -> communication-recovery -> load-balancing: {since_kill:?}{}",
        logs()
    );
    let detours: Vec<&(String, String)> =
        since_kill.iter().filter(|(_, to)| to == "partner-down" || to == "waiting").collect();
    assert!(detours.is_empty(), "the primary went {detours:?} after the kill: {since_kill:?}{}", logs());
    let backlogs = backlogs_sent(&log);
    let sent: u64 = backlogs.iter().sum();
    assert!(
        sent >= got.len() as u64,
        "the primary's log must say it sent its backlog of at least {} lease updates, says {backlogs:?}{}",
        got.len(),
        logs()
    );
    let at_primary = check_converged(("primary", &primary), ("restarted secondary", &secondary), &logs);
    let pages = check_synced(&secondary, at_primary.len(), &logs);
    let leased_in_recovery: BTreeMap<String, Vec<u8>> =
        lease_clients(&primary).into_iter().filter(|(address, _)| !before.contains_key(address)).collect();
    let at_secondary = lease_clients(&secondary);
    let unsent: Vec<&String> =
        leased_in_recovery.keys().filter(|a| at_secondary.get(*a) != leased_in_recovery.get(*a)).collect();
    assert!(unsent.is_empty(), "leases of communication-recovery not on the secondary: {unsent:?}{}", logs());
    println!(
        "communication-recovery {recovering_after:?} after the kill; the primary leased {} clients there; \
         the secondary restarted {restarted_after:?} after the kill; backlogs sent {backlogs:?}; \
         transitions {since_kill:?}; the secondary synced pages {pages:?}; {} leases on both",
        got.len(),
        at_primary.len()
    );
}

// ---------------------------------------------------------------- configuration errors

/// The load-balancing configurations of the primary that Kea's HA refuses, each with its
/// words; every one must be refused at startup with an ERROR line saying them. All are
/// tried; the test fails listing those that were not.
#[test]
fn refuses_bad_load_balancing_configurations() {
    let hook = hook_under_test();
    if !ready(V4, &[hook]) {
        return;
    }
    let [primary_port, secondary_port, third_port] = free_ports();
    let peers = peers([hook, hook], [primary_port, secondary_port]);
    let third = peers[0].1.replace(&primary_port.to_string(), &third_port.to_string());
    let add_peer = |ha: &mut Value, role: &str| {
        let peer = json!({"name": "server3", "url": third, "role": role});
        ha["peers"].as_array_mut().expect("peers").push(peer);
    };
    type Change<'a> = Box<dyn Fn(&mut Value) + 'a>;
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "no secondary",
            Box::new(|ha: &mut Value| ha["peers"][1]["role"] = json!("backup")),
            "secondary server required in the load balancing configuration",
        ),
        (
            "a standby",
            Box::new(|ha: &mut Value| add_peer(ha, "standby")),
            "standby servers not allowed in the load balancing configuration",
        ),
        (
            "no primary",
            Box::new(|ha: &mut Value| {
                ha["this-server-name"] = json!(SECONDARY);
                ha["peers"][0]["role"] = json!("backup");
            }),
            "primary server required in the load balancing configuration",
        ),
        (
            "wait-backup-ack",
            Box::new(|ha: &mut Value| {
                ha["wait-backup-ack"] = json!(true);
                add_peer(ha, "backup");
            }),
            "'wait-backup-ack' must be set to false in the load balancing configuration",
        ),
    ];
    let configs: Vec<(&str, Value, Vec<&str>)> = cases
        .iter()
        .map(|(name, change, says)| {
            let mut config = lb_config(V4, hook, PRIMARY, &peers, json!({}), false);
            change(&mut config[V4.key()]["hooks-libraries"][1]["parameters"]["high-availability"][0]);
            (*name, config, vec![*says])
        })
        .collect();
    check_each_refused(&configs);
    if hamux_under_test() {
        println!("the hook refused all {} as libdhcp_ha does", cases.len());
    }
}
