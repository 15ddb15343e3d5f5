//! Each thread's recently used peers, so that a send finds its peer without the client's
//! map lock and without touching the peer's reference count. Both are atomics that every
//! sending thread writes: with two IO threads sending, their cache lines moved between the
//! cores on every request (in a profile, about 40 % of `Client::send`'s own time).

use super::peer::Peer;
use std::cell::Cell;

/// Sets of the cache, each of [`WAYS`] entries; a URL lives in the set its hash picks.
/// Direct-mapped over 64 entries, 64 peers (a hub's) collided for about a third of them,
/// and each send to one of those went back to the map's lock and the peer's reference
/// count. With four ways, 64 peers spread over 64 sets fit but for a set picked by five.
const SETS: usize = 64;
const WAYS: usize = 4;

#[derive(Clone, Copy)]
struct Entry {
    /// The client's [`id`](super::Client) (0: empty).
    client: u64,
    hash: u64,
    peer: *const Peer,
}

const EMPTY: Entry = Entry { client: 0, hash: 0, peer: std::ptr::null() };

thread_local! {
    static ENTRIES: [[Cell<Entry>; WAYS]; SETS] = const { [const { [const { Cell::new(EMPTY) }; WAYS] }; SETS] };
}

/// The set of `client`'s peer of URL hash `hash`: one URL used with two clients may take
/// two sets.
fn set(client: u64, hash: u64) -> usize {
    ((hash ^ client.wrapping_mul(0x9e37_79b9_7f4a_7c15)) % SETS as u64) as usize
}

/// The peer this thread remembered for `url` of client `client`, if any.
///
/// # Safety
/// Every peer [`remember`]ed for `client` must stay alive and unmoved for `'a`: the
/// client owns it (an `Arc` in its map, never removed) and outlives `'a`, and client ids
/// are never reused.
pub(super) unsafe fn find<'a>(client: u64, hash: u64, url: &str) -> Option<&'a Peer> {
    ENTRIES.with(|sets| {
        sets[set(client, hash)].iter().find_map(|way| {
            let entry = way.get();
            if entry.client != client || entry.hash != hash {
                return None;
            }
            // SAFETY: the caller's contract.
            let peer = unsafe { &*entry.peer };
            (peer.key() == url).then_some(peer)
        })
    })
}

/// Remembers `peer` (owned by client `client`) for its URL, whose hash is `hash`: in a
/// free way of its set, else in place of the way its hash's high bits pick.
pub(super) fn remember(client: u64, hash: u64, peer: &Peer) {
    ENTRIES.with(|sets| {
        let ways = &sets[set(client, hash)];
        let way = ways.iter().find(|w| w.get().client == 0).unwrap_or(&ways[(hash >> 62) as usize % WAYS]);
        way.set(Entry { client, hash, peer });
    });
}
