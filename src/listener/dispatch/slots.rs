//! A counting semaphore for the pending limits, cheaper than tokio's on the path every
//! request takes: taking a slot is one compare-and-swap and giving it back one add, with
//! no lock unless a connection waits (tokio's locks its waiter list on every release).
//! Waiters are woken one per slot given back; which waiter gets it is not ordered.

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use tokio::sync::Notify;

pub(super) struct Slots {
    free: AtomicUsize,
    /// Takers registered with `wake` and not yet served.
    waiting: AtomicUsize,
    wake: Notify,
}

/// One slot taken from a [`Slots`]; given back when dropped.
pub(super) struct Slot(Arc<Slots>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.give();
    }
}

/// A taker counted in `waiting` until dropped, also when its future is.
struct Waiting<'a>(&'a Slots);

impl<'a> Waiting<'a> {
    fn count(slots: &'a Slots) -> Waiting<'a> {
        slots.waiting.fetch_add(1, SeqCst);
        Waiting(slots)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, SeqCst);
    }
}

impl Slots {
    pub(super) fn new(count: usize) -> Arc<Slots> {
        Arc::new(Slots { free: AtomicUsize::new(count), waiting: AtomicUsize::new(0), wake: Notify::new() })
    }

    fn try_take(&self) -> bool {
        self.free.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok()
    }

    fn give(&self) {
        self.free.fetch_add(1, SeqCst);
        // A taker counts itself as waiting (after registering with `wake`) before its
        // last look at `free`, and this looks at `waiting` after adding: of the two, at
        // least one sees the other, so no slot is given back unseen by a waiter.
        if self.waiting.load(SeqCst) > 0 {
            self.wake.notify_one();
        }
    }

    /// Takes a slot, waiting until one is given back if none is free.
    pub(super) async fn take(self: &Arc<Self>) -> Slot {
        if self.try_take() {
            return Slot(self.clone());
        }
        loop {
            let mut notified = pin!(self.wake.notified());
            notified.as_mut().enable();
            let counted = Waiting::count(self);
            let got = self.try_take();
            if !got {
                // A taker dropped here (its connection closed) passes a wake-up it
                // received on to the next waiter: tokio's Notified does that.
                notified.await;
            }
            drop(counted);
            if got || self.try_take() {
                return Slot(self.clone());
            }
        }
    }

    #[cfg(test)]
    fn free(&self) -> usize {
        self.free.load(SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// Four threads, each its own runtime (as the IO threads), eight takers on each.
    #[test]
    fn never_more_taken_than_there_are_and_every_waiter_served() {
        let slots = Slots::new(3);
        let held = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (slots, held, max) = (slots.clone(), held.clone(), max.clone());
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                    rt.block_on(async move {
                        let takers: Vec<_> = (0..8)
                            .map(|_| {
                                let (slots, held, max) = (slots.clone(), held.clone(), max.clone());
                                tokio::spawn(async move {
                                    for _ in 0..200 {
                                        let slot = slots.take().await;
                                        let now = held.fetch_add(1, SeqCst) + 1;
                                        max.fetch_max(now, SeqCst);
                                        tokio::task::yield_now().await;
                                        held.fetch_sub(1, SeqCst);
                                        drop(slot);
                                    }
                                })
                            })
                            .collect();
                        for t in takers {
                            tokio::time::timeout(Duration::from_secs(20), t)
                                .await
                                .expect("a taker starved")
                                .unwrap();
                        }
                    })
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert!(max.load(SeqCst) <= 3, "{} slots held at once", max.load(SeqCst));
        assert_eq!(max.load(SeqCst), 3, "the slots were never all used");
        assert_eq!(slots.free(), 3);
    }

    #[tokio::test]
    async fn a_waiter_dropped_after_its_wake_up_passes_it_on() {
        let slots = Slots::new(1);
        let first = slots.take().await;
        let (s1, s2) = (slots.clone(), slots.clone());
        let cancelled = tokio::spawn(async move { drop(s1.take().await) });
        let served = tokio::spawn(async move { drop(s2.take().await) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        cancelled.abort();
        tokio::time::timeout(Duration::from_secs(5), served)
            .await
            .expect("the second waiter starved")
            .unwrap();
        assert_eq!(slots.free(), 1);
    }
}
