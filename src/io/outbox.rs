//! The outgoing side of a connection: frames appended by any thread, written by one task.
//!
//! Host threads (client sends, listener replies) append encoded frames to one buffer under
//! a short lock; the connection's writer takes the whole buffer at once and writes it with
//! one call. A burst of frames therefore leaves in one syscall, and only the push that
//! finds the buffer empty wakes the writer, so a busy connection costs no wake-ups.
//!
//! An idle connection can also be written by the host thread itself ([`Outbox::claim_idle`]):
//! a request sent while nothing is queued or being written goes straight to the socket,
//! without waking the IO thread (one futex wake and one context switch per request at the
//! rates where nothing batches, as a Kea primary's updates). One writer at a time holds
//! the wire: the writer task with a batch it took, or a host thread with its claim.

use super::spare;
use crate::prefetch::prefetch_for_write;
use std::sync::Mutex;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

struct Pending<T, W> {
    bytes: Vec<u8>,
    items: Vec<T>,
    /// Where each item's frame lies in `bytes`, so an item taken back takes its bytes too.
    spans: Vec<std::ops::Range<usize>>,
    closed: bool,
    /// Someone writes to the socket: the writer task with a batch it took, or a host
    /// thread with a claim. Nobody else does until it is done.
    wire_busy: bool,
    /// Tasks in [`Outbox::wire_free`]: only then is there anyone to wake when the wire
    /// is let go (a wake costs `Notify`'s own lock, and the wire is let go per batch).
    freed_waiters: usize,
    /// What a host thread needs to write to the live connection itself, while that is
    /// allowed (see [`Outbox::set_direct`]).
    direct: Option<W>,
}

impl<T, W> Pending<T, W> {
    /// Fetches, for writing, the room the next push will fill: at a hundred connections
    /// a buffer is pushed to every few hundred microseconds and its next lines are cold
    /// by then, and the lock's release after the copy would wait for their misses.
    /// Fetched now, they are in cache by the next push (a frame like the last, `frame`
    /// bytes, and one more item and span).
    fn fetch_next_room(&self, frame: usize) {
        let room = (self.bytes.capacity() - self.bytes.len()).min(frame);
        prefetch_for_write(self.bytes.as_ptr().wrapping_add(self.bytes.len()), room);
        prefetch_for_write(
            self.items.as_ptr().wrapping_add(self.items.len()) as *const u8,
            std::mem::size_of::<T>(),
        );
        prefetch_for_write(
            self.spans.as_ptr().wrapping_add(self.spans.len()) as *const u8,
            std::mem::size_of::<std::ops::Range<usize>>(),
        );
    }
}

/// A new buffer's room, when the pushing thread has no [`spare`] one: what a burst of
/// frames fills without growing it many times.
const FIRST_CAPACITY: usize = 64 * 1024;

/// Pending bytes beyond which Pings are no longer answered (see [`Outbox::push_pong`]).
pub const PONG_BACKLOG: usize = 64 * 1024;

/// Frames waiting to be written, with an item per frame that needs tracking (`T`), and
/// the handle (`W`) that lets a host thread write to the connection itself.
pub struct Outbox<T, W = ()> {
    pending: Mutex<Pending<T, W>>,
    notify: Notify,
    /// Wakes whoever waits for the wire to be free ([`Outbox::wire_free`]).
    freed: Notify,
}

impl<T, W> Default for Outbox<T, W> {
    fn default() -> Self {
        Outbox {
            pending: Mutex::new(Pending {
                bytes: Vec::new(),
                items: Vec::new(),
                spans: Vec::new(),
                closed: false,
                wire_busy: false,
                freed_waiters: 0,
                direct: None,
            }),
            notify: Notify::new(),
            freed: Notify::new(),
        }
    }
}

/// What a claim's writer could not write ([`Outbox::release`]).
pub enum Unwritten<'a, T> {
    /// Everything went out.
    Nothing,
    /// The tail of a frame whose first bytes went out: it must be the next bytes written.
    Tail(&'a [u8]),
    /// A whole frame and its item: nothing of it went out.
    Frame(T, &'a [u8]),
}

impl<T, W> Outbox<T, W> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending<T, W>> {
        // A panic while holding this lock cannot leave the buffers inconsistent in a way
        // that matters more than losing the connection, so poisoning is ignored.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends what `encode` writes (and `item`, if any) and wakes the writer if it was idle.
    /// Returns the item back if the outbox is closed.
    ///
    /// The first item also wakes whoever waits when only untracked bytes (a Ping, a Pong)
    /// are pending: a connection that is down waits for an item, not for bytes, and would
    /// otherwise not hear of a request queued behind a Ping left over from the connection
    /// it lost.
    pub fn push(&self, item: Option<T>, encode: impl FnOnce(&mut Vec<u8>)) -> Result<(), Option<T>> {
        let mut p = self.lock();
        if p.closed {
            return Err(item);
        }
        let was_idle = p.items.is_empty() && (item.is_some() || p.bytes.is_empty());
        if p.bytes.capacity() == 0 {
            p.bytes = spare::take(FIRST_CAPACITY);
        }
        let start = p.bytes.len();
        encode(&mut p.bytes);
        if let Some(item) = item {
            p.items.push(item);
            let end = p.bytes.len();
            p.spans.push(start..end);
        }
        p.fetch_next_room(p.bytes.len() - start);
        drop(p);
        if was_idle {
            self.notify.notify_one();
        }
        Ok(())
    }

    /// Moves everything pending into `bytes` and `items` (which the caller passes empty)
    /// for the writer task: nothing while a host thread holds the wire (its release wakes
    /// the writer if anything is pending); and if it took anything, the wire is the
    /// writer's until [`done_writing`].
    ///
    /// [`done_writing`]: Self::done_writing
    fn take_wire(&self, bytes: &mut Vec<u8>, items: &mut Vec<T>) {
        let mut p = self.lock();
        // Nothing pending: the outbox keeps whatever buffer it has (the writer's empty
        // hands hold none while it waits).
        if p.wire_busy || (p.bytes.is_empty() && p.items.is_empty()) {
            return;
        }
        std::mem::swap(&mut p.bytes, bytes);
        std::mem::swap(&mut p.items, items);
        p.spans.clear();
        p.wire_busy = !bytes.is_empty() || !items.is_empty();
    }

    /// The writer task wrote (or dropped) what it took: the wire is free.
    fn done_writing(&self) {
        let waited_for = {
            let mut p = self.lock();
            p.wire_busy = false;
            p.freed_waiters > 0
        };
        if waited_for {
            self.freed.notify_waiters();
        }
    }

    /// Lets host threads write to the connection themselves with `direct` (`Some`), or
    /// stops that (`None`: the connection ends or drains). Once this returns `None`'s
    /// way, only a claim already held can still write; [`wire_free`](Self::wire_free)
    /// waits for it.
    pub fn set_direct(&self, direct: Option<W>) {
        self.lock().direct = direct;
    }

    /// The wire for the calling thread, if the connection is idle: nothing queued,
    /// nobody writing, direct writes allowed. The caller then writes at once, without
    /// blocking, and calls [`release`](Self::release).
    pub fn claim_idle(&self) -> Option<W>
    where
        W: Clone,
    {
        let mut p = self.lock();
        if p.closed || p.wire_busy || !p.bytes.is_empty() || !p.items.is_empty() {
            return None;
        }
        let direct = p.direct.clone()?;
        p.wire_busy = true;
        Some(direct)
    }

    /// Ends a claim: what its writer could not write goes first in line (before anything
    /// queued meanwhile), and the writer task is woken if anything is pending.
    pub fn release(&self, unwritten: Unwritten<'_, T>) {
        let mut p = self.lock();
        let p = &mut *p;
        let (front, item) = match unwritten {
            Unwritten::Nothing => (&[][..], None),
            Unwritten::Tail(tail) => (tail, None),
            Unwritten::Frame(item, frame) => (frame, Some(item)),
        };
        if !front.is_empty() {
            let n = front.len();
            p.bytes.splice(0..0, front.iter().copied());
            for span in &mut p.spans {
                *span = span.start + n..span.end + n;
            }
            if let Some(item) = item {
                p.items.insert(0, item);
                p.spans.insert(0, 0..n);
            }
        }
        p.wire_busy = false;
        // A writer that found the wire busy waits to be woken: for what is pending, or to
        // see the outbox closed.
        let wake = !p.bytes.is_empty() || !p.items.is_empty() || p.closed;
        if p.freed_waiters > 0 {
            self.freed.notify_waiters();
        }
        if wake {
            self.notify.notify_one();
        }
    }

    /// Waits until nobody writes to the wire (a claim still held when direct writes were
    /// stopped, or the writer task's batch).
    pub async fn wire_free(&self) {
        /// Counts this task among the waiters while it waits (also if it is dropped).
        struct Waiting<'a, T, W>(&'a Outbox<T, W>);
        impl<T, W> Drop for Waiting<'_, T, W> {
            fn drop(&mut self) {
                self.0.lock().freed_waiters -= 1;
            }
        }
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let waiting = {
                let mut p = self.lock();
                if !p.wire_busy {
                    return;
                }
                // Counted under the lock that whoever frees the wire takes: it sees us.
                p.freed_waiters += 1;
                Waiting(self)
            };
            freed.await;
            drop(waiting);
        }
    }

    /// Drops pending bytes and returns the pending items (their frames will never be sent).
    pub fn discard(&self) -> Vec<T> {
        let mut p = self.lock();
        p.bytes.clear();
        p.spans.clear();
        std::mem::take(&mut p.items)
    }

    /// Removes the pending items `expired` picks, with their frames (never sent now: a
    /// request that already failed with TIMEOUT must not reach a peer later), and returns
    /// them.
    pub fn take_items_where(&self, mut expired: impl FnMut(&T) -> bool) -> Vec<T> {
        let mut p = self.lock();
        if !p.items.iter().any(&mut expired) {
            return Vec::new();
        }
        let p = &mut *p;
        let (mut gone, mut kept, mut kept_spans) = (Vec::new(), Vec::new(), Vec::new());
        let mut bytes = Vec::with_capacity(p.bytes.len());
        let mut copied = 0;
        for (item, span) in std::mem::take(&mut p.items).into_iter().zip(std::mem::take(&mut p.spans)) {
            if expired(&item) {
                // Keep what lies before this frame (other frames, untracked ones too).
                bytes.extend_from_slice(&p.bytes[copied..span.start]);
                copied = span.end;
                gone.push(item);
            } else {
                // Moved forward by what was cut before it.
                let cut = copied - bytes.len();
                kept_spans.push(span.start - cut..span.end - cut);
                kept.push(item);
            }
        }
        bytes.extend_from_slice(&p.bytes[copied..]);
        p.bytes = bytes;
        p.items = kept;
        p.spans = kept_spans;
        gone
    }

    /// Answers a Ping with a Pong (`encode`) unless this connection already has
    /// [`PONG_BACKLOG`] bytes waiting: a peer that floods pings and does not read cannot
    /// make it buffer without bound, and bytes already waiting prove liveness as well.
    /// Returns whether the Pong was queued.
    pub fn push_pong(&self, encode: impl FnOnce(&mut Vec<u8>)) -> bool {
        if self.lock().bytes.len() >= PONG_BACKLOG {
            return false;
        }
        self.push(None, encode).is_ok()
    }

    pub fn has_items(&self) -> bool {
        let p = self.lock();
        !p.items.is_empty()
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Refuses further pushes; what is pending can still be taken (and flushed).
    pub fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_one();
    }

    /// Waits until a push finds the outbox idle (or [`wake`](Self::wake) or close is called).
    pub async fn wait(&self) {
        self.notify.notified().await
    }

    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

/// Writes everything pushed to `outbox` to `writer` until an IO error, or until the outbox
/// is closed and flushed. `on_items` sees each batch's items just before their bytes are
/// written (the client registers transactions there, so a reply can never arrive first).
pub async fn write_loop<W, T, D>(
    outbox: &Outbox<T, D>,
    writer: &mut W,
    on_items: impl FnMut(&mut Vec<T>),
    on_written: impl FnMut(usize),
) -> std::io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    write_until(outbox, writer, || false, on_items, on_written).await.map(|_| ())
}

/// The writer task's hold on the wire; let go when its batch is written or the task is
/// dropped (a connection ending mid-write), so a [`Outbox::wire_free`] never waits forever.
struct WireHeld<'a, T, W>(&'a Outbox<T, W>);

impl<T, W> Drop for WireHeld<'_, T, W> {
    fn drop(&mut self) {
        self.0.done_writing();
    }
}

/// Why [`write_until`] returned without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteEnd {
    /// The outbox was closed and everything in it was written.
    Closed,
    /// `stop` said so between two batches: nothing was taken that was not written, and
    /// what is still pending stays in the outbox (for another connection).
    Stopped,
}

/// [`write_loop`] that also ends when `stop()` holds, checked only between batches so
/// that a frame is never cut in half (whoever sets the condition calls
/// [`Outbox::wake`] so an idle writer notices).
pub async fn write_until<W, T, D>(
    outbox: &Outbox<T, D>,
    writer: &mut W,
    stop: impl Fn() -> bool,
    mut on_items: impl FnMut(&mut Vec<T>),
    mut on_written: impl FnMut(usize),
) -> std::io::Result<WriteEnd>
where
    W: AsyncWrite + Unpin,
{
    // Empty between batches: the batch taken from the outbox brings its buffer, which
    // goes to this thread's spares once written (the next push takes one from there).
    let mut bytes = Vec::new();
    let mut items = Vec::new();
    loop {
        if stop() {
            return Ok(WriteEnd::Stopped);
        }
        outbox.take_wire(&mut bytes, &mut items);
        if bytes.is_empty() && items.is_empty() {
            if outbox.is_closed() && !outbox.lock().wire_busy {
                return Ok(WriteEnd::Closed);
            }
            outbox.wait().await;
            continue;
        }
        // The wire is this task's until the batch is written, or the task is dropped.
        let _wire = WireHeld(outbox);
        on_items(&mut items);
        items.clear();
        writer.write_all(&bytes).await?;
        writer.flush().await?;
        on_written(bytes.len());
        // A huge burst's buffer is freed there rather than kept.
        spare::give(std::mem::take(&mut bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    #[test]
    fn push_take_and_close() {
        let outbox: Outbox<u32> = Outbox::default();
        outbox.push(Some(1), |b| b.extend_from_slice(b"ab")).unwrap();
        outbox.push(None, |b| b.extend_from_slice(b"c")).unwrap();
        let (mut bytes, mut items) = (Vec::new(), Vec::new());
        outbox.take_wire(&mut bytes, &mut items);
        assert_eq!((bytes.as_slice(), items.as_slice()), (&b"abc"[..], &[1][..]));
        outbox.push(Some(2), |b| b.push(b'x')).unwrap();
        outbox.close();
        assert_eq!(outbox.push(Some(3), |b| b.push(b'y')), Err(Some(3)));
        assert_eq!(outbox.discard(), vec![2]);
    }

    #[test]
    fn the_first_item_wakes_a_waiter_even_behind_untracked_bytes() {
        let outbox: Outbox<u8> = Outbox::default();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut woken = || std::pin::pin!(outbox.wait()).poll(&mut cx).is_ready();
        outbox.push(None, |b| b.extend_from_slice(b"<ping>")).unwrap();
        assert!(woken(), "a push onto an empty outbox wakes");
        outbox.push(None, |b| b.extend_from_slice(b"<pong>")).unwrap();
        assert!(!woken(), "more untracked bytes behind unwritten ones do not");
        outbox.push(Some(1), |b| b.extend_from_slice(b"[one]")).unwrap();
        assert!(woken(), "the first item does");
        outbox.push(Some(2), |b| b.extend_from_slice(b"[two]")).unwrap();
        assert!(!woken(), "later items do not");
    }

    #[test]
    fn a_written_batch_leaves_its_buffer_to_the_next_push_on_the_thread() {
        // A thread of its own: its spare buffers are this test's alone.
        std::thread::spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let outbox: Outbox<u8> = Outbox::default();
            outbox.push(Some(1), |b| b.extend_from_slice(b"first")).unwrap();
            let memory = outbox.lock().bytes.as_ptr();
            let (mut out, written) = (Vec::new(), std::cell::Cell::new(false));
            let end =
                rt.block_on(write_until(&outbox, &mut out, || written.get(), |_| {}, |_| written.set(true)));
            assert_eq!((end.unwrap(), out.as_slice()), (WriteEnd::Stopped, &b"first"[..]));
            // Neither the outbox nor its writer holds a buffer now; the thread keeps it.
            assert_eq!((outbox.lock().bytes.capacity(), spare::kept()), (0, 1));
            outbox.push(Some(2), |b| b.extend_from_slice(b"second")).unwrap();
            assert_eq!((outbox.lock().bytes.as_ptr(), spare::kept()), (memory, 0));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn write_loop_flushes_then_returns_on_close() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outbox: Outbox<u8> = Outbox::default();
        outbox.push(Some(7), |b| b.extend_from_slice(b"hello")).unwrap();
        outbox.close();
        let mut out: Vec<u8> = Vec::new();
        let mut seen = Vec::new();
        rt.block_on(write_loop(&outbox, &mut out, |items| seen.append(items), |_| {})).unwrap();
        assert_eq!((out.as_slice(), seen.as_slice()), (&b"hello"[..], &[7][..]));
    }

    #[test]
    fn pongs_stop_while_much_is_waiting() {
        let outbox: Outbox<u8> = Outbox::default();
        let pong = |b: &mut Vec<u8>| b.extend_from_slice(&[0u8; 1000]);
        let answered = (0..1000).filter(|_| outbox.push_pong(pong)).count();
        assert_eq!(answered, PONG_BACKLOG.div_ceil(1000));
        let (mut bytes, mut items) = (Vec::new(), Vec::new());
        outbox.take_wire(&mut bytes, &mut items);
        assert!(outbox.push_pong(pong), "answered again once written");
    }

    #[test]
    fn items_taken_back_take_their_frames_along() {
        let outbox: Outbox<u8> = Outbox::default();
        outbox.push(Some(1), |b| b.extend_from_slice(b"[one]")).unwrap();
        outbox.push(None, |b| b.extend_from_slice(b"<ping>")).unwrap();
        outbox.push(Some(2), |b| b.extend_from_slice(b"[two]")).unwrap();
        outbox.push(Some(3), |b| b.extend_from_slice(b"[three]")).unwrap();
        outbox.push(Some(4), |b| b.extend_from_slice(b"[four]")).unwrap();
        assert_eq!(outbox.take_items_where(|i| i % 2 == 0), vec![2, 4]);
        // The spans of what stayed are still right: take another one back.
        assert_eq!(outbox.take_items_where(|i| *i == 3), vec![3]);
        outbox.push(Some(5), |b| b.extend_from_slice(b"[five]")).unwrap();
        let (mut bytes, mut items) = (Vec::new(), Vec::new());
        outbox.take_wire(&mut bytes, &mut items);
        assert_eq!((bytes.as_slice(), items.as_slice()), (&b"[one]<ping>[five]"[..], &[1, 5][..]));
    }

    #[test]
    fn write_until_stops_between_batches_and_leaves_the_rest_queued() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outbox: Outbox<u8> = Outbox::default();
        outbox.push(Some(1), |b| b.extend_from_slice(b"first")).unwrap();
        let written = std::cell::Cell::new(0);
        let mut out: Vec<u8> = Vec::new();
        let end = rt.block_on(write_until(
            &outbox,
            &mut out,
            || {
                if written.get() > 0 {
                    // Pushed after the first batch went out: must stay queued.
                    let _ = outbox.push(Some(2), |b| b.extend_from_slice(b"second"));
                }
                written.get() > 0
            },
            |_| {},
            |n| written.set(written.get() + n),
        ));
        assert_eq!(end.unwrap(), WriteEnd::Stopped);
        assert_eq!(out, b"first");
        let (mut bytes, mut items) = (Vec::new(), Vec::new());
        outbox.take_wire(&mut bytes, &mut items);
        assert_eq!((bytes.as_slice(), items.as_slice()), (&b"second"[..], &[2][..]));
    }

    #[test]
    fn a_claim_needs_an_idle_outbox_and_a_direct_wire() {
        let outbox: Outbox<u8, &str> = Outbox::default();
        assert_eq!(outbox.claim_idle(), None, "no direct wire set");
        outbox.set_direct(Some("wire"));
        assert_eq!(outbox.claim_idle(), Some("wire"));
        assert_eq!(outbox.claim_idle(), None, "the wire is held");
        outbox.release(Unwritten::Nothing);
        outbox.push(Some(1), |b| b.extend_from_slice(b"[one]")).unwrap();
        assert_eq!(outbox.claim_idle(), None, "a frame is queued");
        let (mut bytes, mut items) = (Vec::new(), Vec::new());
        outbox.take_wire(&mut bytes, &mut items);
        assert_eq!(outbox.claim_idle(), None, "the writer task writes a batch");
        outbox.done_writing();
        assert_eq!(outbox.claim_idle(), Some("wire"));
        outbox.release(Unwritten::Nothing);
        outbox.set_direct(None);
        assert_eq!(outbox.claim_idle(), None, "direct writes stopped");
    }

    #[test]
    fn what_a_claim_left_unwritten_goes_before_what_was_queued_meanwhile() {
        let outbox: Outbox<u8, ()> = Outbox::default();
        outbox.set_direct(Some(()));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        // A tail: its frame's first bytes went out; queued frames keep their spans.
        outbox.claim_idle().unwrap();
        outbox.push(Some(2), |b| b.extend_from_slice(b"[two]")).unwrap();
        outbox.push(Some(3), |b| b.extend_from_slice(b"[three]")).unwrap();
        let (mut bytes, mut items) = (Vec::new(), Vec::new());
        outbox.take_wire(&mut bytes, &mut items);
        assert!(bytes.is_empty() && items.is_empty(), "the writer takes nothing while a claim is held");
        let mut waiting = std::pin::pin!(outbox.wait());
        outbox.release(Unwritten::Tail(b"ne]"));
        assert!(waiting.as_mut().poll(&mut cx).is_ready(), "the release wakes the writer");
        assert_eq!(outbox.take_items_where(|i| *i == 2), vec![2], "spans moved by the tail");
        outbox.take_wire(&mut bytes, &mut items);
        assert_eq!((bytes.as_slice(), items.as_slice()), (&b"ne][three]"[..], &[3][..]));
        outbox.done_writing();
        // A whole frame with its item: first in line, and taken back with its bytes.
        outbox.claim_idle().unwrap();
        outbox.push(Some(5), |b| b.extend_from_slice(b"[five]")).unwrap();
        outbox.release(Unwritten::Frame(4, b"[four]"));
        assert_eq!(outbox.take_items_where(|i| *i == 5), vec![5]);
        let (mut bytes, mut items) = (Vec::new(), Vec::new());
        outbox.take_wire(&mut bytes, &mut items);
        assert_eq!((bytes.as_slice(), items.as_slice()), (&b"[four]"[..], &[4][..]));
    }

    #[test]
    fn wire_free_waits_for_the_claim_and_for_a_dropped_writer() {
        let outbox: Outbox<u8, ()> = Outbox::default();
        outbox.set_direct(Some(()));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(std::pin::pin!(outbox.wire_free()).poll(&mut cx).is_ready(), "nobody writes");
        outbox.claim_idle().unwrap();
        let mut free = std::pin::pin!(outbox.wire_free());
        assert!(free.as_mut().poll(&mut cx).is_pending(), "a claim is held");
        outbox.release(Unwritten::Nothing);
        assert!(free.as_mut().poll(&mut cx).is_ready(), "released");
        // A writer task dropped in the middle of its batch lets go of the wire too.
        outbox.push(Some(1), |b| b.extend_from_slice(b"[one]")).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut stuck = StuckWriter;
        let mut write = Box::pin(write_loop(&outbox, &mut stuck, |_| {}, |_| {}));
        let waker = std::task::Waker::noop();
        rt.block_on(async {
            assert!(write.as_mut().poll(&mut std::task::Context::from_waker(waker)).is_pending())
        });
        let mut free = std::pin::pin!(outbox.wire_free());
        assert!(free.as_mut().poll(&mut cx).is_pending(), "the writer holds the wire");
        drop(write);
        assert!(free.as_mut().poll(&mut cx).is_ready(), "let go when dropped");
    }

    /// A socket that never takes a byte.
    struct StuckWriter;

    impl AsyncWrite for StuckWriter {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::task::Poll::Pending
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }
}
