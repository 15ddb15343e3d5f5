//! The `parallel-commands` names, looked up once per request with a hash of the name's
//! length and its first and last eight bytes instead of SipHash (which was about 1 % of a
//! pipelined round trip's CPU). The set is fixed once configured, so a name chosen to
//! collide only makes its own lookup probe the configured names: no flooding is possible.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Command names, as configured.
pub(super) struct CommandSet(HashSet<Box<[u8]>, BuildHasherDefault<NameHasher>>);

impl CommandSet {
    pub(super) fn new(names: &[String]) -> CommandSet {
        CommandSet(names.iter().map(|n| n.as_bytes().into()).collect())
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.0.contains(name.as_bytes())
    }
}

/// Hashes one byte string (all `Hash for [u8]` writes: its length, then its bytes).
#[derive(Default)]
struct NameHasher(u64);

const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        let word = |b: Option<&[u8; 8]>| b.map_or(0, |w| u64::from_le_bytes(*w));
        let (head, tail) = match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
            (Some(head), tail) => (word(Some(head)), word(tail)),
            // Shorter than eight bytes.
            (None, _) => {
                let mut short = [0u8; 8];
                short[..bytes.len()].copy_from_slice(bytes);
                (u64::from_le_bytes(short), 0)
            }
        };
        self.0 = (self.0 ^ head).wrapping_mul(K) ^ tail.wrapping_mul(K.rotate_left(17));
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0 ^ n as u64).wrapping_mul(K);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exactly_the_configured_names() {
        let names: Vec<String> =
            crate::listener::config::HA_PARALLEL_COMMANDS.iter().map(|c| c.to_string()).collect();
        let set = CommandSet::new(&names);
        for name in &names {
            assert!(set.contains(name), "{name}");
        }
        // One byte off, longer, a prefix, empty; and one that hashes as `lease4-bulk-apply`
        // does (same length, first and last eight bytes): none is in the set.
        for other in ["lease4-updatf", "lease4-xpdate", "lease4-update ", "lease4", "", "lease4-bxlk-apply"] {
            assert!(!set.contains(other), "{other}");
        }
        let hash = |name: &str| {
            std::hash::BuildHasher::hash_one(&BuildHasherDefault::<NameHasher>::default(), name.as_bytes())
        };
        assert_eq!(hash("lease4-bulk-apply"), hash("lease4-bxlk-apply"));
        assert!(!CommandSet::new(&[]).contains("lease4-update"));
    }
}
