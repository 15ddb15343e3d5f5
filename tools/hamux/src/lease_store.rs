//! The work every benchmark server does per request, whatever carries it: parse the
//! `lease4-update` ([`crate::lease::parse`]), store the lease in a sharded in-memory map
//! and answer like Kea. The hamux listener's handler ([`crate::handler`]) and the
//! run-to-completion loop ([`crate::baseline`]) both use it, so the two differ in the
//! transport alone.

use crate::lease::{self, LeaseUpdate};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// Kea's answer to an update of a lease it had.
pub const UPDATED: &[u8] = b"[ { \"result\": 0, \"text\": \"IPv4 lease updated.\" } ]";
/// Kea's answer to an update that created the lease.
pub const ADDED: &[u8] = b"[ { \"result\": 0, \"text\": \"IPv4 lease added.\" } ]";

/// A stored lease (what Kea's memfile keeps, roughly).
#[allow(dead_code)] // stored for realism; only counted
struct Lease {
    hw: [u8; 6],
    client_id: String,
    subnet_id: u32,
    valid_lft: u32,
    expire: i64,
    hostname: String,
    fqdn_fwd: bool,
    fqdn_rev: bool,
    state: u32,
}

/// Multiplicative hashing of IPv4 addresses (a u32 key needs no SipHash).
#[derive(Default)]
struct IpHasher(u64);

impl Hasher for IpHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u32(b as u32 ^ (self.0 as u32).rotate_left(8));
        }
    }
    fn write_u32(&mut self, n: u32) {
        let h = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 29);
    }
}

const SHARDS: usize = 64;

#[repr(align(64))]
struct Shard(Mutex<HashMap<u32, Lease, BuildHasherDefault<IpHasher>>>);

/// What a request came to: the answer to send, and the lease's address when it was one.
pub enum Answer {
    Stored {
        ip: u32,
        answer: &'static [u8],
    },
    /// Not a valid `lease4-update`: Kea's error answer (result 1).
    Refused(String),
}

/// Leases by address, in 64 independently locked shards, and a count of refused commands.
pub struct LeaseStore {
    shards: Box<[Shard]>,
    /// Commands that were not valid `lease4-update`s (answered with result 1).
    pub bad_commands: AtomicU64,
}

impl LeaseStore {
    pub fn new() -> LeaseStore {
        let per_shard = (crate::subnet::POOL as usize).div_ceil(SHARDS);
        let shards = (0..SHARDS)
            .map(|_| Shard(Mutex::new(HashMap::with_capacity_and_hasher(per_shard, Default::default()))))
            .collect();
        LeaseStore { shards, bad_commands: AtomicU64::new(0) }
    }

    /// The whole per-request work: parse `body`, store its lease, choose the answer.
    pub fn apply(&self, body: &[u8]) -> Answer {
        match lease::parse(body) {
            Ok(lease) => {
                let answer = if self.upsert(&lease) { ADDED } else { UPDATED };
                Answer::Stored { ip: lease.ip, answer }
            }
            Err(text) => {
                self.bad_commands.fetch_add(1, Relaxed);
                Answer::Refused(serde_json::json!([{ "result": 1, "text": text }]).to_string())
            }
        }
    }

    fn shard(&self, ip: u32) -> &Shard {
        &self.shards[(ip.wrapping_mul(0x9e37_79b9) >> 26) as usize % SHARDS]
    }

    /// Inserts or updates; true when the lease is new. An update reuses the strings.
    fn upsert(&self, u: &LeaseUpdate<'_>) -> bool {
        let mut map = self.shard(u.ip).0.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(&u.ip) {
            Some(l) => {
                l.hw = u.hw;
                l.client_id.clear();
                l.client_id.push_str(&u.client_id);
                l.hostname.clear();
                l.hostname.push_str(&u.hostname);
                (l.subnet_id, l.valid_lft, l.expire) = (u.subnet_id, u.valid_lft, u.expire);
                (l.fqdn_fwd, l.fqdn_rev, l.state) = (u.fqdn_fwd, u.fqdn_rev, u.state);
                false
            }
            None => {
                let lease = Lease {
                    hw: u.hw,
                    client_id: u.client_id.to_string(),
                    subnet_id: u.subnet_id,
                    valid_lft: u.valid_lft,
                    expire: u.expire,
                    hostname: u.hostname.to_string(),
                    fqdn_fwd: u.fqdn_fwd,
                    fqdn_rev: u.fqdn_rev,
                    state: u.state,
                };
                map.insert(u.ip, lease);
                true
            }
        }
    }

    /// Leases stored.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.0.lock().unwrap_or_else(|p| p.into_inner()).len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::Body;

    #[test]
    fn adds_then_updates_and_counts_refusals() {
        let store = LeaseStore::new();
        let mut body = Body::new(350, &crate::subnet::Subnet::DEFAULT).unwrap();
        body.set_lease(7);
        assert!(matches!(store.apply(body.bytes()), Answer::Stored { answer: ADDED, .. }));
        assert!(matches!(store.apply(body.bytes()), Answer::Stored { answer: UPDATED, .. }));
        body.set_lease(8);
        assert!(matches!(store.apply(body.bytes()), Answer::Stored { answer: ADDED, .. }));
        let Answer::Refused(text) = store.apply(b"{\"command\":\"list-commands\"}") else { panic!() };
        assert!(text.starts_with("[{\"result\":1,"), "{text}");
        assert_eq!((store.len(), store.bad_commands.load(Relaxed)), (2, 1));
    }
}
