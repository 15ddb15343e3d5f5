//! A connection counted open, from its accept to the end of its task.

use super::context::SessionContext;
use crate::listener::reply::Replies;
use crate::listener::stats::ListenerCounters;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// Marks a connection open for its lifetime. Its drop closes its replies, also when
/// the task is dropped mid-await by a listener shutdown, so that requests the host still
/// holds learn that their connection is gone.
pub(crate) struct OpenConnection {
    replies: Arc<Replies>,
    counters: Arc<ListenerCounters>,
}

impl OpenConnection {
    /// Taken at accept, so the connection counts against `max-connections` from then on.
    pub(crate) fn new(ctx: &SessionContext) -> OpenConnection {
        let counters = ctx.counters.clone();
        counters.open.fetch_add(1, Relaxed);
        OpenConnection { replies: Arc::new(Replies::new(ctx.drain.clone(), counters.clone())), counters }
    }

    /// Where the connection's replies go.
    pub(super) fn replies(&self) -> &Arc<Replies> {
        &self.replies
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.replies.close();
        self.counters.open.fetch_sub(1, Relaxed);
    }
}
