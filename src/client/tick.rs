//! A point in time as eight bytes: nanoseconds since the process's first use of the
//! client. A transaction keeps two of them (when it started, when it times out); as
//! `Instant`s, 16 bytes each, they made a transaction 80 bytes, more than the one cache
//! line a table slot should be when tens of thousands of transactions are in flight and
//! every reply finds its own cold.

use once_cell::sync::Lazy;
use std::time::{Duration, Instant};

/// What every tick counts from: taken when the first client is made ([`Tick::start`]),
/// before any instant a tick is made of.
static ORIGIN: Lazy<Instant> = Lazy::new(Instant::now);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Tick(u64);

impl Tick {
    /// Fixes the origin (if no client did yet).
    pub(crate) fn start() {
        Lazy::force(&ORIGIN);
    }

    /// `at` as a tick; an instant before the origin (none is made) is the origin.
    pub(crate) fn of(at: Instant) -> Tick {
        Tick(at.saturating_duration_since(*ORIGIN).as_nanos() as u64)
    }

    /// `self` plus `d`, saturating (a timeout of centuries is never).
    pub(crate) fn after(self, d: Duration) -> Tick {
        Tick(self.0.saturating_add(d.as_nanos().min(u64::MAX as u128) as u64))
    }

    pub(crate) fn instant(self) -> Instant {
        *ORIGIN + Duration::from_nanos(self.0)
    }

    /// How long from `earlier` to `self`; zero if `earlier` is later.
    pub(crate) fn since(self, earlier: Tick) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_keeps_its_instant_to_the_nanosecond_and_orders_like_it() {
        Tick::start();
        let a = Instant::now();
        let b = a + Duration::from_millis(1500) + Duration::from_nanos(7);
        let (ta, tb) = (Tick::of(a), Tick::of(b));
        assert_eq!((ta.instant(), tb.instant()), (a, b));
        assert!(ta < tb);
        assert_eq!(tb.since(ta), Duration::from_millis(1500) + Duration::from_nanos(7));
        assert_eq!(ta.since(tb), Duration::ZERO);
        assert_eq!(ta.after(Duration::from_millis(1500) + Duration::from_nanos(7)), tb);
        assert_eq!(ta.after(Duration::MAX), Tick(u64::MAX));
    }
}
