//! Exactly-once accounting for the soak: which request ids were accepted by
//! `hamux_client_send`, which got a callback, and how each callback ended.
//!
//! Ids are hamux txids (sequential from 1 per client), kept in two bitmaps allocated in
//! chunks on first touch, so ten million requests cost a few megabytes and no lock. A
//! callback whose bit is already set is a duplicate; after the final drain, an accepted
//! id without its bit is lost.

use hamux::ffi::hamux_status;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

const CHUNK_BITS: u64 = 1 << 22;
const CHUNK_WORDS: usize = (CHUNK_BITS / 64) as usize;
const CHUNKS: usize = 1 << 12;

/// A set of ids below 2^34, safe to update from any thread.
pub struct IdSet {
    chunks: Box<[OnceLock<Box<[AtomicU64]>>]>,
}

impl IdSet {
    pub fn new() -> IdSet {
        IdSet { chunks: (0..CHUNKS).map(|_| OnceLock::new()).collect() }
    }

    fn chunk(&self, index: usize) -> &[AtomicU64] {
        self.chunks[index].get_or_init(|| (0..CHUNK_WORDS).map(|_| AtomicU64::new(0)).collect())
    }

    /// Adds `id`; true if it was there already.
    pub fn insert(&self, id: u64) -> bool {
        let chunk = (id / CHUNK_BITS) as usize;
        assert!(chunk < CHUNKS, "request id {id} beyond the soak's bitmap");
        let bit = id % CHUNK_BITS;
        let mask = 1u64 << (bit % 64);
        self.chunk(chunk)[(bit / 64) as usize].fetch_or(mask, Relaxed) & mask != 0
    }

    /// (ids in `self` but not in `other`, ids in `other` but not in `self`).
    pub fn differences(&self, other: &IdSet) -> (u64, u64) {
        let (mut only_self, mut only_other) = (0, 0);
        for (a, b) in self.chunks.iter().zip(other.chunks.iter()) {
            let words = |c: &OnceLock<Box<[AtomicU64]>>, i: usize| c.get().map_or(0, |w| w[i].load(Relaxed));
            if a.get().is_none() && b.get().is_none() {
                continue;
            }
            for i in 0..CHUNK_WORDS {
                let (x, y) = (words(a, i), words(b, i));
                only_self += (x & !y).count_ones() as u64;
                only_other += (y & !x).count_ones() as u64;
            }
        }
        (only_self, only_other)
    }
}

/// Statuses a callback may report, by `hamux_status` value (0..=11), plus one slot for
/// "HAMUX_OK with a reply that is not Kea's success".
pub const BAD_REPLY: usize = 12;
const SLOTS: usize = 13;

/// What the soak's callbacks and sends recorded.
pub struct Tally {
    pub accepted: IdSet,
    pub called_back: IdSet,
    /// Callbacks by status slot.
    outcomes: [AtomicU64; SLOTS],
    pub sent: AtomicU64,
    pub duplicated: AtomicU64,
    /// Sends `hamux_client_send` refused (no callback is due for them).
    pub refused: AtomicU64,
}

impl Tally {
    pub fn new() -> Tally {
        Tally {
            accepted: IdSet::new(),
            called_back: IdSet::new(),
            outcomes: Default::default(),
            sent: AtomicU64::new(0),
            duplicated: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// `hamux_client_send` accepted request `txid` (its callback may already have run).
    pub fn on_sent(&self, txid: u64) {
        self.sent.fetch_add(1, Relaxed);
        if self.accepted.insert(txid) {
            // Two accepted sends with one txid: as bad as a doubled callback.
            self.duplicated.fetch_add(1, Relaxed);
        }
    }

    /// A callback ran for `txid`; `good` is false for HAMUX_OK with a non-success reply.
    pub fn on_callback(&self, txid: u64, status: hamux_status, good: bool) {
        if self.called_back.insert(txid) {
            self.duplicated.fetch_add(1, Relaxed);
            return;
        }
        let slot = if status == hamux_status::Ok && !good { BAD_REPLY } else { status as usize };
        self.outcomes[slot.min(SLOTS - 1)].fetch_add(1, Relaxed);
    }

    pub fn outcome(&self, slot: usize) -> u64 {
        self.outcomes[slot].load(Relaxed)
    }

    pub fn ok(&self) -> u64 {
        self.outcome(hamux_status::Ok as usize)
    }

    /// Callbacks that were not a good reply.
    pub fn errors(&self) -> u64 {
        (1..SLOTS).map(|s| self.outcome(s)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_missing_ids_are_counted() {
        let t = Tally::new();
        for id in [1u64, 2, 3, CHUNK_BITS + 5] {
            t.on_sent(id);
        }
        t.on_callback(1, hamux_status::Ok, true);
        t.on_callback(3, hamux_status::Connect, true);
        t.on_callback(3, hamux_status::Ok, true);
        t.on_callback(CHUNK_BITS + 5, hamux_status::Ok, false);
        t.on_callback(9, hamux_status::Ok, true);
        assert_eq!(t.duplicated.load(Relaxed), 1);
        assert_eq!((t.ok(), t.errors(), t.outcome(BAD_REPLY)), (2, 2, 1));
        // 2 never called back; 9 called back but never accepted.
        assert_eq!(t.accepted.differences(&t.called_back), (1, 1));
    }
}
