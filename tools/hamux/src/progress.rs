//! The progress line on stderr: redrawn in place on a terminal, otherwise one line per
//! scenario when it ends. Drawn by the main thread, never by the request path.

use std::io::{IsTerminal, Write};
use std::time::Duration;

pub struct Progress {
    label: String,
    total: Duration,
    tty: bool,
    last: Option<(Duration, u64)>,
    rate: f64,
    done: (Duration, u64),
}

const BAR: usize = 24;

impl Progress {
    pub fn new(label: &str, total: Duration) -> Progress {
        Progress {
            label: label.to_string(),
            total,
            tty: std::io::stderr().is_terminal(),
            last: None,
            rate: 0.0,
            done: (Duration::ZERO, 0),
        }
    }

    /// Records `completed` round trips after `elapsed`; redraws on a terminal.
    pub fn update(&mut self, elapsed: Duration, completed: u64) {
        if let Some((t, n)) = self.last {
            let dt = (elapsed - t).as_secs_f64();
            if dt > 0.0 {
                self.rate = (completed - n) as f64 / dt;
            }
        }
        self.last = Some((elapsed, completed));
        self.done = (elapsed, completed);
        if !self.tty {
            return;
        }
        let frac = (elapsed.as_secs_f64() / self.total.as_secs_f64()).clamp(0.0, 1.0);
        let filled = (frac * BAR as f64).round() as usize;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{:<16} [{}{}] {:>5.1}/{:.1} s  {:>9} rt/s  {:>10} done",
            self.label,
            "#".repeat(filled),
            ".".repeat(BAR - filled),
            elapsed.as_secs_f64(),
            self.total.as_secs_f64(),
            group(self.rate as u64),
            group(completed),
        );
        let _ = err.flush();
    }

    /// Clears the line on a terminal; elsewhere prints the scenario's single line.
    pub fn finish(&mut self, elapsed: Duration, completed: u64) {
        self.done = (elapsed, completed);
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K");
        } else {
            let _ = writeln!(
                err,
                "{}: ran {:.1} s, {} round trips",
                self.label,
                self.done.0.as_secs_f64(),
                group(self.done.1)
            );
        }
        let _ = err.flush();
    }
}

/// 1234567 as "1,234,567".
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_digits() {
        assert_eq!(super::group(0), "0");
        assert_eq!(super::group(999), "999");
        assert_eq!(super::group(1000), "1,000");
        assert_eq!(super::group(1234567), "1,234,567");
    }
}
