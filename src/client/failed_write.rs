//! Why a write to the peer failed, as the completions it fails are told.
//!
//! A TLS peer that refuses this end (its certificate, say) sends an alert and closes; the
//! next write then fails with a broken pipe that says nothing. The alert is waiting on the
//! read side: both sessions (`hamux://` and HTTP) ask here, with their own read side, and
//! report the alert rather than the pipe.

use crate::tls;
use crate::Status;
use std::future::Future;
use std::time::Duration;

/// How long a failed write waits for the read side to find why.
const WHY_AFTER_WRITE_ERROR: Duration = Duration::from_millis(200);

/// The status and reason of a write that failed with `error`. `read_side` reads on from
/// the same connection and resolves to the status and reason it ended with: if it ends
/// with TLS within a moment, that is why; otherwise `error` is.
pub(crate) async fn why_write_failed(
    error: std::io::Error,
    read_side: impl Future<Output = (Status, String)>,
) -> (Status, String) {
    match tokio::time::timeout(WHY_AFTER_WRITE_ERROR, read_side).await {
        Ok((Status::Tls, reason)) => (Status::Tls, reason),
        _ => tls::describe_io_error(&error),
    }
}
