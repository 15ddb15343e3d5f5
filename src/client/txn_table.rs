//! The transactions a connection has on the wire, found by txid when their replies come.
//!
//! At 64 peers with 512 requests each in flight, 32,768 transactions wait in 128 tables,
//! megabytes no cache holds, and every reply finds its transaction cold. A table is built
//! for as few misses as a lookup can have, and for fetching them ahead ([`prefetch_entries`]
//! and the stages after it, [`insert_all`]):
//! - the transactions lie in a slab, each in a slot of one cache line (a [`Txn`] is 64
//!   bytes, aligned to 64); a freed slot is the next one taken, and is written without
//!   being read;
//! - they are found through a dense index of 8 bytes an entry (a txid's hash and its
//!   slot), open addressing with linear probing, at most half full: 4 KiB for 256 in
//!   flight, 16 times less than the transactions;
//! - a removal shifts the index entries after it back instead of leaving tombstones, so
//!   a long-lived connection's probes stay as short as a fresh one's, and it moves only
//!   index entries, never a transaction.
//!
//! `std`'s map kept its control bytes dense too, but its slots were 88 bytes (two lines)
//! at a place picked by the hash, and could not be fetched ahead.
//!
//! [`prefetch_entries`]: TxnTable::prefetch_entries
//! [`insert_all`]: TxnTable::insert_all

use super::tick::Tick;
use super::transaction::Txn;
use crate::prefetch::prefetch;
use std::collections::VecDeque;
use std::time::Instant;

const _: () = assert!(std::mem::size_of::<Option<Txn>>() == 64 && std::mem::align_of::<Option<Txn>>() == 64);

/// What [`TxnTable::prefetch_slots`] gives for a txid it does not hold.
pub(crate) const NO_SLOT: u32 = u32::MAX;

/// Index entries a table starts with at its first insert (an idle connection's table has
/// none).
const FIRST_ENTRIES: usize = 16;

/// An index entry: the txid's hash (whose low bits are where its probe starts) and the
/// slab slot of its transaction, [`EMPTY`] for none.
#[derive(Clone, Copy)]
struct Entry {
    hash: u32,
    slot: u32,
}

const EMPTY: Entry = Entry { hash: 0, slot: u32::MAX };

/// Transactions written on one connection and not yet answered, with their deadlines in
/// send order (one request timeout per peer, so deadlines arrive already sorted).
#[derive(Default)]
pub(crate) struct TxnTable {
    /// A power of two long (or empty), never more than half full: a probe always ends at
    /// an empty entry.
    index: Vec<Entry>,
    slab: Vec<Option<Txn>>,
    /// Free slab slots, the last freed on top.
    free: Vec<u32>,
    len: usize,
    deadlines: VecDeque<(Tick, u64)>,
}

/// Txids are sequential per sending thread, so a multiplication by the golden ratio
/// (Fibonacci hashing) spreads them evenly; its high half is the hash.
fn hash(txid: u64) -> u32 {
    (txid.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as u32
}

impl TxnTable {
    /// Adds `txn`; returns a transaction it displaced (none: txids are unique), for the
    /// caller to complete once its lock is gone.
    #[must_use]
    pub(crate) fn insert(&mut self, txn: Txn) -> Option<Txn> {
        let txid = txn.txid;
        self.deadlines.push_back((txn.deadline_tick(), txid));
        if (self.len + 1) * 2 > self.index.len() {
            self.grow();
        }
        let at = match self.probe(txid) {
            Ok(held) => return self.slab[self.index[held].slot as usize].replace(txn),
            Err(empty) => empty,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                let place = &mut self.slab[slot as usize];
                debug_assert!(place.is_none(), "a free slab slot held a transaction");
                // A plain assignment would read the slot first to drop what it held, and
                // a slot freed long ago is cold: a miss to learn it holds nothing.
                // SAFETY: `place` is a valid, aligned, initialised place; a free slot holds
                // `None`, which has nothing to drop, so overwriting it loses nothing.
                unsafe { std::ptr::write(place, Some(txn)) };
                slot
            }
            None => {
                self.slab.push(Some(txn));
                (self.slab.len() - 1) as u32
            }
        };
        self.index[at] = Entry { hash: hash(txid), slot };
        self.len += 1;
        None
    }

    /// [`insert`](Self::insert)s every transaction of `txns` (a batch the writer is about
    /// to write), emptying it; returns those displaced. The index entries and slab slots
    /// the batch will take are fetched into cache all at once first, so that their misses
    /// overlap instead of coming one after the other.
    #[must_use]
    pub(crate) fn insert_all(&mut self, txns: &mut Vec<Txn>) -> Vec<Txn> {
        // A batch of untracked bytes only (a Ping, a Pong) has none, and a table that
        // never held one has no index to fetch from.
        if txns.is_empty() {
            return Vec::new();
        }
        // Room for the whole batch first: a growth would move what was fetched.
        while (self.len + txns.len()) * 2 > self.index.len() {
            self.grow();
        }
        let mask = self.index.len() - 1;
        for txn in txns.iter() {
            prefetch(&self.index[hash(txn.txid) as usize & mask]);
        }
        for &slot in self.free.iter().rev().take(txns.len()) {
            prefetch(&self.slab[slot as usize]);
        }
        txns.drain(..).filter_map(|txn| self.insert(txn)).collect()
    }

    /// The first stage of fetching ahead what handling the replies `txids` will touch
    /// (see `ReplyLookahead`): their index entries.
    pub(crate) fn prefetch_entries(&self, txids: &[u64]) {
        let Some(mask) = self.index.len().checked_sub(1) else { return };
        for &txid in txids {
            prefetch(&self.index[hash(txid) as usize & mask]);
        }
    }

    /// The second stage, once the index entries are in: the slots they name, written to
    /// `slots` ([`NO_SLOT`] for a txid the table does not hold) for the third.
    pub(crate) fn prefetch_slots(&self, txids: &[u64], slots: &mut [u32]) {
        for (slot, &txid) in slots.iter_mut().zip(txids) {
            *slot = match self.len {
                0 => NO_SLOT,
                _ => self.slot_by_hash(hash(txid)).map_or(NO_SLOT, |at| at as u32),
            };
            if let Some(txn) = self.slab.get(*slot as usize) {
                prefetch(txn);
            }
        }
    }

    /// The third stage, once the slots are in: what each completion reads first (the
    /// host's context). `slots` are hints from [`prefetch_slots`](Self::prefetch_slots):
    /// one freed or taken since only makes a wasted fetch.
    pub(crate) fn prefetch_contexts(&self, slots: &[u32]) {
        for txn in slots.iter().filter_map(|&at| self.slab.get(at as usize)?.as_ref()) {
            txn.prefetch_context();
        }
    }

    /// The slot of the first entry of `h`'s probe with that hash (a hint: another txid
    /// may share the hash).
    fn slot_by_hash(&self, h: u32) -> Option<usize> {
        let mask = self.index.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let entry = self.index[i];
            if entry.slot == EMPTY.slot {
                return None;
            }
            if entry.hash == h {
                return Some(entry.slot as usize);
            }
            i = (i + 1) & mask;
        }
    }

    /// Puts `entry` in the first empty index entry of its probe.
    fn place(&mut self, entry: Entry) {
        let mask = self.index.len() - 1;
        let mut i = entry.hash as usize & mask;
        while self.index[i].slot != EMPTY.slot {
            i = (i + 1) & mask;
        }
        self.index[i] = entry;
    }

    fn grow(&mut self) {
        let entries = (self.index.len() * 2).max(FIRST_ENTRIES);
        let old = std::mem::replace(&mut self.index, vec![EMPTY; entries]);
        for entry in old.into_iter().filter(|e| e.slot != EMPTY.slot) {
            self.place(entry);
        }
    }

    /// The index entry of `txid`, if the table holds it.
    fn find(&self, txid: u64) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        self.probe(txid).ok()
    }

    /// Where `txid`'s probe ends (the index must not be empty): `Ok` at its entry, `Err`
    /// at the empty entry where it would go.
    fn probe(&self, txid: u64) -> Result<usize, usize> {
        let (h, mask) = (hash(txid), self.index.len() - 1);
        let mut i = h as usize & mask;
        loop {
            let entry = self.index[i];
            if entry.slot == EMPTY.slot {
                return Err(i);
            }
            if entry.hash == h && self.slab[entry.slot as usize].as_ref().is_some_and(|t| t.txid == txid) {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    pub(crate) fn remove(&mut self, txid: u64) -> Option<Txn> {
        let mut hole = self.find(txid)?;
        let slot = self.index[hole].slot;
        self.index[hole] = EMPTY;
        self.free.push(slot);
        self.len -= 1;
        // Backward shift: each entry after the hole, up to the next empty one, moves into
        // the hole if its probe passes there (starts at or before it, cyclically).
        let mask = self.index.len() - 1;
        let mut next = hole;
        loop {
            next = (next + 1) & mask;
            let entry = self.index[next];
            if entry.slot == EMPTY.slot {
                break;
            }
            let from_home = next.wrapping_sub(entry.hash as usize) & mask;
            if from_home >= next.wrapping_sub(hole) & mask {
                self.index[hole] = entry;
                self.index[next] = EMPTY;
                hole = next;
            }
        }
        self.slab[slot as usize].take()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Removes the transactions whose deadline is at or before `now` into `expired`.
    pub(crate) fn expire(&mut self, now: Instant, expired: &mut Vec<Txn>) {
        let now = Tick::of(now);
        while let Some(&(deadline, txid)) = self.deadlines.front() {
            if deadline <= now {
                self.deadlines.pop_front();
                expired.extend(self.remove(txid));
            } else if self.find(txid).is_none() {
                self.deadlines.pop_front();
            } else {
                break;
            }
        }
        // Answered transactions behind a slow one stay in the deadline queue until it
        // goes; compact when they dominate so memory stays proportional to what is live.
        if self.deadlines.len() > 2 * self.len() + 1024 {
            let mut deadlines = std::mem::take(&mut self.deadlines);
            deadlines.retain(|&(_, txid)| self.find(txid).is_some());
            self.deadlines = deadlines;
        }
    }

    /// Empties the table (the connection is gone).
    pub(crate) fn drain_all(&mut self) -> Vec<Txn> {
        self.deadlines.clear();
        self.index.fill(EMPTY);
        self.free.clear();
        self.len = 0;
        std::mem::take(&mut self.slab).into_iter().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::stats::PeerCounters;
    use super::super::transaction::tests::{recorder, Log};
    use super::super::transaction::Completion;
    use super::*;
    use crate::Status;
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::Duration;

    /// An empty table, and transactions for it that complete into `log`.
    struct Fixture {
        log: Log,
        make: Box<dyn Fn() -> Completion>,
        counters: Arc<PeerCounters>,
        /// When every transaction starts (taken once ticks have their origin: an instant
        /// before it would be the origin).
        t0: Instant,
        table: TxnTable,
    }

    impl Fixture {
        fn new() -> Fixture {
            let (log, make) = recorder();
            Tick::start();
            let (counters, t0) = (Arc::new(PeerCounters::default()), Instant::now());
            Fixture { log, make: Box::new(make), counters, t0, table: TxnTable::default() }
        }

        fn txn(&self, txid: u64, timeout: Duration) -> Txn {
            Txn::new(txid, self.t0, timeout, (self.make)(), self.counters.clone())
        }
    }

    #[test]
    fn a_batch_without_transactions_leaves_a_new_table_as_it_was_and_a_batch_with_some_is_held() {
        let mut f = Fixture::new();
        // A fresh connection's first write can carry a Ping alone: no transaction, and no
        // index yet.
        assert!(f.table.insert_all(&mut Vec::new()).is_empty());
        assert_eq!((f.table.len(), f.table.index.len()), (0, 0));
        let mut batch: Vec<Txn> = (1..=40u64).map(|id| f.txn(id, Duration::from_secs(1))).collect();
        assert!(f.table.insert_all(&mut batch).is_empty());
        assert!(batch.is_empty());
        assert_eq!(f.table.len(), 40);
        assert!((1..=40u64).all(|id| f.table.find(id).is_some()));
        for txn in f.table.drain_all() {
            txn.complete(Status::Ok, b"");
        }
    }

    #[test]
    fn table_expires_in_deadline_order() {
        let mut f = Fixture::new();
        for id in 1..=20u64 {
            assert!(f.table.insert(f.txn(id, Duration::from_millis(id))).is_none());
        }
        for id in (2..=20u64).step_by(2) {
            f.table.remove(id).unwrap().complete(Status::Ok, b"");
        }
        let mut expired = Vec::new();
        f.table.expire(f.t0 + Duration::from_millis(10), &mut expired);
        let ids: Vec<u64> = expired.iter().map(|t| t.txid).collect();
        assert_eq!(ids, vec![1, 3, 5, 7, 9]);
        assert_eq!(f.table.len(), 5);
        drop(expired);
        drop(f.table.drain_all());
        assert_eq!(f.log.lock().unwrap().len(), 20);
        assert_eq!(f.counters.completed(Status::Cancelled), 10);
    }

    #[test]
    fn answered_entries_behind_a_slow_one_are_compacted() {
        let mut f = Fixture::new();
        assert!(f.table.insert(f.txn(1, Duration::from_secs(60))).is_none());
        for id in 2..=5000u64 {
            assert!(f.table.insert(f.txn(id, Duration::from_secs(60))).is_none());
            f.table.remove(id).unwrap().complete(Status::Ok, b"");
        }
        let mut expired = Vec::new();
        f.table.expire(f.t0, &mut expired);
        assert!(expired.is_empty());
        assert_eq!((f.table.len(), f.table.deadlines.len()), (1, 1));
    }

    #[test]
    fn the_table_finds_what_a_map_would_through_growth_wrap_around_removals_and_prefetches() {
        let mut f = Fixture::new();
        let mut model: HashMap<u64, ()> = HashMap::new();
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut step = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        // Txids from a few sequential runs, as sending threads' blocks are; long runs of
        // neighbours make clusters that wrap past the table's end and shift on removal.
        let mut next_id = [1u64, 1 << 20, 1 << 40];
        for round in 0..20_000 {
            let r = step();
            if r % 3 != 0 || model.is_empty() {
                let run = (r >> 8) as usize % next_id.len();
                let txid = next_id[run];
                next_id[run] += 1;
                assert!(f.table.insert(f.txn(txid, Duration::ZERO)).is_none());
                model.insert(txid, ());
            } else {
                let victim = *model.keys().nth((r >> 8) as usize % model.len()).unwrap();
                model.remove(&victim);
                let txn = f.table.remove(victim).expect("a txid the table holds");
                assert_eq!(txn.txid, victim);
                txn.complete(Status::Ok, b"");
                assert!(f.table.remove(victim).is_none(), "round {round}: {victim} removed twice");
            }
            // A reader's prefetch, of txids held and not, changes nothing.
            let ahead = [r, r >> 8, next_id[0] - 1, next_id[1]];
            let mut slots = [0; 4];
            f.table.prefetch_entries(&ahead);
            f.table.prefetch_slots(&ahead, &mut slots);
            f.table.prefetch_contexts(&slots);
            for (txid, slot) in ahead.iter().zip(slots) {
                assert_eq!(slot != NO_SLOT, model.contains_key(txid), "round {round}: slot of {txid}");
            }
            assert_eq!(f.table.len(), model.len());
            if round % 997 == 0 {
                for &txid in model.keys() {
                    assert!(f.table.find(txid).is_some(), "round {round}: {txid} lost");
                }
            }
        }
        let mut left: Vec<u64> = f.table.drain_all().iter().map(|t| t.txid).collect();
        left.sort_unstable();
        let mut want: Vec<u64> = model.keys().copied().collect();
        want.sort_unstable();
        assert_eq!(left, want);
        assert_eq!(f.table.len(), 0);
        let completed = f.counters.completed(Status::Ok) + f.counters.completed(Status::Cancelled);
        assert_eq!(completed as usize, f.log.lock().unwrap().len());
    }
}
