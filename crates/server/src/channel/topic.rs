//! A topic's subscribers on this node, and the follower: it turns what the
//! backend reports (committed records from any node, advances, lost
//! histories) into each subscriber's ordered stream, dropping repeats,
//! filling gaps by replay and resetting on a new epoch.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use crate::backend::PageLimit;
use crate::encoded::Encoded;
use crate::event_id::EventId;
use crate::stats::{Counters, ResetReason};
use crate::subscription::{DETACHED, Slot};
use crate::sync::lock;

use super::Inner;

/// Most records held back while a gap before them is filled; beyond it the
/// newest are dropped and read again by replay.
const MAX_PENDING: usize = 4096;
/// Attempts at reading a gap from the backend before giving up with a reset.
const FILL_ATTEMPTS: u32 = 5;

pub(crate) struct Topic {
    pub(crate) name: Box<str>,
    pub(crate) state: Mutex<TopicState>,
}

pub(crate) struct TopicState {
    /// Whether `epoch` and `seq` come from the backend yet (a subscriber's
    /// position read); before, live records are passed on as they come and
    /// subscribers filter them by their own start.
    pub(crate) synced: bool,
    /// The history the topic's ids belong to.
    pub(crate) epoch: u64,
    /// The newest seq delivered here: every record up to it is in the
    /// backend, and subscribers that join now replay up to it.
    pub(crate) seq: u64,
    /// The newest seq known to be committed (ahead of `seq` during a gap).
    known: u64,
    /// Records after a gap, waiting for it to be filled.
    pending: BTreeMap<u64, Bytes>,
    /// A task is filling the gap `seq + 1 ..= known`.
    filling: bool,
    pub(crate) subscribers: Vec<Arc<Slot>>,
}

impl Topic {
    pub(crate) fn new(name: &str) -> Topic {
        Topic {
            name: name.into(),
            state: Mutex::new(TopicState {
                synced: false,
                epoch: 0,
                seq: 0,
                known: 0,
                pending: BTreeMap::new(),
                filling: false,
                subscribers: Vec::new(),
            }),
        }
    }

    /// Removes `slot` from the subscriber list, once; the topic leaves the
    /// channel's map with its last subscriber.
    pub(crate) fn detach(self: &Arc<Self>, slot: &Arc<Slot>, channel: &Arc<Inner>) {
        let mut state = lock(&self.state);
        let position = slot.position.swap(DETACHED, Ordering::Relaxed);
        if position == DETACHED {
            return;
        }
        state.remove(position);
        let empty = state.subscribers.is_empty() && !state.filling;
        drop(state);
        channel.subscribers.fetch_sub(1, Ordering::Relaxed);
        if empty {
            channel.forget(self);
        }
    }
}

impl TopicState {
    /// Whether a task is filling a gap (the topic must stay in the map).
    pub(crate) fn filling(&self) -> bool {
        self.filling
    }

    /// Queues `event` (seq `seq`) for every subscriber, disconnecting those
    /// whose queue is full.
    pub(crate) fn fan_out(&mut self, topic: &str, seq: u64, event: &Encoded, channel: &Inner) {
        let mut position = 0;
        let mut lagged = 0;
        while let Some(slot) = self.subscribers.get(position) {
            if slot.push(seq, event, channel.config.queue_len) {
                position += 1;
                continue;
            }
            tracing::debug!(topic, seq, "subscriber lagged: disconnected");
            slot.position.store(DETACHED, Ordering::Relaxed);
            self.remove(position);
            lagged += 1;
        }
        Counters::add(&channel.stats.delivered, self.subscribers.len() as u64);
        if lagged > 0 {
            Counters::add(&channel.stats.lag_disconnects, lagged);
            channel
                .subscribers
                .fetch_sub(lagged as usize, Ordering::Relaxed);
        }
    }

    /// Ends every subscriber's stream with a reset event at `position`: the
    /// history they were following is gone or unreadable. They resume from
    /// `position` (a new connection), and so does the follower: the topic is
    /// at `position` from now on, with nothing held back.
    pub(crate) fn close_all(&mut self, position: EventId, reason: ResetReason, channel: &Inner) {
        self.epoch = position.epoch();
        self.seq = position.seq();
        self.known = position.seq();
        self.pending.clear();
        let slots = std::mem::take(&mut self.subscribers);
        let event = super::reset(position, reason);
        for slot in &slots {
            slot.position.store(DETACHED, Ordering::Relaxed);
            slot.close_with(event.clone());
        }
        channel.stats.reset(reason, slots.len() as u64);
        channel
            .subscribers
            .fetch_sub(slots.len(), Ordering::Relaxed);
    }

    /// `swap_remove` that keeps every slot's `position` right.
    pub(crate) fn remove(&mut self, position: usize) {
        if position >= self.subscribers.len() {
            return;
        }
        self.subscribers.swap_remove(position);
        if let Some(moved) = self.subscribers.get(position) {
            moved.position.store(position, Ordering::Relaxed);
        }
    }

    /// Delivers `body` as seq `seq` of the current epoch.
    fn deliver(&mut self, topic: &str, seq: u64, body: &[u8], channel: &Inner) {
        let event = Encoded::with_id(EventId::new(self.epoch, seq), body);
        self.fan_out(topic, seq, &event, channel);
        self.seq = seq;
        self.known = self.known.max(seq);
    }

    /// Delivers the held-back records that now follow `seq`.
    fn drain_pending(&mut self, topic: &str, channel: &Inner) {
        while let Some(body) = self.pending.remove(&(self.seq + 1)) {
            self.deliver(topic, self.seq + 1, &body, channel);
        }
        // Anything at or below `seq` is a repeat.
        let seq = self.seq;
        self.pending.retain(|held, _| *held > seq);
    }
}

impl Inner {
    /// The follower: `topic` is committed up to `seq` in `epoch`, and
    /// `body` is that record when the backend sent it.
    pub(crate) fn follow(self: &Arc<Self>, name: &str, epoch: u64, seq: u64, body: Option<Bytes>) {
        let Some(topic) = self.existing_topic(name) else {
            // No subscriber here: nothing to deliver, and a later subscriber
            // reads its start from the backend.
            return;
        };
        let mut state = lock(&topic.state);
        if !state.synced {
            // Subscribers drop what their own start covers.
            if let Some(body) = body {
                state.epoch = epoch;
                state.deliver(name, seq, &body, self);
            } else {
                state.known = state.known.max(seq);
            }
            return;
        }
        if epoch != state.epoch {
            if state.seq == 0 && state.known == 0 {
                // Nothing of the old epoch was ever delivered: a new topic
                // whose first event drew its epoch. Nobody missed anything.
                state.epoch = epoch;
            } else {
                let position = EventId::new(epoch, if body.is_some() { seq - 1 } else { seq });
                tracing::info!(topic = name, %position, "the backend changed epoch: subscribers reset");
                state.close_all(position, ResetReason::Epoch, self);
                // A fill task in flight sees the new epoch and stops.
                return;
            }
        }
        if seq <= state.seq {
            return; // a repeat
        }
        if seq == state.seq + 1 && !state.filling {
            if let Some(body) = body {
                state.deliver(name, seq, &body, self);
                return;
            }
        }
        state.known = state.known.max(seq);
        if let Some(body) = body {
            if state.pending.len() < MAX_PENDING {
                state.pending.insert(seq, body);
            }
        }
        if !state.filling {
            state.filling = true;
            drop(state);
            self.spawn_fill(topic);
        }
    }

    /// The backend lost `name`'s history: it is now at `position`.
    pub(crate) fn history_lost(&self, name: &str, position: EventId) {
        let Some(topic) = self.existing_topic(name) else {
            return;
        };
        let mut state = lock(&topic.state);
        tracing::warn!(topic = name, %position, "the backend lost the topic's history: subscribers reset");
        state.close_all(position, ResetReason::Epoch, self);
        state.synced = true;
    }

    /// A subscriber read the topic's position from the backend.
    pub(crate) fn sync(self: &Arc<Self>, topic: &Arc<Topic>, position: EventId) {
        let mut state = lock(&topic.state);
        if state.synced {
            return;
        }
        state.synced = true;
        state.epoch = position.epoch();
        state.seq = state.seq.max(position.seq());
        state.known = state.known.max(state.seq);
        if state.known > state.seq && !state.filling {
            state.filling = true;
            drop(state);
            self.spawn_fill(Arc::clone(topic));
        }
    }

    /// Applies one page read for the gap after `after` (in `epoch`);
    /// returns the pause before the next attempt after a failure.
    fn apply_fill(
        &self,
        topic: &Topic,
        epoch: u64,
        after: u64,
        page: Result<Option<Vec<crate::backend::Record>>, crate::backend::BackendError>,
        moved: Option<EventId>,
        failures: &mut u32,
    ) -> Option<Duration> {
        let mut state = lock(&topic.state);
        if state.epoch != epoch || state.seq != after {
            return None; // reset or filled meanwhile: look again
        }
        match page {
            Ok(Some(records)) if records.first().is_some_and(|r| r.seq == after + 1) => {
                *failures = 0;
                for record in records {
                    if record.seq == state.seq + 1 {
                        state.deliver(&topic.name, record.seq, &record.body, self);
                    }
                }
                None
            }
            Ok(None) => match moved {
                Some(position) => {
                    tracing::info!(topic = &*topic.name, %position, "the topic moved to another history during a gap: subscribers reset");
                    state.close_all(position, ResetReason::Epoch, self);
                    None
                }
                None => {
                    let position = EventId::new(epoch, state.known);
                    tracing::info!(topic = &*topic.name, %position, "a gap was trimmed before it could be read");
                    state.close_all(position, ResetReason::Trimmed, self);
                    None
                }
            },
            outcome => {
                *failures += 1;
                if *failures < FILL_ATTEMPTS {
                    return Some(Duration::from_millis(50 << *failures));
                }
                match outcome {
                    Err(error) => {
                        tracing::warn!(topic = &*topic.name, %error, "a gap could not be read: subscribers reset");
                    }
                    Ok(_) => {
                        tracing::warn!(
                            topic = &*topic.name,
                            "the backend replayed a gap out of order: subscribers reset"
                        );
                    }
                }
                let position = EventId::new(epoch, state.known);
                state.close_all(position, ResetReason::Unavailable, self);
                *failures = 0;
                None
            }
        }
    }

    fn spawn_fill(self: &Arc<Self>, topic: Arc<Topic>) {
        let Some(runtime) = &self.runtime else {
            // No runtime to read the gap with: tell the subscribers.
            let mut state = lock(&topic.state);
            let position = EventId::new(state.epoch, state.known);
            state.close_all(position, ResetReason::Unavailable, self);
            state.filling = false;
            return;
        };
        let channel = Arc::downgrade(self);
        runtime.spawn(async move {
            let mut failures = 0;
            loop {
                let Some(channel) = channel.upgrade() else {
                    return;
                };
                let (epoch, after, up_to) = {
                    let mut state = lock(&topic.state);
                    state.drain_pending(&topic.name, &channel);
                    if state.seq >= state.known {
                        state.filling = false;
                        let idle = state.subscribers.is_empty();
                        drop(state);
                        if idle {
                            channel.forget(&topic);
                        }
                        return;
                    }
                    let gap_end = state
                        .pending
                        .keys()
                        .next()
                        .map_or(state.known, |first| first - 1);
                    (state.epoch, state.seq, gap_end)
                };
                let page = channel
                    .backend
                    .replay(&topic.name, epoch, after, up_to, PageLimit::DEFAULT)
                    .await;
                // Not there: trimmed, or another history by now? Ask.
                let moved = match &page {
                    Ok(None) => channel
                        .backend
                        .position(&topic.name)
                        .await
                        .ok()
                        .filter(|position| position.epoch() != epoch),
                    _ => None,
                };
                let pause = channel.apply_fill(&topic, epoch, after, page, moved, &mut failures);
                if let Some(pause) = pause {
                    drop(channel);
                    tokio::time::sleep(pause).await;
                }
            }
        });
    }
}
