//! A reader's fetching ahead of the replies it is about to handle.
//!
//! At many peers a connection's transactions are cold, and what handling a reply touches
//! is a chain of three misses: the txid's index entry names the slot, the slot holds the
//! host's context (its `user_data`). A read brings dozens of replies, so their misses can
//! overlap; and they overlap with work, not only with each other, when each stage is
//! asked for a group of replies ahead of the one after it. The replies buffered are cut
//! into groups of [`GROUP`] frames, and at each group's start the ones behind it move a
//! stage on:
//!
//! | group (0: handled next) | 0 | 1 | 2 | 3 |
//! |---|---|---|---|---|
//! | fetched by now | context | context | slot | index entry |
//!
//! so a group's index entries arrive while two groups are handled, and its slots and
//! contexts while one more is. Replies that a read has just brought (nothing of them
//! fetched yet) go through the stages they lack at once, each stage for all of them
//! before the next: their misses then come in three waves, not one after the other.

use super::transaction::lock;
use super::txn_table::{TxnTable, NO_SLOT};
use crate::codec::{self, FrameType};
use std::collections::VecDeque;
use std::sync::Mutex;

/// Frames a group holds.
const GROUP: usize = 8;

/// Groups fetched ahead of the frame handled next, counting its own.
const GROUPS: usize = 4;

/// How far a group's fetching went, in order.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Stage {
    Walked,
    Entries,
    Slots,
    Contexts,
}

/// How far the group `position` groups ahead should be fetched.
fn wanted(position: usize) -> Stage {
    match position {
        0 | 1 => Stage::Contexts,
        2 => Stage::Slots,
        _ => Stage::Entries,
    }
}

struct Group {
    /// The txids of the group's replies (its other frames have none).
    txids: [u64; GROUP],
    replies: usize,
    /// Their slots, from the slots stage on.
    slots: [u32; GROUP],
    /// Frames of the group not handled yet.
    frames: usize,
    /// Frames the group was walked with.
    walked_frames: usize,
    /// The bytes the group's frames take.
    bytes: usize,
    stage: Stage,
}

impl Group {
    /// The complete frames at the start of `buffered`, up to [`GROUP`] of them; None if
    /// there is none.
    fn walk(buffered: &[u8], max_frame: usize) -> Option<Group> {
        let mut group = Group {
            txids: [0; GROUP],
            replies: 0,
            slots: [NO_SLOT; GROUP],
            frames: 0,
            walked_frames: 0,
            bytes: 0,
            stage: Stage::Walked,
        };
        while group.frames < GROUP {
            let Some(rest) = buffered.get(group.bytes..) else { break };
            let Ok(Some((frame, used))) = codec::decode_frame(rest, max_frame) else { break };
            if frame.frame_type == FrameType::Response {
                group.txids[group.replies] = frame.txid;
                group.replies += 1;
            }
            group.frames += 1;
            group.bytes += used;
        }
        group.walked_frames = group.frames;
        (group.frames > 0).then_some(group)
    }

    fn fetch(&mut self, stage: Stage, table: &TxnTable) {
        let txids = &self.txids[..self.replies];
        match stage {
            Stage::Walked => {}
            Stage::Entries => table.prefetch_entries(txids),
            Stage::Slots => table.prefetch_slots(txids, &mut self.slots[..self.replies]),
            Stage::Contexts => table.prefetch_contexts(&self.slots[..self.replies]),
        }
        self.stage = stage;
    }
}

/// The groups of frames read and not handled yet that are being fetched, in order.
#[derive(Default)]
pub(super) struct ReplyLookahead {
    groups: VecDeque<Group>,
    /// The bytes the groups take, from the next frame to decode on.
    walked: usize,
}

impl ReplyLookahead {
    /// Called before each frame is decoded, with the bytes not decoded yet: at a group's
    /// start, walks the frames behind the groups held and moves every group a stage on.
    pub(super) fn before_decode(&mut self, buffered: &[u8], max_frame: usize, table: &Mutex<TxnTable>) {
        match self.groups.front() {
            Some(group) if group.frames > 0 => return,
            Some(group) => {
                self.walked = self.walked.saturating_sub(group.bytes);
                self.groups.pop_front();
            }
            None => {}
        }
        while self.groups.len() < GROUPS {
            let Some(group) = buffered.get(self.walked..).and_then(|rest| Group::walk(rest, max_frame))
            else {
                break;
            };
            self.walked += group.bytes;
            self.groups.push_back(group);
        }
        if self.groups.iter().all(|group| group.replies == 0) {
            return;
        }
        let table = lock(table);
        for stage in [Stage::Entries, Stage::Slots, Stage::Contexts] {
            for (position, group) in self.groups.iter_mut().enumerate() {
                if group.stage < stage && stage <= wanted(position) {
                    group.fetch(stage, &table);
                }
            }
        }
    }

    /// A frame was decoded (of any type but Hello).
    pub(super) fn handled_one(&mut self) {
        if let Some(group) = self.groups.front_mut() {
            group.frames = group.frames.saturating_sub(1);
        }
    }

    /// Forgets every group: the bytes they were walked from are no longer where they
    /// were (a Hello was decoded, which the walk does not count).
    pub(super) fn reset(&mut self) {
        self.groups.clear();
        self.walked = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_frame;

    const MAX: usize = 1 << 20;

    impl ReplyLookahead {
        /// Whether the next frame to decode starts the front group (a group's start).
        fn at_group_start(&self) -> bool {
            self.groups.front().is_some_and(|g| g.frames == g.walked_frames)
        }
    }

    /// The txids of the responses among the complete frames at the start of `buffered`.
    fn replies_in(mut buffered: &[u8]) -> Vec<u64> {
        let mut txids = Vec::new();
        while let Ok(Some((frame, used))) = codec::decode_frame(buffered, MAX) {
            if frame.frame_type == FrameType::Response {
                txids.push(frame.txid);
            }
            buffered = &buffered[used..];
        }
        txids
    }

    #[test]
    fn groups_hold_the_next_frames_through_reads_that_cut_frames_and_each_is_fetched_far_enough() {
        let table = Mutex::new(TxnTable::default());
        let mut wire = Vec::new();
        let mut sent = Vec::new();
        for i in 0..300u64 {
            if i % 7 == 3 {
                encode_frame(&mut wire, FrameType::Ping, 0, b"");
            } else {
                let body = vec![b' '; (i % 50) as usize];
                encode_frame(&mut wire, FrameType::Response, 1000 + i, &body);
                sent.push(1000 + i);
            }
        }
        let (mut buf, mut at, mut handled, mut starts) = (Vec::new(), 0, Vec::new(), 0);
        let mut lookahead = ReplyLookahead::default();
        // Reads of an odd size cut frames anywhere; what was decoded goes before each.
        for read in wire.chunks(301) {
            buf.drain(..at);
            at = 0;
            buf.extend_from_slice(read);
            loop {
                lookahead.before_decode(&buf[at..], MAX, &table);
                if lookahead.at_group_start() {
                    starts += 1;
                    let held: Vec<u64> =
                        lookahead.groups.iter().flat_map(|g| g.txids[..g.replies].iter().copied()).collect();
                    let walked: usize = lookahead.groups.iter().map(|g| g.bytes).sum();
                    assert_eq!(walked, lookahead.walked);
                    assert_eq!(held, replies_in(&buf[at..at + walked]));
                    assert!(lookahead.groups.len() <= GROUPS);
                    for (position, group) in lookahead.groups.iter().enumerate() {
                        assert!(group.replies == 0 || group.stage >= wanted(position), "group {position}");
                    }
                }
                let Some((frame, used)) = codec::decode_frame(&buf[at..], MAX).unwrap() else { break };
                if frame.frame_type == FrameType::Response {
                    handled.push(frame.txid);
                }
                at += used;
                lookahead.handled_one();
            }
        }
        assert_eq!(handled, sent);
        assert!(starts >= 300 / GROUP, "{starts} group starts");
    }
}
