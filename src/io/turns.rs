//! Letting a connection's writer in while its reader works through a long burst.
//!
//! A connection's reader and writer are futures of one task on one IO thread. A reader
//! that decodes everything one read returned before it waits again keeps the writer out
//! for the whole burst: with 512 requests in flight on one connection, the listener
//! answered all 512 (about 1 ms of handler work) before the first answer left, and the
//! client then sent all 512 next requests before the listener had any. The two sides took
//! turns instead of working at once: on this 2-core machine one connection ran at 45 %
//! of a run-to-completion loop that writes what it has every half window.
//! [`WriterTurns`] gives the writer its turn every [`FRAMES_PER_TURN`] messages or
//! [`BYTES_PER_TURN`] bytes of them since it last had one. A read that has to wait for
//! bytes gives it one ([`WriterTurns::read`]); a read that finds bytes waiting returns at
//! once, without a turn for anyone, so the count goes on across it.

use std::future::Future;

/// Messages a reader handles before the writer gets a turn. Small enough that a burst
/// of requests is answered in parts the peer can work on meanwhile; large enough that a
/// part still leaves in one write (a yield is a poll of the task, not a syscall).
pub const FRAMES_PER_TURN: usize = 128;

/// Bytes of messages after which the writer gets a turn, however few they were: a read
/// holds at most about 64 KiB, so larger messages reach [`FRAMES_PER_TURN`] only after
/// many reads.
pub const BYTES_PER_TURN: usize = 64 * 1024;

/// Counts the messages a reader handled and yields to the rest of its task (the writer)
/// every [`FRAMES_PER_TURN`] of them or [`BYTES_PER_TURN`] of their bytes.
#[derive(Default)]
pub struct WriterTurns {
    handled: usize,
    bytes: usize,
}

impl WriterTurns {
    /// Runs `read` (the reader's wait for more bytes): if it had to wait, the task's
    /// other futures ran meanwhile, and the count starts again.
    pub async fn read<F: Future>(&mut self, read: F) -> F::Output {
        let mut read = std::pin::pin!(read);
        let mut waited = false;
        let out = std::future::poll_fn(|cx| {
            let poll = read.as_mut().poll(cx);
            waited |= poll.is_pending();
            poll
        })
        .await;
        if waited {
            self.handled = 0;
            self.bytes = 0;
        }
        out
    }

    /// Counts one message of `len` bytes; when a turn is due, lets the task's other
    /// futures run.
    pub async fn handled_one(&mut self, len: usize) {
        self.handled += 1;
        self.bytes += len;
        if self.handled >= FRAMES_PER_TURN || self.bytes >= BYTES_PER_TURN {
            self.handled = 0;
            self.bytes = 0;
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A reader handling `count` messages of `len` bytes beside another future of the
    /// same task (the reader polled first): how many times the other had run before
    /// each message.
    fn other_runs_before_each(count: usize, len: usize) -> Vec<usize> {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let other_ran = AtomicUsize::new(0);
        rt.block_on(async {
            let reader = async {
                let mut turns = WriterTurns::default();
                let mut seen = Vec::new();
                for _ in 0..count {
                    seen.push(other_ran.load(Ordering::Relaxed));
                    turns.handled_one(len).await;
                }
                seen
            };
            let other = async {
                loop {
                    other_ran.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            };
            tokio::pin!(reader, other);
            tokio::select! {
                biased;
                seen = &mut reader => seen,
                _ = &mut other => unreachable!(),
            }
        })
    }

    #[test]
    fn the_other_future_runs_between_turns() {
        let seen = other_runs_before_each(3 * FRAMES_PER_TURN, 10);
        // The reader goes first (biased); the other runs once per turn, never within one.
        assert_eq!(seen[0], 0);
        assert_eq!(seen[FRAMES_PER_TURN - 1], 0, "the other ran within a turn");
        assert_eq!(seen[FRAMES_PER_TURN], 1, "no turn after {FRAMES_PER_TURN} messages");
        assert_eq!(seen[2 * FRAMES_PER_TURN], 2);
    }

    #[test]
    fn large_messages_get_a_turn_by_their_bytes() {
        let per_turn = BYTES_PER_TURN / 4096;
        let seen = other_runs_before_each(2 * per_turn, 4096);
        assert_eq!(seen[per_turn - 1], 0, "a turn before {BYTES_PER_TURN} bytes");
        assert_eq!(seen[per_turn], 1, "no turn after {per_turn} messages of 4 KiB");
    }

    #[test]
    fn a_read_that_waits_starts_the_count_again_and_one_that_does_not_goes_on() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let mut turns = WriterTurns::default();
            for _ in 0..FRAMES_PER_TURN - 1 {
                turns.handled_one(10).await;
            }
            // Ready at once: no turn for the writer, the count goes on.
            turns.read(async {}).await;
            assert_eq!(turns.handled, FRAMES_PER_TURN - 1);
            // Waited once: the writer ran meanwhile.
            turns.read(tokio::task::yield_now()).await;
            assert_eq!((turns.handled, turns.bytes), (0, 0));
        });
    }
}
