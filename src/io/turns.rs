//! Letting a connection's writer in while its reader works through a long burst.
//!
//! A connection's reader and writer are futures of one task on one IO thread. A reader
//! that decodes everything one read returned before it waits again keeps the writer out
//! for the whole burst: with 512 requests in flight on one connection, the listener
//! answered all 512 (about 1 ms of handler work) before the first answer left, and the
//! client then sent all 512 next requests before the listener had any. The two sides took
//! turns instead of working at once: on this 2-core machine one connection ran at 45 %
//! of a run-to-completion loop that writes what it has every half window.
//! [`WriterTurns`] gives the writer its turn every [`FRAMES_PER_TURN`] messages.

/// Messages a reader handles before the writer gets a turn. Small enough that a burst
/// of requests is answered in parts the peer can work on meanwhile; large enough that a
/// part still leaves in one write (a yield is a poll of the task, not a syscall).
pub const FRAMES_PER_TURN: usize = 128;

/// Counts the messages a reader handled and yields to the rest of its task (the writer)
/// every [`FRAMES_PER_TURN`].
#[derive(Default)]
pub struct WriterTurns {
    handled: usize,
}

impl WriterTurns {
    /// Counts one message; every [`FRAMES_PER_TURN`]th, lets the task's other futures run.
    pub async fn handled_one(&mut self) {
        self.handled += 1;
        if self.handled >= FRAMES_PER_TURN {
            self.handled = 0;
            tokio::task::yield_now().await;
        }
    }

    /// The reader waits for more bytes anyway (the writer runs then): counting restarts.
    pub fn reading(&mut self) {
        self.handled = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_other_future_runs_between_turns() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let other_ran = AtomicUsize::new(0);
        let seen: Vec<usize> = rt.block_on(async {
            let reader = async {
                let mut turns = WriterTurns::default();
                let mut seen = Vec::new();
                for _ in 0..3 * FRAMES_PER_TURN {
                    seen.push(other_ran.load(Ordering::Relaxed));
                    turns.handled_one().await;
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
        });
        // The reader goes first (biased); the other runs once per turn, never within one.
        assert_eq!(seen[0], 0);
        assert_eq!(seen[FRAMES_PER_TURN - 1], 0, "the other ran within a turn");
        assert_eq!(seen[FRAMES_PER_TURN], 1, "no turn after {FRAMES_PER_TURN} messages");
        assert_eq!(seen[2 * FRAMES_PER_TURN], 2);
    }
}
