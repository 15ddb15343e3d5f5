//! The outgoing side of a connection: frames appended by any thread, written by one task.
//!
//! Host threads (client sends, listener replies) append encoded frames to one buffer under
//! a short lock; the connection's writer takes the whole buffer at once and writes it with
//! one call. A burst of frames therefore leaves in one syscall, and only the push that
//! finds the buffer empty wakes the writer, so a busy connection costs no wake-ups.

use std::sync::Mutex;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

struct Pending<T> {
    bytes: Vec<u8>,
    items: Vec<T>,
    closed: bool,
}

/// Frames waiting to be written, with an item per frame that needs tracking (`T`).
pub struct Outbox<T> {
    pending: Mutex<Pending<T>>,
    notify: Notify,
}

impl<T> Default for Outbox<T> {
    fn default() -> Self {
        Outbox {
            pending: Mutex::new(Pending { bytes: Vec::new(), items: Vec::new(), closed: false }),
            notify: Notify::new(),
        }
    }
}

impl<T> Outbox<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending<T>> {
        // A panic while holding this lock cannot leave the buffers inconsistent in a way
        // that matters more than losing the connection, so poisoning is ignored.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends what `encode` writes (and `item`, if any) and wakes the writer if it was idle.
    /// Returns the item back if the outbox is closed.
    pub fn push(&self, item: Option<T>, encode: impl FnOnce(&mut Vec<u8>)) -> Result<(), Option<T>> {
        let mut p = self.lock();
        if p.closed {
            return Err(item);
        }
        let was_idle = p.bytes.is_empty() && p.items.is_empty();
        encode(&mut p.bytes);
        if let Some(item) = item {
            p.items.push(item);
        }
        drop(p);
        if was_idle {
            self.notify.notify_one();
        }
        Ok(())
    }

    /// Moves everything pending into `bytes` and `items` (which the caller passes empty).
    pub fn take(&self, bytes: &mut Vec<u8>, items: &mut Vec<T>) {
        let mut p = self.lock();
        std::mem::swap(&mut p.bytes, bytes);
        std::mem::swap(&mut p.items, items);
    }

    /// Drops pending bytes and returns the pending items (their frames will never be sent).
    pub fn discard(&self) -> Vec<T> {
        let mut p = self.lock();
        p.bytes.clear();
        std::mem::take(&mut p.items)
    }

    /// Removes the pending items `expired` picks (their bytes still go out; whatever the
    /// peer answers to them is then ignored) and returns them.
    pub fn take_items_where(&self, mut expired: impl FnMut(&T) -> bool) -> Vec<T> {
        let mut p = self.lock();
        if !p.items.iter().any(&mut expired) {
            return Vec::new();
        }
        let (gone, kept): (Vec<T>, Vec<T>) =
            std::mem::take(&mut p.items).into_iter().partition(|t| expired(t));
        p.items = kept;
        gone
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
pub async fn write_loop<W, T>(
    outbox: &Outbox<T>,
    writer: &mut W,
    on_items: impl FnMut(&mut Vec<T>),
    on_written: impl FnMut(usize),
) -> std::io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    write_until(outbox, writer, || false, on_items, on_written).await.map(|_| ())
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
pub async fn write_until<W, T>(
    outbox: &Outbox<T>,
    writer: &mut W,
    stop: impl Fn() -> bool,
    mut on_items: impl FnMut(&mut Vec<T>),
    mut on_written: impl FnMut(usize),
) -> std::io::Result<WriteEnd>
where
    W: AsyncWrite + Unpin,
{
    let mut bytes = Vec::with_capacity(64 * 1024);
    let mut items = Vec::new();
    loop {
        if stop() {
            return Ok(WriteEnd::Stopped);
        }
        outbox.take(&mut bytes, &mut items);
        if bytes.is_empty() && items.is_empty() {
            if outbox.is_closed() {
                return Ok(WriteEnd::Closed);
            }
            outbox.wait().await;
            continue;
        }
        on_items(&mut items);
        items.clear();
        writer.write_all(&bytes).await?;
        writer.flush().await?;
        on_written(bytes.len());
        // Keep a moderate buffer for the next batch; give back memory after a huge burst.
        if bytes.capacity() > 4 * 1024 * 1024 {
            bytes = Vec::with_capacity(64 * 1024);
        } else {
            bytes.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_take_and_close() {
        let outbox: Outbox<u32> = Outbox::default();
        outbox.push(Some(1), |b| b.extend_from_slice(b"ab")).unwrap();
        outbox.push(None, |b| b.extend_from_slice(b"c")).unwrap();
        let (mut bytes, mut items) = (Vec::new(), Vec::new());
        outbox.take(&mut bytes, &mut items);
        assert_eq!((bytes.as_slice(), items.as_slice()), (&b"abc"[..], &[1][..]));
        outbox.push(Some(2), |b| b.push(b'x')).unwrap();
        outbox.close();
        assert_eq!(outbox.push(Some(3), |b| b.push(b'y')), Err(Some(3)));
        assert_eq!(outbox.discard(), vec![2]);
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
        outbox.take(&mut bytes, &mut items);
        assert_eq!((bytes.as_slice(), items.as_slice()), (&b"second"[..], &[2][..]));
    }
}
