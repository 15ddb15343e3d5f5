//! Backpressure: how many requests may wait for the host's answer, over the whole
//! listener (`max-pending`) and per connection (`max-pending-per-connection`).

use super::slots::{Slot, Slots};
use std::sync::Arc;

/// The listener's `max-pending` slots, and the size of each connection's share.
pub(super) struct PendingLimits {
    listener: Arc<Slots>,
    per_connection: usize,
}

/// A connection's own share of pending requests (`max-pending-per-connection`).
pub(crate) struct ConnectionShare(Arc<Slots>);

/// What a request handed to the host holds until it is answered: a slot of its
/// connection's share and one of the listener's `max-pending`.
pub(crate) struct PendingSlot {
    _connection: Slot,
    _listener: Slot,
}

impl PendingLimits {
    pub(super) fn new(max_pending: usize, max_pending_per_connection: usize) -> PendingLimits {
        PendingLimits { listener: Slots::new(max_pending), per_connection: max_pending_per_connection }
    }

    pub(super) fn connection_share(&self) -> ConnectionShare {
        ConnectionShare(Slots::new(self.per_connection))
    }

    /// Takes a slot of the connection's share, then one of the listener's `max-pending`.
    /// At either limit it waits, and so stops reading this connection, until the host
    /// answers something — backpressure reaches the peer via TCP. The connection's own
    /// share is taken first: a connection that floods requests stops at its share,
    /// holding no more of the listener's slots than that, and the others keep being served.
    pub(super) async fn slot(&self, share: &ConnectionShare) -> PendingSlot {
        let own = share.0.take().await;
        PendingSlot { _connection: own, _listener: self.listener.take().await }
    }
}
