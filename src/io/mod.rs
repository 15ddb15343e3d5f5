//! The IO layer: threads that each run their own single-threaded runtime (their own
//! "IO service", as Kea calls it), the outgoing-frame buffer connections write through, and
//! the byte stream (plain TCP or TLS) they write to.

mod catch_panic;
mod descriptors;
pub mod framed;
mod outbox;
mod poll_queue;
mod spare;
mod stream;
mod threads;
mod turns;

pub use catch_panic::{panic_message, CatchPanic};
pub use descriptors::{is_out_of_descriptors, which_limit};
pub use outbox::{write_loop, write_until, Outbox, Unwritten, WriteEnd};
pub use poll_queue::PollQueue;
pub use stream::{Idle, NoSigpipeTcp, Stream, WriteHalf};
pub use threads::{current_slot, IoThreads, ThreadSlot};
pub use turns::WriterTurns;
