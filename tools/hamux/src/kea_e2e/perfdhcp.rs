//! Leases/s at saturation with perfdhcp, the way ISC's performance reports count it: raise
//! the offered rate step by step until more than 2.5% of the DORA exchanges fail.
//!
//! A step is one short perfdhcp run (`-p` [`STEP_SECONDS`]) with [`CLIENTS`] random
//! clients. Its leases/s are ACKs ÷ `-p` (perfdhcp's own Rate line divides by `-p` plus
//! the `-W` wait). `-W` is short ([`EXIT_WAIT_US`]): long enough for the last exchanges at
//! normal latency, short enough that an overloaded server's backlog, answered after the
//! run, neither counts as leases/s nor hides the failures (exchanges still unanswered at
//! the end are perfdhcp's drops).

use super::dhcp::{RELAY, RELAY_PORT};
use std::process::Command;
use std::time::Duration;
use testkit::perfdhcp::{blocks, PERFDHCP};
use testkit::process::{try_run_with_limit, Finished};

pub const STEP_SECONDS: u32 = 2;
pub const EXIT_WAIT_US: u32 = 100_000;
/// Random client MACs out of this many: mostly new clients, each step's leases fit the
/// pool (see `servers::POOL`) many times over.
pub const CLIENTS: u32 = 1_000_000;
/// More failed exchanges than this fraction: the step is past saturation.
pub const MAX_FAILED: f64 = 0.025;
/// The first step, and the factor between steps until one fails.
const START_RATE: u32 = 1000;
const FACTOR: f64 = 1.5;
/// Steps between the last passing and the first failing rate (each at their geometric mean).
const REFINEMENTS: usize = 2;
/// perfdhcp sending this fraction of the asked rate or less is the limit of the machine
/// (it shares the cores with Kea), not of the server: no higher step.
const GENERATOR_SHORTFALL: f64 = 0.9;
const MAX_RATE: u32 = 40_000;

/// One perfdhcp run.
#[derive(Clone, Debug)]
pub struct Step {
    /// `-r`: DORAs/s asked for.
    pub rate: u32,
    /// DISCOVERs perfdhcp sent.
    pub sent: u64,
    /// ACKs it received.
    pub acks: u64,
}

impl Step {
    pub fn leases_per_second(&self) -> f64 {
        self.acks as f64 / STEP_SECONDS as f64
    }

    /// Exchanges started that got no ACK (in time), as a fraction; never below zero, as
    /// the bench's DORA client counts in `sent` only the DISCOVERs it sent on time and in
    /// `acks` also those of the late ones.
    pub fn failed(&self) -> f64 {
        (1.0 - self.acks as f64 / self.sent.max(1) as f64).max(0.0)
    }

    pub fn passed(&self) -> bool {
        self.failed() <= MAX_FAILED
    }

    /// perfdhcp could not send the rate asked for.
    pub fn generator_bound(&self) -> bool {
        (self.sent as f64) < GENERATOR_SHORTFALL * (self.rate * STEP_SECONDS) as f64
    }
}

/// Runs perfdhcp once at `rate` against the DHCP port `port` on 127.0.0.1.
pub fn step(port: u16, rate: u32) -> Result<Step, String> {
    let mut command = Command::new(PERFDHCP);
    command.arg("-4").args(["-r", &rate.to_string(), "-R", &CLIENTS.to_string()]);
    command.args(["-p", &STEP_SECONDS.to_string(), "-W", &EXIT_WAIT_US.to_string()]);
    command.args(["-l", &RELAY.to_string(), "-L", &RELAY_PORT.to_string(), "-N", &port.to_string()]);
    command.arg("127.0.0.1");
    let limit = Duration::from_secs(STEP_SECONDS as u64 + 20);
    let run = try_run_with_limit(&mut command, limit).map_err(|e| format!("cannot run {PERFDHCP}: {e}"))?;
    let Finished { status: Some(status), stdout: text, stderr, .. } = run else {
        return Err(format!("perfdhcp -r {rate} did not finish in time"));
    };
    // 0: every exchange completed; 3: some did not (counted in the report).
    if !matches!(status.code(), Some(0) | Some(3)) {
        return Err(format!("perfdhcp -r {rate} failed ({status}):\n{text}{stderr}"));
    }
    parse(rate, &text)
        .ok_or_else(|| format!("perfdhcp -r {rate}: no DISCOVER-OFFER / REQUEST-ACK counts in:\n{text}"))
}

/// `sent packets` of DISCOVER-OFFER and `received packets` of REQUEST-ACK.
fn parse(rate: u32, report: &str) -> Option<Step> {
    let blocks = blocks(report);
    let (sent, _) = *blocks.get("DISCOVER-OFFER")?;
    let (_, acks) = *blocks.get("REQUEST-ACK")?;
    Some(Step { rate, sent, acks })
}

/// The outcome of a search: every step in order, and the best passing one.
pub struct Saturation {
    pub steps: Vec<Step>,
    /// The rise stopped at a passing step because perfdhcp could not offer more (or at
    /// the highest rate tried): the figure is a lower bound.
    pub generator_bound: bool,
}

impl Saturation {
    /// The passing step with the most leases/s.
    pub fn best(&self) -> Option<&Step> {
        self.steps.iter().filter(|s| s.passed()).max_by(|a, b| a.acks.cmp(&b.acks))
    }
}

fn round(rate: f64) -> u32 {
    ((rate / 50.0).round() * 50.0).max(50.0) as u32
}

/// Raises the rate by [`FACTOR`] from [`START_RATE`] until a step fails (or perfdhcp
/// cannot keep up), then tries [`REFINEMENTS`] rates between the last pass and the first
/// failure. If the first step already fails, halves it until one passes. A failed step is
/// run once more before it counts (a moment of CPU taken by anything else on two cores
/// would otherwise end the rise early), and `settle` runs after each failed run: an
/// overloaded server's backlog must not spill into the next.
pub fn search(
    mut run: impl FnMut(u32) -> Result<Step, String>,
    mut settle: impl FnMut(),
) -> Result<Saturation, String> {
    let mut steps = Vec::new();
    let mut take = |rate: u32, steps: &mut Vec<Step>| -> Result<Step, String> {
        let mut last = None;
        for _ in 0..2 {
            let s = run(rate)?;
            steps.push(s.clone());
            if s.passed() {
                return Ok(s);
            }
            settle();
            last = Some(s);
        }
        Ok(last.expect("two runs"))
    };
    let (mut pass, mut fail) = (None::<u32>, None::<u32>);
    let (mut rate, mut generator_bound) = (START_RATE, false);
    loop {
        let s = take(rate, &mut steps)?;
        if s.passed() {
            pass = Some(rate);
            if fail.is_some() {
                break;
            }
            if s.generator_bound() || rate >= MAX_RATE {
                generator_bound = true;
                break;
            }
            rate = round(rate as f64 * FACTOR).min(MAX_RATE);
        } else {
            fail = Some(rate);
            if pass.is_some() || rate <= 100 {
                break;
            }
            rate = round(rate as f64 / 2.0);
        }
    }
    for _ in 0..REFINEMENTS {
        let (Some(p), Some(f)) = (pass, fail) else { break };
        let mid = round((p as f64 * f as f64).sqrt());
        if mid <= p || mid >= f {
            break;
        }
        if take(mid, &mut steps)?.passed() {
            pass = Some(mid);
        } else {
            fail = Some(mid);
        }
    }
    Ok(Saturation { steps, generator_bound })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that completes every exchange up to `capacity`/s and none past it.
    fn server(capacity: u32) -> impl FnMut(u32) -> Result<Step, String> {
        move |rate| {
            let sent = (rate * STEP_SECONDS) as u64;
            Ok(Step { rate, sent, acks: sent.min((capacity * STEP_SECONDS) as u64) })
        }
    }

    #[test]
    fn raises_until_failure_then_refines() {
        let mut settled = 0;
        let s = search(server(4000), || settled += 1).unwrap();
        let rates: Vec<u32> = s.steps.iter().map(|s| s.rate).collect();
        assert_eq!(rates, [1000, 1500, 2250, 3400, 5100, 5100, 4150, 4150, 3750]);
        assert_eq!(s.best().unwrap().rate, 3750);
        assert_eq!(settled, 4, "after each run of 5100 and 4150");
        assert!(!s.generator_bound);
    }

    #[test]
    fn halves_when_the_first_step_fails() {
        let s = search(server(300), || {}).unwrap();
        let rates: Vec<u32> = s.steps.iter().map(|s| s.rate).collect();
        assert_eq!(rates, [1000, 1000, 500, 500, 250, 350, 350, 300]);
        assert_eq!(s.best().unwrap().rate, 300);
    }

    #[test]
    fn a_failure_counts_only_if_the_rerun_fails_too() {
        let mut flaky = 0;
        let hiccup = |rate: u32| {
            flaky += 1;
            let sent = (rate * STEP_SECONDS) as u64;
            // The first run at 1500 loses half its exchanges; the server holds 2000/s.
            let acks = if flaky == 2 { sent / 2 } else { sent.min(4000) };
            Ok(Step { rate, sent, acks })
        };
        let s = search(hiccup, || {}).unwrap();
        let rates: Vec<u32> = s.steps.iter().map(|s| s.rate).collect();
        // 2050: 4000 of 4100 ACKed, 2.4% failed: a pass.
        assert_eq!(rates, [1000, 1500, 1500, 2250, 2250, 1850, 2050]);
        assert_eq!(s.best().unwrap().rate, 2050);
    }

    #[test]
    fn stops_where_perfdhcp_cannot_keep_up() {
        let bound = |rate: u32| -> Result<Step, String> {
            Ok(Step { rate, sent: (rate.min(2000) * 2) as u64, acks: (rate.min(2000) * 2) as u64 })
        };
        let s = search(bound, || {}).unwrap();
        assert_eq!(s.steps.iter().map(|s| s.rate).collect::<Vec<_>>(), [1000, 1500, 2250]);
        assert!(s.generator_bound);
        assert!((s.best().unwrap().leases_per_second() - 2000.0).abs() < 1e-9);
    }

    #[test]
    fn reads_perfdhcp_counts() {
        let report = "***Statistics for: DISCOVER-OFFER***\nsent packets: 7999\nreceived packets: 7990\n\
                      ***Statistics for: REQUEST-ACK***\nsent packets: 7990\nreceived packets: 7801\n";
        let s = parse(4000, report).unwrap();
        assert_eq!((s.sent, s.acks), (7999, 7801));
        assert!(s.passed() && (s.failed() - 0.0247).abs() < 1e-3);
        assert!(parse(1, "nothing").is_none());
    }
}
