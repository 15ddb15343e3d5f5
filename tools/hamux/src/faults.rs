//! The soak's fault schedule: the peer process is killed (SIGKILL) or stopped gracefully
//! (SIGTERM: Goaway and drain) at random intervals and restarted on the same port after a
//! random pause. The same thread watches for a peer that died on its own — a crash, which
//! fails the soak — and records the peer's peak memory.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};
use testkit::peer_process::{PeerProcess, PeerSpec};
use testkit::process::peak_rss;

/// What the fault thread did.
#[derive(Default)]
pub struct FaultCounts {
    pub killed: AtomicU64,
    pub terminated: AtomicU64,
    /// Graceful stops that did not exit cleanly in time (then killed).
    pub unclean_stops: AtomicU64,
    /// The peer exited without being told to.
    pub crashes: AtomicU64,
    pub garbage: AtomicU64,
    /// Highest peak RSS of any peer process, bytes.
    pub peer_peak_rss: AtomicU64,
}

/// Random numbers for the schedule (splitmix64: good from any seed, even a small one
/// typed on the command line; the seed is printed for a replay).
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Dice {
        Dice(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A duration in `from..to` (milliseconds).
    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.next() % (to - from))
    }
}

/// How long a graceful stop may take before the peer is killed after all.
const STOP_LIMIT: Duration = Duration::from_secs(15);

fn record_rss(peer: &PeerProcess, counts: &FaultCounts) {
    if let Some(rss) = peak_rss(&peer.pid().to_string()) {
        counts.peer_peak_rss.fetch_max(rss, Relaxed);
    }
}

/// When the fault thread stops injecting, and when it may stop the peer.
pub struct Phases {
    /// The load has stopped: no more faults; keep the peer up for the final drain.
    pub stop_faults: AtomicBool,
    /// The final drain is over: stop the peer (gracefully) and return.
    pub drained: AtomicBool,
}

/// Starts the peer on a free port and sends the port to `started`; with `inject`, kills
/// and stops the peer now and then until `stop_faults`; keeps it up (restarting it if it
/// crashes) until `drained`; then stops it gracefully. The peer processes are started on
/// this thread, which they do not outlive.
pub fn run(
    spec: &PeerSpec,
    inject: bool,
    dice: &mut Dice,
    phases: &Phases,
    counts: &FaultCounts,
    started: Sender<u16>,
) -> Result<(), String> {
    let mut peer = PeerProcess::start(spec, 0)?;
    let port = peer.port;
    let _ = started.send(port);
    // The first fault comes early and is a kill, the second a graceful stop, so that even
    // a short soak sees both; then 60% kills.
    let mut next_fault = Instant::now() + dice.millis(500, 1000);
    let mut faults = 0u64;
    while !phases.drained.load(Relaxed) {
        record_rss(&peer, counts);
        if peer.exited() {
            counts.crashes.fetch_add(1, Relaxed);
            eprintln!("soak: the peer process exited by itself; restarting it");
            peer = PeerProcess::restart(spec, port)?;
        }
        if inject && !phases.stop_faults.load(Relaxed) && Instant::now() >= next_fault {
            let kill = match faults {
                0 => true,
                1 => false,
                _ => dice.next() % 10 < 6,
            };
            faults += 1;
            if kill {
                peer.kill();
                counts.killed.fetch_add(1, Relaxed);
            } else {
                if !peer.terminate(STOP_LIMIT) {
                    counts.unclean_stops.fetch_add(1, Relaxed);
                }
                counts.terminated.fetch_add(1, Relaxed);
            }
            std::thread::sleep(dice.millis(0, 400));
            peer = PeerProcess::restart(spec, port)?;
            next_fault = Instant::now() + dice.millis(300, 2500);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    record_rss(&peer, counts);
    if !peer.terminate(STOP_LIMIT) {
        counts.unclean_stops.fetch_add(1, Relaxed);
    }
    Ok(())
}
