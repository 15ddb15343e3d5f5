//! The serial lane: commands that are not HA lease traffic reach the host one at a time,
//! in arrival order, the next only after the previous was answered — so the host can
//! pause its own worker threads for them, as Kea does for most commands.

use super::handlers::Handlers;
use super::request::{OnAnswered, Request};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct LaneState {
    /// A serial request is with the host and not answered yet.
    busy: bool,
    waiting: VecDeque<Request>,
}

pub(super) struct SerialLane {
    state: Mutex<LaneState>,
    workers: Arc<Handlers>,
}

impl SerialLane {
    pub(super) fn new(workers: Arc<Handlers>) -> SerialLane {
        SerialLane { state: Mutex::new(LaneState::default()), workers }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LaneState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands `request` to the host now if the lane is free, else queues it.
    pub(super) fn submit(self: &Arc<Self>, request: Request) {
        let mut state = self.lock();
        if state.busy {
            state.waiting.push_back(request);
            return;
        }
        state.busy = true;
        drop(state);
        self.start(request);
    }

    fn start(self: &Arc<Self>, mut request: Request) {
        request.on_answer(self.clone());
        // Refused only while shutting down; the request then answers CANCELLED itself
        // and its answer releases the lane for the next one.
        let _ = self.workers.submit_serial(request);
    }

    /// The request the host had was answered: start the next one, if any.
    fn release(self: &Arc<Self>) {
        let mut state = self.lock();
        match state.waiting.pop_front() {
            Some(next) => {
                drop(state);
                self.start(next);
            }
            None => state.busy = false,
        }
    }

    /// Drops the waiting requests (they answer CANCELLED); used at shutdown.
    pub(super) fn clear(&self) {
        let waiting = std::mem::take(&mut self.lock().waiting);
        drop(waiting);
    }
}

impl OnAnswered for SerialLane {
    fn answered(self: Arc<Self>) {
        self.release();
    }
}
