//! Statistics counters striped by thread: each thread adds to its own cache line, so the
//! counters a request bumps on its way (sent, completed, bytes, latency) cost no cache
//! line bouncing between the IO threads; a reader sums the stripes.
//!
//! [`Striped`] has the shape of an `AtomicU64` used as a counter (`fetch_add`, `load`), so
//! it replaces one without touching the code that counts. A limit that must be exact at
//! every instant (`in-flight` against `max-in-flight`) stays one atomic.

use crate::io::current_slot;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Stripes per counter: IO threads `i` and `i + STRIPES` share one (as do host threads
/// spread round robin), which only costs some bouncing again, never a wrong count.
pub(crate) const STRIPES: usize = 4;

#[derive(Default)]
#[repr(align(128))]
struct Cell(AtomicU64);

/// A counter that many threads add to and few read.
#[derive(Default)]
pub(crate) struct Striped {
    cells: [Cell; STRIPES],
}

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// A thread that is no IO thread gets a stripe round robin, once.
    static HOST_STRIPE: usize = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES;
}

/// This thread's stripe: an IO thread's index in its set (so the threads of one client or
/// listener use distinct stripes), else the thread's round-robin one.
pub(crate) fn stripe() -> usize {
    match current_slot() {
        Some(slot) => slot.index % STRIPES,
        None => HOST_STRIPE.with(|s| *s),
    }
}

impl Striped {
    /// Adds `n` to this thread's stripe (the ordering is that of a statistics counter:
    /// `Relaxed`, whatever is passed). Unlike `AtomicU64::fetch_add` it returns nothing:
    /// the stripes' sum is only known to [`load`](Self::load).
    pub(crate) fn fetch_add(&self, n: u64, _: Ordering) {
        self.cells[stripe()].0.fetch_add(n, Ordering::Relaxed);
    }

    /// The sum of the stripes: every add that happened-before this call is counted.
    pub(crate) fn load(&self, _: Ordering) -> u64 {
        self.cells.iter().map(|c| c.0.load(Ordering::Relaxed)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;
    use std::sync::Arc;

    #[test]
    fn sums_what_every_thread_added() {
        let counter = Arc::new(Striped::default());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let c = counter.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        c.fetch_add(t + 1, Relaxed);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(counter.load(Relaxed), 1000 * (1..=8).sum::<u64>());
    }

    #[test]
    fn stripes_do_not_share_cache_lines() {
        let c = Striped::default();
        let a = &c.cells[0] as *const Cell as usize;
        let b = &c.cells[1] as *const Cell as usize;
        assert!(b - a >= 128);
    }
}
