//! `Subscription`: one subscriber's bounded queue and its event stream.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use tokio::sync::oneshot;

use crate::channel::{Inner, Topic};
use crate::encoded::Encoded;
use crate::sync::lock;

/// `Slot::position` of a slot no longer in its topic's list.
pub(crate) const DETACHED: usize = usize::MAX;

/// A subscriber's queue, shared by the publisher (which pushes) and the
/// subscription (which pops). The publisher never waits on it: a full queue
/// detaches the subscriber instead.
pub(crate) struct Slot {
    state: Mutex<SlotState>,
    /// The slot's index in its topic's subscriber list, or [`DETACHED`];
    /// only written under the topic's lock.
    pub(crate) position: AtomicUsize,
}

struct SlotState {
    queue: VecDeque<(u64, Encoded)>,
    waker: Option<Waker>,
    /// Set when the subscriber lagged: the stream ends after nothing more.
    closed: bool,
}

impl Slot {
    pub(crate) fn new(position: usize) -> Slot {
        Slot {
            state: Mutex::new(SlotState {
                queue: VecDeque::new(),
                waker: None,
                closed: false,
            }),
            position: AtomicUsize::new(position),
        }
    }

    /// Queues `event` as the last item of this subscriber's stream and
    /// closes it (a [`RESET_EVENT`](crate::RESET_EVENT) when the store lost
    /// its history under a live subscriber). The caller detaches the slot.
    #[cfg_attr(
        not(feature = "redis"),
        allow(dead_code, reason = "used by the Redis store")
    )]
    pub(crate) fn close_with(&self, event: Encoded) {
        let mut state = lock(&self.state);
        state.queue = VecDeque::from([(u64::MAX, event)]);
        state.closed = true;
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Queues event `seq`, or, when `capacity` events are already waiting,
    /// empties the queue, closes the slot and returns `false`.
    pub(crate) fn push(&self, seq: u64, event: &Encoded, capacity: usize) -> bool {
        let mut state = lock(&self.state);
        let accepted = state.queue.len() < capacity;
        if accepted {
            state.queue.push_back((seq, event.clone()));
        } else {
            // Free the memory now: this subscriber resumes from the log.
            state.queue = VecDeque::new();
            state.closed = true;
        }
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        accepted
    }
}

/// How a subscriber's stream starts: its prelude (priming id or reset
/// event), the replayed events, and the `seq` they go up to.
pub(crate) struct Start {
    pub(crate) prelude: Option<Encoded>,
    pub(crate) replay: Vec<Encoded>,
    pub(crate) top: u64,
}

/// A subscriber's stream of encoded events: first a priming id or a reset
/// event, then the replayed events, then live events, each once and in
/// order. From [`Channel::subscribe`](crate::Channel::subscribe).
///
/// It ends when the subscriber lagged (its queue was full; the client then
/// resumes from the log with its `Last-Event-ID`). Dropping it (hyper drops
/// the body when the client goes away) unregisters it from the channel at
/// once.
pub struct Subscription {
    prelude: Option<Encoded>,
    replay: std::vec::IntoIter<Encoded>,
    /// Live events up to this `seq` were replayed: drop them.
    replay_top: u64,
    /// The start, still being read from a remote store (Redis): until it
    /// arrives the stream is pending (its body sends keep-alives) while the
    /// slot already collects live events.
    pending: Option<oneshot::Receiver<Start>>,
    slot: Arc<Slot>,
    topic: Arc<Topic>,
    channel: Arc<Inner>,
}

impl Subscription {
    pub(crate) fn new(
        prelude: Option<Encoded>,
        replay: Vec<Encoded>,
        replay_top: u64,
        slot: Arc<Slot>,
        topic: Arc<Topic>,
        channel: Arc<Inner>,
    ) -> Subscription {
        Subscription {
            prelude,
            replay: replay.into_iter(),
            replay_top,
            pending: None,
            slot,
            topic,
            channel,
        }
    }

    /// A subscription whose start is still being read; its slot is
    /// registered already.
    #[cfg_attr(
        not(feature = "redis"),
        allow(dead_code, reason = "used by the Redis store")
    )]
    pub(crate) fn pending(
        start: oneshot::Receiver<Start>,
        slot: Arc<Slot>,
        topic: Arc<Topic>,
        channel: Arc<Inner>,
    ) -> Subscription {
        Subscription {
            prelude: None,
            replay: Vec::new().into_iter(),
            replay_top: 0,
            pending: Some(start),
            slot,
            topic,
            channel,
        }
    }
}

impl Stream for Subscription {
    type Item = Encoded;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Encoded>> {
        let this = self.get_mut();
        if let Some(pending) = &mut this.pending {
            match Pin::new(pending).poll(cx) {
                Poll::Pending => return Poll::Pending,
                // The store's task is gone: the channel was dropped.
                Poll::Ready(Err(_)) => {
                    this.pending = None;
                    return Poll::Ready(None);
                }
                Poll::Ready(Ok(start)) => {
                    this.pending = None;
                    this.prelude = start.prelude;
                    this.replay = start.replay.into_iter();
                    this.replay_top = start.top;
                }
            }
        }
        if let Some(prelude) = this.prelude.take() {
            return Poll::Ready(Some(prelude));
        }
        if let Some(event) = this.replay.next() {
            return Poll::Ready(Some(event));
        }
        let mut state = lock(&this.slot.state);
        while let Some((seq, event)) = state.queue.pop_front() {
            // Registered before the replay's top was noted: an event can be
            // both replayed and queued live. Never twice.
            if seq > this.replay_top {
                return Poll::Ready(Some(event));
            }
        }
        if state.closed {
            return Poll::Ready(None);
        }
        if state.queue.capacity() > 64 {
            // A burst is over: give its memory back.
            state.queue = VecDeque::new();
        }
        match &state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => state.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (
            usize::from(self.prelude.is_some()) + self.replay.len(),
            None,
        )
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.topic.detach(&self.slot, &self.channel);
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("replay_left", &self.replay.len())
            .field("replay_top", &self.replay_top)
            .field("pending", &self.pending.is_some())
            .field(
                "attached",
                &(self.slot.position.load(Ordering::Relaxed) != DETACHED),
            )
            .finish_non_exhaustive()
    }
}
