//! The wait between connect attempts to a peer that was found down.

use std::time::Duration;

/// Exponential backoff between connect attempts, with jitter so that many clients that
/// lost the same peer do not reconnect in lockstep.
pub(crate) struct Backoff {
    current: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { current: Backoff::FIRST }
    }
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(50);
    const MAX: Duration = Duration::from_secs(2);

    /// The wait before the next attempt: 50 ms doubling up to 2 s, each plus up to half of
    /// itself at random.
    pub(crate) fn next(&mut self) -> Duration {
        let base = self.current;
        self.current = (self.current * 2).min(Backoff::MAX);
        let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let nanos = clock.subsec_nanos() as u64 ^ std::process::id() as u64;
        base + Duration::from_millis(nanos % (base.as_millis() as u64 / 2 + 1))
    }

    /// A connection worked again: the next failure waits the shortest time.
    pub(crate) fn reset(&mut self) {
        self.current = Backoff::FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_up_to_the_cap_and_resets() {
        let mut backoff = Backoff::default();
        let mut base = Backoff::FIRST;
        for _ in 0..10 {
            let wait = backoff.next();
            assert!(wait >= base && wait <= base + base / 2, "{wait:?} for base {base:?}");
            base = (base * 2).min(Backoff::MAX);
        }
        assert_eq!(base, Backoff::MAX);
        backoff.reset();
        assert!(backoff.next() <= Backoff::FIRST + Backoff::FIRST / 2);
    }
}
