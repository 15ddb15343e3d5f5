//! Latencies recorded per callback thread: each hamux IO thread that runs a response
//! callback gets its own histograms, registered once, so recording never shares a cache
//! line with another thread and needs no lock. They are merged when the run is over.
//!
//! Each thread also counts its recordings where the main thread can read them while the
//! run goes, for the progress line: a count per thread, not per chain, so that reading it
//! costs two cache lines whatever the number in flight (a sum over 32,768 chains every
//! 100 ms was a scan of 2 MiB the client's CPU paid for, and it made every chain's line
//! shared with the main thread's core).

use crate::histogram::Histogram;
use std::cell::{RefCell, UnsafeCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one thread recorded.
#[derive(Default)]
pub struct Latencies {
    pub fast: Histogram,
    pub slow: Histogram,
    /// When this thread recorded its last reply.
    pub last: Option<Instant>,
}

impl Latencies {
    /// A run's length: from `start` to the last reply recorded (at least 1 µs, so rates
    /// stay finite).
    pub fn elapsed_since(&self, start: Instant) -> Duration {
        self.last.map_or(Duration::ZERO, |t| t.saturating_duration_since(start)).max(Duration::from_micros(1))
    }

    fn merge(&mut self, other: &Latencies) {
        self.fast.merge(&other.fast);
        self.slow.merge(&other.slow);
        self.last = self.last.max(other.last);
    }
}

#[derive(Default)]
struct Slot {
    latencies: UnsafeCell<Latencies>,
    /// How many times the thread recorded (written by it alone, read by anyone).
    recorded: AtomicU64,
}

// SAFETY: a slot's latencies are written only by the thread that registered it, and read
// by `Recorder::collect` only after every write happened-before (its caller's promise);
// `recorded` is atomic.
unsafe impl Sync for Slot {}

thread_local! {
    /// This thread's slot, and the recorder it belongs to.
    static MINE: RefCell<Option<(u64, Arc<Slot>)>> = const { RefCell::new(None) };
}

/// The latencies of one run.
pub struct Recorder {
    id: u64,
    slots: Mutex<Vec<Arc<Slot>>>,
}

impl Recorder {
    pub fn new() -> Recorder {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Recorder { id: NEXT.fetch_add(1, Ordering::Relaxed), slots: Mutex::new(Vec::new()) }
    }

    /// Runs `f` on the calling thread's latencies (registering them on first use).
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(&mut Latencies) -> R) -> R {
        MINE.with(|mine| {
            let mut mine = mine.borrow_mut();
            let slot = match &*mine {
                Some((id, slot)) if *id == self.id => slot,
                _ => {
                    let slot = Arc::new(Slot::default());
                    self.slots.lock().unwrap_or_else(|p| p.into_inner()).push(slot.clone());
                    &mine.insert((self.id, slot)).1
                }
            };
            // SAFETY: only this thread touches its slot's latencies until `collect`.
            let out = f(unsafe { &mut *slot.latencies.get() });
            // This thread alone writes it: a plain add, not a locked one.
            slot.recorded.store(slot.recorded.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            out
        })
    }

    /// How many times [`with`](Self::with) ran so far, over every thread: while the run
    /// goes, for the progress line.
    pub fn recorded(&self) -> u64 {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|s| s.recorded.load(Ordering::Relaxed))
            .sum()
    }

    /// Everything recorded, merged.
    ///
    /// # Safety
    /// No thread may record any more, and every recording must happen-before this call.
    pub unsafe fn collect(&self) -> Latencies {
        let mut all = Latencies::default();
        for slot in self.slots.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            all.merge(&*slot.latencies.get());
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_record_apart_and_merge() {
        let recorder = Arc::new(Recorder::new());
        let threads: Vec<_> = (0..3u64)
            .map(|t| {
                let r = recorder.clone();
                std::thread::spawn(move || {
                    for v in 0..1000 {
                        r.with(|l| l.fast.record(v + t));
                    }
                    r.with(|l| l.slow.record(7));
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(recorder.recorded(), 3 * 1001);
        // A second recorder on the same thread gets fresh histograms.
        let other = Recorder::new();
        other.with(|l| l.fast.record(1));
        recorder.with(|l| l.fast.record(1));
        let all = unsafe { recorder.collect() };
        assert_eq!((all.fast.count(), all.slow.count()), (3001, 3));
        assert_eq!(unsafe { other.collect() }.fast.count(), 1);
    }
}
