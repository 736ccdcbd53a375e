//! `Subscription`: one subscriber's bounded queue and its event stream.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_core::Stream;

use crate::backend::{BackendError, PageLimit, Record};
use crate::channel::{Inner, Topic, reset};
use crate::encoded::Encoded;
use crate::erased::BoxFuture;
use crate::event_id::EventId;
use crate::stats::{Counters, ResetReason};
use crate::sync::lock;

/// `Slot::position` of a slot no longer in its topic's list.
pub(crate) const DETACHED: usize = usize::MAX;

/// Attempts at reading one replay page before the subscriber gets a reset.
const REPLAY_ATTEMPTS: u32 = 3;

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
    /// Set when the subscriber lagged or was reset: the stream ends after
    /// what is queued.
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

    /// Replaces the queue with `event` as the last item of the stream and
    /// closes it (a reset). The caller detaches the slot.
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

    /// The seq of the oldest queued event, if any.
    fn first_queued(&self) -> Option<u64> {
        lock(&self.state).queue.front().map(|(seq, _)| *seq)
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

/// Where a subscriber starts: what it sent, and the topic's position.
pub(crate) enum Resume {
    /// No `Last-Event-ID`.
    Fresh,
    /// A `Last-Event-ID` that is not an id of this channel.
    Invalid,
    /// A `Last-Event-ID`.
    From(EventId),
}

enum Phase {
    /// Reading the topic's position from the backend.
    Starting(BoxFuture<'static, Result<EventId, BackendError>>),
    /// Replaying `next ..= top` of `epoch`, page by page.
    Replaying {
        epoch: u64,
        next: u64,
        page: VecDeque<Record>,
        fetch: Option<BoxFuture<'static, Result<Option<Vec<Record>>, BackendError>>>,
        failures: u32,
    },
    /// Live events from the queue.
    Live,
}

/// A subscriber's stream of encoded events: first a priming id or a reset
/// event, then the events it missed (read from the backend a page at a
/// time, as the client takes them), then live events, each once and in
/// order. From [`Channel::subscribe`](crate::Channel::subscribe).
///
/// It ends when the subscriber lagged (its queue was full; the client then
/// resumes with its `Last-Event-ID`) or was reset. Dropping it (hyper drops
/// the body when the client goes away) unregisters it at once.
#[must_use = "a subscription does nothing unless polled"]
pub struct Subscription {
    resume: Option<Resume>,
    phase: Phase,
    prelude: Option<Encoded>,
    /// Live events up to this `seq` are covered by the start: drop them.
    top: u64,
    slot: Arc<Slot>,
    topic: Arc<Topic>,
    channel: Arc<Inner>,
}

impl Subscription {
    /// A subscription whose start is known now (the topic is synced).
    pub(crate) fn started(
        resume: Resume,
        position: EventId,
        slot: Arc<Slot>,
        topic: Arc<Topic>,
        channel: Arc<Inner>,
    ) -> Subscription {
        let mut subscription = Subscription {
            resume: None,
            phase: Phase::Live,
            prelude: None,
            top: position.seq(),
            slot,
            topic,
            channel,
        };
        subscription.begin(resume, position);
        subscription
    }

    /// A subscription that reads the topic's position first.
    pub(crate) fn starting(
        resume: Resume,
        slot: Arc<Slot>,
        topic: Arc<Topic>,
        channel: Arc<Inner>,
    ) -> Subscription {
        let read = {
            let channel = Arc::clone(&channel);
            let topic = Arc::clone(&topic);
            Box::pin(async move { channel.backend.position(&topic.name).await })
        };
        Subscription {
            resume: Some(resume),
            phase: Phase::Starting(read),
            prelude: None,
            top: 0,
            slot,
            topic,
            channel,
        }
    }

    /// Plans the start at `position`.
    fn begin(&mut self, resume: Resume, position: EventId) {
        self.top = position.seq();
        let stats = &self.channel.stats;
        let reset_for = |reason| {
            stats.reset(reason, 1);
            Some(reset(position, reason))
        };
        self.prelude = match resume {
            Resume::Fresh if self.channel.config.prime => Some(Encoded::id_only(position)),
            Resume::Fresh => None,
            Resume::Invalid => reset_for(ResetReason::Unknown),
            Resume::From(id) if id.epoch() != position.epoch() => {
                if id.seq() == 0 && position.seq() == 0 {
                    None // both before any event: nothing missed
                } else {
                    reset_for(ResetReason::Epoch)
                }
            }
            Resume::From(id) if id.seq() > position.seq() => reset_for(ResetReason::Ahead),
            Resume::From(id) if id.seq() == position.seq() => None,
            Resume::From(id) => {
                self.phase = Phase::Replaying {
                    epoch: position.epoch(),
                    next: id.seq() + 1,
                    page: VecDeque::new(),
                    fetch: None,
                    failures: 0,
                };
                None
            }
        };
    }

    /// Switches to live events after a replay that could not go on.
    fn abandon_replay(&mut self, epoch: u64, reason: ResetReason) {
        self.channel.stats.reset(reason, 1);
        self.prelude = Some(reset(EventId::new(epoch, self.top), reason));
        self.phase = Phase::Live;
    }
}

impl Stream for Subscription {
    type Item = Encoded;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Encoded>> {
        let this = self.get_mut();
        if let Phase::Starting(read) = &mut this.phase {
            let position = match read.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(position)) => position,
                Poll::Ready(Err(error)) => {
                    // The position cannot be read: end the stream; the
                    // client reconnects (its Last-Event-ID unchanged).
                    tracing::warn!(topic = &*this.topic.name, %error, "subscriber start failed");
                    this.phase = Phase::Live;
                    return Poll::Ready(None);
                }
            };
            this.channel.sync(&this.topic, position);
            this.phase = Phase::Live;
            let resume = this.resume.take().unwrap_or(Resume::Fresh);
            // The position was read after the slot was registered: events
            // queued since are newer than the subscriber's start even when
            // the read already counts them. Start before the first of them.
            let mut start = position.seq();
            if let Some(first) = this.slot.first_queued() {
                start = start.min(first.saturating_sub(1));
                if let Resume::From(id) = &resume {
                    if id.epoch() == position.epoch() && id.seq() <= position.seq() {
                        start = start.max(id.seq());
                    }
                }
            }
            this.begin(resume, EventId::new(position.epoch(), start));
        }
        if let Some(prelude) = this.prelude.take() {
            return Poll::Ready(Some(prelude));
        }
        loop {
            let top = this.top;
            let Phase::Replaying {
                epoch,
                next,
                page,
                fetch,
                failures,
            } = &mut this.phase
            else {
                break;
            };
            let epoch = *epoch;
            if let Some(record) = page.pop_front() {
                *next = record.seq + 1;
                Counters::add(&this.channel.stats.replayed, 1);
                return Poll::Ready(Some(Encoded::with_id(
                    EventId::new(epoch, record.seq),
                    &record.body,
                )));
            }
            if *next > top {
                this.phase = Phase::Live;
                break;
            }
            let request = fetch.get_or_insert_with(|| {
                let channel = Arc::clone(&this.channel);
                let topic = Arc::clone(&this.topic);
                let after = *next - 1;
                // After a failure, a short pause before asking again.
                let pause = (*failures > 0).then(|| Duration::from_millis(20 << *failures));
                Box::pin(async move {
                    if let Some(pause) = pause {
                        tokio::time::sleep(pause).await;
                    }
                    channel
                        .backend
                        .replay(&topic.name, epoch, after, top, PageLimit::DEFAULT)
                        .await
                })
            });
            let outcome = match request.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(outcome) => outcome,
            };
            *fetch = None;
            match outcome {
                Ok(Some(records)) if records.first().is_some_and(|r| r.seq == *next) => {
                    *failures = 0;
                    let expected = *next;
                    page.extend(
                        records
                            .into_iter()
                            .enumerate()
                            .take_while(|(i, r)| r.seq == expected + *i as u64 && r.seq <= top)
                            .map(|(_, r)| r),
                    );
                }
                Ok(None) => {
                    this.abandon_replay(epoch, ResetReason::Trimmed);
                    break;
                }
                outcome => {
                    *failures += 1;
                    if let Err(error) = &outcome {
                        tracing::warn!(topic = &*this.topic.name, %error, "replay page failed");
                    }
                    if *failures >= REPLAY_ATTEMPTS {
                        this.abandon_replay(epoch, ResetReason::Unavailable);
                        break;
                    }
                    // The next turn asks again, after a pause.
                    continue;
                }
            }
        }
        if let Some(prelude) = this.prelude.take() {
            return Poll::Ready(Some(prelude));
        }
        let mut state = lock(&this.slot.state);
        while let Some((seq, event)) = state.queue.pop_front() {
            // Registered before the start was noted: an event can be both
            // replayed and queued live. Never twice.
            if seq > this.top {
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
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.topic.detach(&self.slot, &self.channel);
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match &self.phase {
            Phase::Starting(_) => "starting",
            Phase::Replaying { .. } => "replaying",
            Phase::Live => "live",
        };
        f.debug_struct("Subscription")
            .field("topic", &self.topic.name)
            .field("phase", &phase)
            .field("top", &self.top)
            .field(
                "attached",
                &(self.slot.position.load(Ordering::Relaxed) != DETACHED),
            )
            .finish_non_exhaustive()
    }
}
