//! The IO layer: threads that each run their own single-threaded runtime (their own
//! "IO service", as Kea calls it), and the outgoing-frame buffer connections write through.

mod outbox;
mod poll_queue;
mod threads;

pub use outbox::{write_loop, write_until, Outbox, WriteEnd};
pub use poll_queue::PollQueue;
pub use threads::IoThreads;
