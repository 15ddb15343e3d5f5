//! Each thread's recently used peers, so that a send finds its peer without the client's
//! map lock and without touching the peer's reference count. Both are atomics that every
//! sending thread writes: with two IO threads sending, their cache lines moved between the
//! cores on every request (in a profile, about 40 % of `Client::send`'s own time).

use super::peer::Peer;
use std::cell::Cell;

/// Direct-mapped by the URL's hash; a Kea server has a handful of peers, a hub 64.
const WAYS: usize = 64;

#[derive(Clone, Copy)]
struct Entry {
    /// The client's [`id`](super::Client) (0: empty).
    client: u64,
    hash: u64,
    peer: *const Peer,
}

const EMPTY: Entry = Entry { client: 0, hash: 0, peer: std::ptr::null() };

thread_local! {
    static ENTRIES: [Cell<Entry>; WAYS] = const { [const { Cell::new(EMPTY) }; WAYS] };
}

/// Where `client`'s peer of URL hash `hash` goes: one URL used with two clients takes two
/// ways.
fn way(client: u64, hash: u64) -> usize {
    ((hash ^ client.wrapping_mul(0x9e37_79b9_7f4a_7c15)) % WAYS as u64) as usize
}

/// The peer this thread remembered for `url` of client `client`, if any.
///
/// # Safety
/// Every peer [`remember`]ed for `client` must stay alive and unmoved for `'a`: the
/// client owns it (an `Arc` in its map, never removed) and outlives `'a`, and client ids
/// are never reused.
pub(super) unsafe fn find<'a>(client: u64, hash: u64, url: &str) -> Option<&'a Peer> {
    let entry = ENTRIES.with(|e| e[way(client, hash)].get());
    if entry.client != client || entry.hash != hash {
        return None;
    }
    // SAFETY: the caller's contract.
    let peer = unsafe { &*entry.peer };
    (peer.key() == url).then_some(peer)
}

/// Remembers `peer` (owned by client `client`) for its URL, whose hash is `hash`.
pub(super) fn remember(client: u64, hash: u64, peer: &Peer) {
    ENTRIES.with(|e| e[way(client, hash)].set(Entry { client, hash, peer }));
}
