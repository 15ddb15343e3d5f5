//! Transaction ids: unique per client, handed to each thread in blocks, so that a send
//! does not increment a counter every sending thread writes (an atomic whose cache line
//! moved between the cores on every request).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Ids a thread takes at a time: small enough that a client used by many short-lived
/// threads cannot run out (2^64 / 256 blocks).
const BLOCK: u64 = 256;

#[derive(Clone, Copy)]
struct Block {
    client: u64,
    next: u64,
    end: u64,
}

/// Clients a thread keeps a block for at once, whatever their ids: a host that sends with
/// up to this many clients from one thread in turn keeps each one's ids in order.
const CLIENTS: usize = 4;

const NONE: Block = Block { client: 0, next: 0, end: 0 };

thread_local! {
    static BLOCKS_OF_THIS_THREAD: [Cell<Block>; CLIENTS] = const { [const { Cell::new(NONE) }; CLIENTS] };
    /// The slot a client without one takes next (round robin).
    static NEXT_SLOT: Cell<usize> = const { Cell::new(0) };
}

/// The next id of client `client` (its [`id`](super::Client)), whose blocks come from
/// `source` (starting at 1: 0 is the connection-level txid of the wire protocol).
pub(super) fn next(client: u64, source: &AtomicU64) -> u64 {
    BLOCKS_OF_THIS_THREAD.with(|blocks| {
        let cell = match blocks.iter().find(|b| b.get().client == client) {
            Some(cell) => cell,
            None => {
                let slot = NEXT_SLOT.get();
                NEXT_SLOT.set((slot + 1) % CLIENTS);
                &blocks[slot]
            }
        };
        let mut block = cell.get();
        if block.client != client || block.next == block.end {
            let first = source.fetch_add(BLOCK, Ordering::Relaxed);
            block = Block { client, next: first, end: first + BLOCK };
        }
        let txid = block.next;
        block.next += 1;
        cell.set(block);
        txid
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn clients_used_in_turn_on_one_thread_each_count_from_one() {
        let (a, b) = (AtomicU64::new(1), AtomicU64::new(1));
        // Ids far from other tests' (the caches are per thread, tests share none).
        // Ids equal modulo the slots: a slot per id value would have them take turns.
        let (ca, cb) = (u64::MAX - 8, u64::MAX - 8 - CLIENTS as u64);
        let got: Vec<(u64, u64)> = (0..600).map(|_| (next(ca, &a), next(cb, &b))).collect();
        let want: Vec<(u64, u64)> = (1..=600).map(|i| (i, i)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn ids_are_unique_over_threads_and_never_zero() {
        let source = std::sync::Arc::new(AtomicU64::new(1));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let source = source.clone();
                std::thread::spawn(move || (0..1000).map(|_| next(u64::MAX - 1, &source)).collect::<Vec<_>>())
            })
            .collect();
        let mut seen = HashSet::new();
        for t in threads {
            for id in t.join().unwrap() {
                assert!(id != 0 && seen.insert(id), "id {id} twice or zero");
            }
        }
        assert_eq!(seen.len(), 4000);
    }
}
