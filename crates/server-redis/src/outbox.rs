//! Where the backend's reports go: to the feed once `start` gave one, and
//! held until then.
//!
//! The node subscribes to Pub/Sub when it is opened, not when it is
//! started, so that a record committed by any node after `open` returned
//! reaches the feed, even one committed between `open` and `start` (two
//! nodes opened, then started, then appending). Until `start`, reports wait
//! here, in order; past [`MAX_HELD`] records, only each topic's newest
//! position is kept, and reported as `advanced` (the channel reads the
//! rest with `replay`).

use std::collections::HashMap;
use std::sync::Mutex;

use bourn_server::EventId;
use bourn_server::backend::{Feed, Health, Record};

/// Most records held before `start`.
const MAX_HELD: usize = 10_000;

/// One report for the feed.
#[derive(Debug)]
pub(crate) enum Report {
    Committed {
        topic: String,
        epoch: u64,
        record: Record,
    },
    Advanced {
        topic: String,
        position: EventId,
    },
    Lost {
        topic: String,
        position: EventId,
    },
}

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    feed: Option<Feed>,
    held: Vec<Report>,
    /// Past `MAX_HELD`: each topic's newest position, in its epoch.
    overflow: HashMap<String, EventId>,
    health: Option<Health>,
}

impl Outbox {
    /// Sends `report` to the feed, or holds it until there is one.
    pub(crate) fn report(&self, report: Report) {
        let feed = {
            let mut state = self.lock();
            match &state.feed {
                Some(feed) => feed.clone(),
                None => {
                    state.hold(report);
                    return;
                }
            }
        };
        // Outside the lock: a feed sink may take its own locks. The one
        // task that reports records does so in order.
        send(&feed, report);
    }

    /// Reports the backend's health, or holds the latest until `start`.
    pub(crate) fn health(&self, health: Health) {
        let feed = {
            let mut state = self.lock();
            match &state.feed {
                Some(feed) => feed.clone(),
                None => {
                    state.health = Some(health);
                    return;
                }
            }
        };
        feed.health(health);
    }

    /// Whether `start` gave a feed.
    #[cfg(test)]
    fn started(&self) -> bool {
        self.lock().feed.is_some()
    }

    /// Takes the feed and hands it everything held, in order. `false` if
    /// there was one already.
    pub(crate) fn start(&self, feed: Feed) -> bool {
        let mut state = self.lock();
        if state.feed.is_some() {
            return false;
        }
        // Under the lock: a report made meanwhile waits, and comes after.
        if let Some(health) = state.health.take() {
            feed.health(health);
        }
        for (topic, position) in state.overflow.drain() {
            feed.advanced(&topic, position.epoch(), position.seq());
        }
        for report in std::mem::take(&mut state.held) {
            send(&feed, report);
        }
        state.feed = Some(feed);
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl State {
    fn hold(&mut self, report: Report) {
        if self.held.len() < MAX_HELD {
            self.held.push(report);
            return;
        }
        let (topic, position) = match report {
            Report::Committed {
                topic,
                epoch,
                record,
            } => (topic, EventId::new(epoch, record.seq)),
            Report::Advanced { topic, position } => (topic, position),
            lost @ Report::Lost { .. } => {
                // Rare, and it changes what everything after it means.
                self.held.push(lost);
                return;
            }
        };
        let newest = self.overflow.entry(topic).or_insert(position);
        if newest.epoch() != position.epoch() || newest.seq() < position.seq() {
            *newest = position;
        }
    }
}

fn send(feed: &Feed, report: Report) {
    match report {
        Report::Committed {
            topic,
            epoch,
            record,
        } => feed.committed(&topic, epoch, record),
        Report::Advanced { topic, position } => {
            feed.advanced(&topic, position.epoch(), position.seq());
        }
        Report::Lost { topic, position } => feed.history_lost(&topic, position),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bourn_server::backend::FeedSink;
    use bytes::Bytes;

    use super::*;

    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);

    impl FeedSink for Log {
        fn committed(&self, topic: &str, epoch: u64, record: Record) {
            self.0
                .lock()
                .unwrap()
                .push(format!("c {topic} {}", EventId::new(epoch, record.seq)));
        }
        fn advanced(&self, topic: &str, epoch: u64, seq: u64) {
            self.0
                .lock()
                .unwrap()
                .push(format!("a {topic} {}", EventId::new(epoch, seq)));
        }
        fn history_lost(&self, topic: &str, position: EventId) {
            self.0.lock().unwrap().push(format!("l {topic} {position}"));
        }
        fn health(&self, health: Health) {
            self.0
                .lock()
                .unwrap()
                .push(format!("h {}", health.is_healthy()));
        }
    }

    fn committed(seq: u64) -> Report {
        Report::Committed {
            topic: "t".into(),
            epoch: 0xa,
            record: Record {
                seq,
                body: Bytes::new(),
            },
        }
    }

    #[test]
    fn holds_until_start_then_passes_through() {
        let outbox = Outbox::default();
        let log = Arc::new(Log::default());
        outbox.health(Health::Unhealthy("x".into()));
        outbox.health(Health::Healthy);
        outbox.report(committed(1));
        outbox.report(Report::Lost {
            topic: "t".into(),
            position: EventId::new(0xb, 0),
        });
        assert!(!outbox.started());
        assert!(outbox.start(Feed::new(log.clone())));
        assert!(!outbox.start(Feed::new(log.clone())));
        outbox.report(committed(2));
        assert_eq!(
            *log.0.lock().unwrap(),
            ["h true", "c t a.1", "l t b.0", "c t a.2"]
        );
    }

    #[test]
    fn past_the_bound_keeps_each_topics_newest_position() {
        let outbox = Outbox::default();
        let log = Arc::new(Log::default());
        for seq in 1..=(MAX_HELD as u64 + 5) {
            outbox.report(committed(seq));
        }
        outbox.start(Feed::new(log.clone()));
        let log = log.0.lock().unwrap();
        assert_eq!(log.len(), MAX_HELD + 1);
        assert_eq!(log[0], format!("a t a.{}", MAX_HELD + 5));
        assert_eq!(log[1], "c t a.1");
    }
}
