//! `hamux bench --soak 5 --faults`: a short soak with the peer process killed, stopped and
//! restarted and garbage connections injected. Every accepted request must be called back
//! exactly once (lost 0, duplicated 0), and the faults must really have happened: some
//! requests failed, many succeeded, the peer was killed and garbage was sent.

use std::process::Command;
use std::time::Duration;
use testkit::process::run_with_limit;

/// The number after `label ` in the summary line (digits with thousands commas).
fn field(line: &str, label: &str) -> u64 {
    let at = line.find(&format!("{label} ")).unwrap_or_else(|| panic!("no '{label}' in: {line}"))
        + label.len()
        + 1;
    let rest = &line.as_bytes()[at..];
    let mut digits = String::new();
    for (i, &b) in rest.iter().enumerate() {
        match b {
            b'0'..=b'9' => digits.push(b as char),
            b',' if rest.get(i + 1).is_some_and(u8::is_ascii_digit) => {}
            _ => break,
        }
    }
    digits.parse().unwrap_or_else(|_| panic!("'{label}' is not a number in: {line}"))
}

#[test]
fn a_short_soak_with_faults_loses_and_doubles_nothing() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hamux"));
    // A small window keeps the debug build's load modest on a shared machine.
    cmd.args(["bench", "--soak", "5", "--faults", "--window", "64", "--connections", "2"]);
    let run = run_with_limit(&mut cmd, Duration::from_secs(180), "hamux bench --soak");
    let line =
        run.stdout.lines().find(|l| l.starts_with("soak: ")).unwrap_or_else(|| {
            panic!("no summary line\n--- stdout\n{}--- stderr\n{}", run.stdout, run.stderr)
        });
    println!("{line}");
    assert!(run.status.is_some_and(|s| s.success()), "{line}\n--- stderr\n{}", run.stderr);
    let (sent, ok, error) = (field(line, "sent"), field(line, "ok"), field(line, "error"));
    assert_eq!((field(line, "lost"), field(line, "duplicated")), (0, 0), "{line}");
    assert_eq!(ok + error, sent, "every request sent was called back: {line}");
    assert!(ok > 1000, "the load ran: {line}");
    assert!(error > 0, "the faults failed some requests: {line}");
    assert!(field(line, "connect") > 0, "a killed peer fails requests with CONNECT: {line}");
    assert!(field_before(line, "SIGKILL") >= 1, "the peer was killed at least once: {line}");
    assert!(field_before(line, "garbage") > 0, "garbage connections were injected: {line}");
}

/// The number just before ` label` (e.g. "12 garbage").
fn field_before(line: &str, label: &str) -> u64 {
    let end = line.find(&format!(" {label}")).unwrap_or_else(|| panic!("no '{label}' in: {line}"));
    let start = line[..end].rfind(' ').map_or(0, |i| i + 1);
    line[start..end].replace(',', "").parse().unwrap_or_else(|_| panic!("no number before '{label}': {line}"))
}
