//! `hamux`: benchmark and test tool for the hamux library, driving it through its C ABI.
//!
//! - `hamux bench`: listener and client on loopback in one process, several scenarios
//!   (hamux:// and HTTP; `kea`: side by side with a real kea-dhcp4), or `--target` a peer;
//! - `hamux listen`: the lease-storing listener alone;
//! - `hamux send`: the closed-loop client alone, against a peer elsewhere.

mod args;
mod baseline;
mod bench;
mod body;
mod busy_load;
mod capi;
mod compare;
mod cpu;
mod driver;
mod faults;
mod garbage;
mod handler;
mod histogram;
mod kea;
mod kea_e2e;
mod lease;
mod lease_store;
mod listen;
mod paired;
mod progress;
mod recorder;
mod report;
mod scale;
mod send;
mod soak;
mod soak_load;
mod subnet;
mod tally;
mod tls_files;

use args::{Flags, Parsed, Spec};
use bench::{BenchOptions, Load, Scenario, Transport};
use handler::ListenerSettings;
use std::time::Duration;

/// Defaults. The thread counts were chosen by measuring on a 2-core machine: io-threads 2
/// gave the most round trips/s in `pipelined` (4 connections). The bench's listener
/// handler never blocks, so it runs inline (handler-threads 0: on the listener's IO
/// threads), which costs about 1 µs of CPU less per round trip than 2 handler threads;
/// `hamux listen` (the soak's peer) keeps 2 handler threads, the threaded path. Over HTTP the hamux listener does best
/// with 64 connections (32: 5-10% less, 16: 15% less, 4: half), while Kea's listener is
/// flat from 4 to 64 connections (about 19k/s here).
const DEFAULT_SECONDS: u64 = 3;
const DEFAULT_CONNECTIONS: usize = 4;
const DEFAULT_WINDOW: usize = 512;
const DEFAULT_HTTP_CONNECTIONS: usize = 64;
const DEFAULT_BODY_SIZE: usize = 350;
const DEFAULT_IO_THREADS: usize = 2;
const DEFAULT_HANDLER_THREADS: usize = 2;
const DEFAULT_BENCH_HANDLER_THREADS: usize = 0;

const USAGE: &str = "\
hamux: benchmark and test tool for the hamux library (driven through its C ABI)

Usage:
  hamux bench  [options]        listener + client on loopback, scenario by scenario
  hamux listen --port P [...]   the lease-storing listener alone
  hamux send   --target U [...] the closed-loop client alone, against a peer
  hamux help [COMMAND]          this text, or a command's options

Run 'hamux COMMAND --help' for a command's options.
";

const BENCH_HELP: &str = "\
hamux bench: starts a listener and a client on loopback in one process (or, with
--target, only the client) and runs each scenario for --seconds, closed loop: every
response callback records the latency and sends the next request (a Kea lease4-update)
from inside the callback; no two requests in flight update the same lease (as long as
there are more leases than requests in flight). The listener's handler parses each
command with serde_json and stores the lease in a sharded map.

Each hamux:// scenario but head-of-line (whose late answers are the listener's), and
http, is followed at once by the same load over a minimal run-to-completion loop (row
'loop'): plain epoll, the same connections, window, messages (hamux's codecs: frames, or
HTTP/1.1 with one request in flight per connection), bodies, lease choice and handler
work (parse, store, answer; one write per batch), and no library machinery
(timeouts, limits, reconnects, hand-off to handler threads). Its server has --io-threads
threads, its client one per connection up to --io-threads. Column 'vs loop' is hamux's
round trips/s as a share of the loop's: how far hamux is from the limit on this machine
right now. Not run with --target, --tls or --no-baseline.

Scenarios:
  pipelined        hamux://, --connections connections, --window requests in flight
  pipelined-1conn  the same over one connection
  one-at-a-time    one request in flight on one connection (the in-order baseline)
  head-of-line     pipelined on one connection; 1% of the requests are answered 50 ms
                   late from another thread; the fast 99% are reported separately
  http             http:// (HTTP/1.1, Kea-style) to the same listener port:
                   --http-connections connections, one request in flight on each
  pipelined-loaded pipelined (and its loop) while --busy-processes processes spin on
                   the CPUs (children of the bench, killed when the scenario ends);
                   prints what share of the unloaded pipelined round trips/s hamux and
                   the loop each kept, p99 and CPU µs/rt before and after, and how many
                   CPUs the busy processes took. Measures its own unloaded pipelined
                   run first when 'pipelined' is not among the scenarios
  kea              not run by default: the http load (same client, connections, bodies
                   and seconds) against a real kea-dhcp4 2.2 HA listener that the bench
                   starts on a free loopback port and stops (row kea-http), then against
                   the hamux listener (hamux-http), and their ratio; skipped (exit 0)
                   when kea-dhcp4 is not installed
  kea-e2e          not run by default, runs alone (about 2 minutes): real kea-dhcp4
                   servers on loopback (relay 127.0.0.2, added to lo if missing; needs
                   root) in four configurations: (1) no HA, (2) Kea's libdhcp_ha
                   passive-backup with wait-backup-ack to a Kea backup, (3) the hook
                   libdhcp_hamux.so over hamux:// to a hook backup, (4) the hook over
                   http:// to a Kea HA backup. Per configuration: leases/s at saturation
                   (perfdhcp steps of 2 s, raised until over 2.5% of DORAs go
                   unanswered; ACKs / 2 s) and REQUEST->ACK p50/p99 at 2,000 new
                   clients/s for --seconds (the bench's own relay client). Then (2) and
                   (3) against an in-process backup answering 1 update in 100 after
                   500 ms, at 1,000/s: the other 99%'s p50/p99. Prints the ratios
                   (3)/(1) (target >= 90%) and (3)/(2) (target >= 2.5x). Needs Kea,
                   perfdhcp and target/kea/libdhcp_hamux.so ('make kea'); exits 1
                   without them. Then the failover pairs (about 4 minutes more):
                   two kea-dhcp4 both with Kea's HA (http://) or both with the hook
                   (hamux://), same timers, in hot-standby and in load-balancing:
                   leases/s and ACK p50/p99 (the relay client sending to both
                   servers), failover time (SIGKILL of the primary -> the standby's
                   first ACK) and the time a fresh primary takes to sync 100,000
                   leases and serve. --part passive-backup|failover runs one half
  kea-hub          not run by default, runs alone (about 10 s per N): one real kea-dhcp4
                   with the hook and libdhcp_lease_cmds as the central passive-backup of
                   N primaries (one relationship and one subnet 10.K.0.0/16 each, all on
                   one backup URL), for each N of --primaries (default 1,4,16,64; implies
                   the scenario). The primaries are hamux clients in this process, each
                   with its own connections, sending the hook's lease4-update commands for
                   leases of its own subnet; 64 updates in flight in all, spread evenly
                   (with --window W: W per primary), closed loop. Per N, on a fresh backup: the 64,000 leases sent once,
                   then --seconds renewing them. Prints per N updates/s acked, the
                   backup's CPU µs per acked update (its utime + stime), its RSS after
                   the run, update p99 and failures (not acked with result 0, or a subnet
                   whose lease count on the backup (lease4-get-all) differs from the
                   distinct addresses its primary sent), then the CPU ratio of the
                   largest N to N = 1 (target <= 1.25). Takes the Kea tests' lock
                   (hamux-perfdhcp.lock). Needs kea-dhcp4 and target/kea/libdhcp_hamux.so
                   ('make kea'); exits 1 without them
  peers            not run by default, runs alone (with connections): one client and,
                   in a child process ('hamux listen --listeners N'), N listeners
                   (io-threads 1 each, handler inline), for each N of --peers. Per N two
                   loads for --seconds: spread (each update to the peer its lease picks)
                   and fan-out (each update to --fan-out peers, default all, as Kea sends
                   every update to every backup; the chain's next update once all
                   answered). Each peer has --window requests in flight (or, with
                   --total-in-flight N, N in all whatever the peers), 2 connections
                   per peer. Prints delivered updates/s, CPU µs per delivered update of
                   the client (this process) and of the listeners' process, update p99,
                   and both processes' RSS
  connections      not run by default, runs alone (with peers): a listener in a child
                   process (io-threads --io-threads, max-connections N + 64+) and, for
                   each N of --idle-connections, the pipelined load (--connections,
                   --window) alone, then again beside N idle connections (opened by
                   child processes, as many as their clients' two descriptors per
                   connection take, with clients of 1,000 connections each, 2 requests
                   per connection, then only keep-alive pings); prints both round
                   trips/s and their ratio, CPU µs/rt of both processes, and the
                   resident memory per idle connection of its clients (the child
                   processes') and of the listener process (VmRSS with them minus
                   before, over N). Raises RLIMIT_NOFILE to its hard limit and refuses
                   to start if that is too low for the listener

Options:
  --seconds S           run time per scenario (default 3; fractions allowed)
  --connections N       connections of the pipelined scenario (default 4)
  --window N            requests in flight over hamux:// (default 512)
  --http-connections N  connections over http://, = requests in flight (default 64)
  --body-size B         request body bytes (default 350; padded via hostname/user-context)
  --subnet CIDR         lease addresses (default 10.0.0.0/8: 100,000 leases
                        10.1xx.1xx.1xx; a smaller subnet: its first 100,000 addresses,
                        e.g. all 254 of a /24)
  --subnet-id N         the subnet-id in the commands (default 1); a Kea peer accepts only
                        addresses inside its subnet with that id
  --io-threads N        IO threads of the client and of the listener (default 2: the
                        fastest for 'pipelined' on a 2-core machine; 1 is as fast or
                        slightly faster for the one-connection scenarios)
  --handler-threads N   listener handler threads (default 0: the handler runs inline on
                        the listener's IO threads, as it never blocks; N > 0: N handler
                        threads, the hand-over a blocking host needs)
  --scenario NAME       run only these (repeatable or comma-separated; default all but
                        kea, kea-e2e, kea-hub, peers and connections)
  --peers N[,N...]      with scenario peers (implies it): the peer counts (default
                        1,4,16,64), run in this order; a count may repeat: each run of
                        the most peers is compared with the 1-peer run before it, and
                        with several such pairs (1,64,1,64,1,64) their median is printed
  --primaries N[,N...]  with scenario kea-hub (implies it): the primary counts, 1 to 64
                        (default 1,4,16,64)
  --fan-out K|all       with scenario peers: peers each update of the fan-out rows goes to
                        (default all)
  --total-in-flight N   with scenario peers: N requests in flight in all whatever the
                        peers, instead of --window per peer
  --idle-connections N[,N...]
                        with scenario connections (implies it): the idle connection counts
                        (default 100,1000,10000)
  --no-baseline         skip the run-to-completion loop after each scenario that has one
  --busy-processes N    competing busy processes of pipelined-loaded (default: one per
                        core)
  --target URL          drive this peer (hamux://HOST:PORT or http://HOST:PORT/, e.g. a
                        'hamux listen' or a Kea HA listener) instead of a listener in this
                        process; runs the scenarios of the URL's transport that need no
                        listener of ours (hamux://: pipelined, pipelined-1conn,
                        one-at-a-time; http://: http)
  --json                print one JSON object on stdout instead of the table
  --tls                 run the scenarios over mutual TLS (hamuxs://, https://) with a
                        throw-away CA and certificate made at run time
  --soak S              instead of the scenarios: a soak of S seconds (see below)
  --faults              with --soak: kill and restart the peer, inject garbage connections
  --seed N              with --soak --faults: the fault schedule's seed (default: the clock)

Soak (--soak S): starts 'hamux listen' as a child process on a free port and runs the
closed loop against it (--connections, --window, --body-size, --io-threads,
--handler-threads apply) for S seconds, tracking every request id. With --faults the peer
is killed with SIGKILL or stopped with SIGTERM (a graceful shutdown: Goaway, drain) every
0.3-2.5 s and restarted on the same port after up to 0.4 s, and another thread keeps
opening garbage connections to it (random bytes, truncated frames, 4 GiB lengths, bad
versions and frame types, bad HTTP, silence). Requests that fail are sent again after
10 ms. At the end the load stops, in-flight requests get up to 60 s to complete, and one
line is printed:
  soak: S s, sent N, ok N, error N (connect N, ...), lost N, duplicated N,
  peak RSS N MB (peer N MB); faults: N SIGKILL, N SIGTERM, N garbage connections
lost = accepted by hamux_client_send and never called back; duplicated = called back
twice. The exit status is 1 if either is not 0 (or the peer crashed by itself).

Columns: round trips/s = completed / time to the last reply; p50/p99/p99.9 latency from
send to callback; CPU µs/rt = the process's user+sys CPU (getrusage) per round trip;
errors = callbacks with a status other than HAMUX_OK, or a reply that does not start
with Kea's '[ { \"result\": 0,'; any error (the loop's too) makes the exit status 1;
vs loop = round trips/s / the loop's. With --json each such row has 'baseline' (the
loop's row) and 'ratio-to-baseline'; pipelined-loaded's rows add 'busy-processes',
'busy-cpus', 'ratio-to-unloaded' and 'unloaded'.
";

const LISTEN_HELP: &str = "\
hamux listen: runs the benchmark's lease-storing listener as its own process. Prints its
URL (hamux://ADDRESS:PORT; the same port answers http://ADDRESS:PORT/) on stdout, then
listener statistics once a second on stderr, until interrupted (Ctrl-C, SIGTERM) or
--seconds have passed. Stopping is graceful (hamux_listener_free): the port closes at
once, hamux:// peers get a Goaway, requests already received are answered (within the
listener's drain-timeout-ms, 2 s), then the process exits.

Options:
  --port P             port to listen on (required; 0 picks a free one)
  --address A          address to bind (default 127.0.0.1)
  --io-threads N       listener IO threads (default 2)
  --handler-threads N  handler threads (default 2)
  --seconds S          stop after S seconds (default: run until killed)
  --listeners N        run N listeners (default 1), one URL a line on stdout: on free
                       ports with --port 0, else on ports P, P+1, ...
  --max-connections N  each listener's max-connections (default: the library's, 256)
";

const SEND_HELP: &str = "\
hamux send: runs the benchmark's closed-loop client against a peer elsewhere (for
example 'hamux listen', or a Kea HA listener over http://) and prints the same row as
'hamux bench'. ('hamux bench --target URL' runs several scenarios against it.)

Options:
  --target URL          the peer: hamux://HOST:PORT or http://HOST:PORT/ (required;
                        --url is the same)
  --seconds S           run time (default 3)
  --connections N       hamux:// connections (default 4)
  --window N            hamux:// requests in flight (default 512)
  --http-connections N  http:// connections, = requests in flight (default 64)
  --body-size B         request body bytes (default 350)
  --subnet CIDR         lease addresses (default 10.0.0.0/8)
  --subnet-id N         subnet-id in the commands (default 1)
  --io-threads N        client IO threads (default 2)
  --json                print one JSON object on stdout instead of the table
";

const BUSY_LOOP_HELP: &str = "\
hamux busy-loop --parent PID [--seconds S]: spins on one core for S seconds (default 60),
or until process PID exits; started by 'hamux bench' as the competing load of the
pipelined-loaded scenario (not meant to be run by hand).
";

const HOLD_IDLE_HELP: &str = "\
hamux hold-idle --url URL --connections N [--body-size B]: opens N idle hamux:// connections
to URL (two requests each, then only keep-alive pings), prints 'ready <RSS before> <RSS
after>' in bytes (or 'error <why>'), and holds them until stdin closes; started by 'hamux
bench --scenario connections' (not meant to be run by hand).
";

const BENCH_FLAGS: &[&str] = &[
    "--seconds",
    "--connections",
    "--window",
    "--http-connections",
    "--body-size",
    "--subnet",
    "--subnet-id",
    "--io-threads",
    "--handler-threads",
    "--scenario",
    "--target",
    "--soak",
    "--seed",
    "--busy-processes",
    "--peers",
    "--fan-out",
    "--total-in-flight",
    "--idle-connections",
    "--primaries",
    "--part",
];
const LISTEN_FLAGS: &[&str] = &[
    "--port",
    "--address",
    "--io-threads",
    "--handler-threads",
    "--seconds",
    "--listeners",
    "--max-connections",
];
const SEND_FLAGS: &[&str] = &[
    "--target",
    "--url",
    "--seconds",
    "--connections",
    "--window",
    "--http-connections",
    "--body-size",
    "--subnet",
    "--subnet-id",
    "--io-threads",
];

/// Why a command failed: bad usage (exit status 2) or a failed run (1).
enum Fail {
    Usage(String),
    Run(String),
}

fn usage<T>(r: Result<T, String>) -> Result<T, Fail> {
    r.map_err(Fail::Usage)
}

fn load(flags: &Flags) -> Result<Load, Fail> {
    let subnet_id = usage(flags.number("--subnet-id", 1u32, 1, u32::MAX - 1))?;
    let subnet = usage(subnet::Subnet::parse(flags.last("--subnet").unwrap_or("10.0.0.0/8"), subnet_id))?;
    let min_body = body::Body::min_size(&subnet);
    Ok(Load {
        duration: usage(flags.seconds("--seconds", Some(Duration::from_secs(DEFAULT_SECONDS))))?
            .unwrap_or_default(),
        connections: usage(flags.number("--connections", DEFAULT_CONNECTIONS, 1, 1024))?,
        window: usage(flags.number("--window", DEFAULT_WINDOW, 1, 65_536))?,
        http_connections: usage(flags.number("--http-connections", DEFAULT_HTTP_CONNECTIONS, 1, 1024))?,
        body_size: usage(flags.number(
            "--body-size",
            DEFAULT_BODY_SIZE.max(min_body),
            min_body,
            body::MAX_BODY,
        ))?,
        io_threads: usage(flags.number("--io-threads", DEFAULT_IO_THREADS, 1, 64))?,
        subnet,
        tls: None,
    })
}

fn soak(flags: &Flags) -> Result<(), Fail> {
    for flag in ["--scenario", "--target", "--json"] {
        if flags.last(flag).is_some() || flags.switch(flag) {
            return Err(Fail::Usage(format!("--soak runs its own load against its own peer; drop {flag}")));
        }
    }
    let duration = usage(flags.seconds("--soak", None))?.unwrap_or_default();
    let options = soak::SoakOptions {
        duration,
        faults: flags.switch("--faults"),
        seed: flags.last("--seed").map(|_| usage(flags.number("--seed", 1u64, 1, u64::MAX))).transpose()?,
        load: load(flags)?,
        handler_threads: usage(flags.number("--handler-threads", DEFAULT_HANDLER_THREADS, 0, 256))?,
    };
    soak::run(&options).map_err(Fail::Run)
}

fn bench(flags: &Flags) -> Result<(), Fail> {
    if flags.last("--soak").is_some() {
        return soak(flags);
    }
    if flags.switch("--faults") || flags.last("--seed").is_some() {
        return Err(Fail::Usage("--faults and --seed go with --soak SECONDS".into()));
    }
    let mut scenarios = Vec::new();
    for name in flags.all("--scenario").flat_map(|v| v.split(',')).map(str::trim).filter(|n| !n.is_empty()) {
        let s = usage(Scenario::parse(name))?;
        if !scenarios.contains(&s) {
            scenarios.push(s);
        }
    }
    let target = flags.last("--target").map(str::to_string);
    if flags.last("--peers").is_some() && !scenarios.contains(&Scenario::Peers) {
        scenarios.push(Scenario::Peers);
    }
    if flags.last("--idle-connections").is_some() && !scenarios.contains(&Scenario::Connections) {
        scenarios.push(Scenario::Connections);
    }
    if flags.last("--primaries").is_some() && !scenarios.contains(&Scenario::KeaHub) {
        scenarios.push(Scenario::KeaHub);
    }
    if scenarios.contains(&Scenario::KeaHub) {
        return kea_hub(flags, scenarios.len() > 1 || target.is_some());
    }
    if scenarios.iter().any(|s| matches!(s, Scenario::Peers | Scenario::Connections)) {
        return scale(flags, &scenarios, target.is_some());
    }
    if flags.last("--fan-out").is_some() {
        return Err(Fail::Usage("--fan-out goes with --scenario peers".into()));
    }
    if scenarios.contains(&Scenario::KeaE2e) {
        return kea_e2e(flags, scenarios.len() > 1 || target.is_some());
    }
    let mut load = load(flags)?;
    // Kept until the run ends: its drop removes the certificate files.
    let tls = if flags.switch("--tls") {
        if target.is_some() || scenarios.contains(&Scenario::Kea) {
            return Err(Fail::Usage(
                "--tls makes certificates for the bench's own listener: drop --target \
                                    and the kea scenario"
                    .into(),
            ));
        }
        let tls = tls_files::BenchTls::make().map_err(Fail::Run)?;
        load.tls = Some(tls.keys());
        Some(tls)
    } else {
        None
    };
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let options = BenchOptions {
        load,
        handler_threads: usage(flags.number("--handler-threads", DEFAULT_BENCH_HANDLER_THREADS, 0, 256))?,
        scenarios: usage(bench::select(scenarios, target.as_deref()))?,
        target,
        json: flags.switch("--json"),
        baseline: !flags.switch("--no-baseline"),
        busy_processes: usage(flags.number("--busy-processes", cores, 1, 1024))?,
    };
    let outcome = bench::run(&options).map_err(Fail::Run);
    drop(tls);
    outcome
}

/// `--scenario peers` and `--scenario connections`: their own listener processes and
/// loads, so they run without the other scenarios.
fn scale(flags: &Flags, scenarios: &[Scenario], target: bool) -> Result<(), Fail> {
    let others = scenarios.iter().any(|s| !matches!(s, Scenario::Peers | Scenario::Connections));
    if others || target || flags.switch("--tls") {
        return Err(Fail::Usage(
            "peers and connections run on their own: drop --target, --tls and the other scenarios".into(),
        ));
    }
    let list = |flag: &str, max: usize, default: &[usize]| -> Result<Vec<usize>, Fail> {
        let given = usage(scale::counts(flags.all(flag), flag, max))?;
        Ok(if given.is_empty() { default.to_vec() } else { given })
    };
    let fan_out = match flags.last("--fan-out") {
        None | Some("all") => None,
        Some(_) => Some(usage(flags.number("--fan-out", 1usize, 1, 1024))?),
    };
    let options = scale::ScaleOptions {
        load: load(flags)?,
        peers: match scenarios.contains(&Scenario::Peers) {
            true => Some(list("--peers", 1024, &scale::DEFAULT_PEERS)?),
            false => None,
        },
        fan_out,
        total_in_flight: match flags.last("--total-in-flight") {
            None => None,
            Some(_) => Some(usage(flags.number("--total-in-flight", 512usize, 1, 1 << 20))?),
        },
        idle: match scenarios.contains(&Scenario::Connections) {
            true => Some(list("--idle-connections", 100_000, &scale::DEFAULT_IDLE)?),
            false => None,
        },
        json: flags.switch("--json"),
    };
    scale::run(&options).map_err(Fail::Run)
}

/// `--scenario kea-e2e`: its own servers and load, so it runs alone; `--seconds` sets
/// its fixed-rate runs.
fn kea_e2e(flags: &Flags, others: bool) -> Result<(), Fail> {
    if others || flags.switch("--tls") {
        return Err(Fail::Usage("kea-e2e runs alone: drop --target, --tls and the other scenarios".into()));
    }
    let options = kea_e2e::Options {
        json: flags.switch("--json"),
        seconds: usage(flags.seconds("--seconds", Some(Duration::from_secs(DEFAULT_SECONDS))))?
            .unwrap_or_default(),
        parts: usage(kea_e2e::Parts::parse(flags.last("--part").unwrap_or("all")))?,
    };
    kea_e2e::run(&options).map_err(Fail::Run)
}

/// `--scenario kea-hub`: its own Kea backup and primaries, so it runs alone.
fn kea_hub(flags: &Flags, others: bool) -> Result<(), Fail> {
    if others || flags.switch("--tls") {
        return Err(Fail::Usage("kea-hub runs alone: drop --target, --tls and the other scenarios".into()));
    }
    let primaries = usage(scale::counts(flags.all("--primaries"), "--primaries", scale::hub::MAX_PRIMARIES))?;
    let options = scale::hub::HubOptions {
        primaries: if primaries.is_empty() { scale::hub::DEFAULT_PRIMARIES.to_vec() } else { primaries },
        seconds: usage(flags.seconds("--seconds", Some(Duration::from_secs(DEFAULT_SECONDS))))?
            .unwrap_or_default(),
        per_primary: match flags.last("--window") {
            None => None,
            Some(_) => Some(usage(flags.number("--window", 1usize, 1, 1024))?),
        },
        json: flags.switch("--json"),
    };
    scale::hub::run(&options).map_err(Fail::Run)
}

fn listen(flags: &Flags) -> Result<(), Fail> {
    let port = flags.last("--port").ok_or(Fail::Usage("--port is required (0 picks a free port)".into()))?;
    let port: u16 = port
        .parse()
        .map_err(|_| Fail::Usage(format!("--port must be a number from 0 to 65535, got '{port}'")))?;
    let address = flags.last("--address").unwrap_or("127.0.0.1").to_string();
    if address.parse::<std::net::IpAddr>().is_err() {
        return Err(Fail::Usage(format!("--address must be an IPv4 or IPv6 address, got '{address}'")));
    }
    let options = listen::ListenOptions {
        settings: ListenerSettings {
            address,
            port,
            io_threads: usage(flags.number("--io-threads", DEFAULT_IO_THREADS, 1, 64))?,
            handler_threads: usage(flags.number("--handler-threads", DEFAULT_HANDLER_THREADS, 0, 256))?,
            max_pending: 4096,
            max_connections: flags
                .last("--max-connections")
                .map(|_| usage(flags.number("--max-connections", 256usize, 1, 1 << 20)))
                .transpose()?,
            tls: None,
        },
        duration: usage(flags.seconds("--seconds", None))?,
        listeners: usage(flags.number("--listeners", 1usize, 1, 1024))?,
    };
    listen::run(&options).map_err(Fail::Run)
}

fn send(flags: &Flags) -> Result<(), Fail> {
    let url = match (flags.last("--target"), flags.last("--url")) {
        (Some(t), Some(u)) if t != u => {
            return Err(Fail::Usage("--url and --target name different peers".into()))
        }
        (Some(url), _) | (None, Some(url)) => url,
        (None, None) => {
            return Err(Fail::Usage("--target is required, e.g. --target hamux://127.0.0.1:9000".into()))
        }
    };
    let transport = Transport::of(url).ok_or_else(|| {
        Fail::Usage(format!("--target must be a hamux://HOST:PORT or http://HOST:PORT/ URL, got '{url}'"))
    })?;
    let options = send::SendOptions {
        url: url.to_string(),
        transport,
        load: load(flags)?,
        json: flags.switch("--json"),
    };
    send::run(&options).map_err(Fail::Run)
}

/// `hamux busy-loop`: one competing process of `bench --scenario pipelined-loaded`.
fn busy_loop(flags: &Flags) -> Result<(), Fail> {
    let parent = usage(flags.number("--parent", 0u32, 1, u32::MAX))?;
    let seconds = usage(flags.seconds("--seconds", Some(Duration::from_secs(60))))?.unwrap_or_default();
    busy_load::spin(parent, seconds).map_err(Fail::Run)
}

/// `hamux hold-idle`: idle connections of `bench --scenario connections`, in a process
/// of their own.
fn hold_idle(flags: &Flags) -> Result<(), Fail> {
    let url = flags.last("--url").ok_or_else(|| Fail::Usage("--url is required".into()))?;
    let n = usage(flags.number("--connections", 0usize, 1, 100_000))?;
    let body_size = usage(flags.number("--body-size", 350usize, 1, 1 << 20))?;
    scale::idle_holders::hold(url, n, body_size).map_err(Fail::Run)
}

type Command = fn(&Flags) -> Result<(), Fail>;

fn command(name: &str) -> Option<(Spec, &'static str, Command)> {
    Some(match name {
        "bench" => (
            Spec { valued: BENCH_FLAGS, switches: &["--json", "--faults", "--tls", "--no-baseline"] },
            BENCH_HELP,
            bench as Command,
        ),
        "listen" => (Spec { valued: LISTEN_FLAGS, switches: &[] }, LISTEN_HELP, listen as Command),
        "send" => (Spec { valued: SEND_FLAGS, switches: &["--json"] }, SEND_HELP, send as Command),
        // Not in the usage text: the competing load `pipelined-loaded` starts.
        "busy-loop" => {
            (Spec { valued: &["--parent", "--seconds"], switches: &[] }, BUSY_LOOP_HELP, busy_loop)
        }
        // Not in the usage text either: the idle connections `connections` opens.
        "hold-idle" => (
            Spec { valued: &["--url", "--connections", "--body-size"], switches: &[] },
            HOLD_IDLE_HELP,
            hold_idle,
        ),
        _ => return None,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args.first() else {
        eprint!("{USAGE}");
        std::process::exit(2);
    };
    if matches!(name.as_str(), "help" | "--help" | "-h") {
        match args.get(1).and_then(|c| command(c)) {
            Some((_, help, _)) => print!("{help}"),
            None => print!("{USAGE}"),
        }
        return;
    }
    if name == "--version" || name == "-V" {
        println!("hamux {}", hamux::VERSION);
        return;
    }
    let Some((spec, help, run)) = command(name) else {
        eprintln!("hamux: unknown command '{name}'\n\n{USAGE}");
        std::process::exit(2);
    };
    let flags = match spec.parse(&args[1..]) {
        Ok(Parsed::Help) => {
            print!("{help}");
            return;
        }
        Ok(Parsed::Flags(flags)) => flags,
        Err(e) => {
            eprintln!("hamux {name}: {e}\nRun 'hamux {name} --help' for the options.");
            std::process::exit(2);
        }
    };
    match run(&flags) {
        Ok(()) => {}
        Err(Fail::Usage(e)) => {
            eprintln!("hamux {name}: {e}\nRun 'hamux {name} --help' for the options.");
            std::process::exit(2);
        }
        Err(Fail::Run(e)) => {
            eprintln!("hamux {name}: {e}");
            std::process::exit(1);
        }
    }
}
