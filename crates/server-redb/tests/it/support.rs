//! A recording `FeedSink` and helpers; nothing here knows the backend, so
//! the contract tests can move to `bourn-conformance` as they are.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bourn_server::EventId;
use bourn_server::backend::{Feed, FeedSink, Health, Record};
use tokio::sync::Notify;

/// Every wait in these tests is bounded by this.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// What a backend reported through its feed.
#[derive(Debug, Default, Clone)]
pub struct Reported {
    /// Per topic, every committed record in the order reported, with its epoch.
    pub committed: BTreeMap<String, Vec<(u64, Record)>>,
    pub advanced: Vec<(String, u64, u64)>,
    pub lost: Vec<(String, EventId)>,
    pub health: Vec<Health>,
}

/// A `FeedSink` that records everything and wakes waiters.
#[derive(Default)]
pub struct Recorder {
    reported: Mutex<Reported>,
    changed: Notify,
}

impl Recorder {
    pub fn new() -> Arc<Recorder> {
        Arc::new(Recorder::default())
    }

    pub fn feed(self: &Arc<Self>) -> Feed {
        Feed::new(Arc::clone(self) as Arc<dyn FeedSink>)
    }

    /// The seqs reported for `topic`, in order.
    pub fn seqs(&self, topic: &str) -> Vec<u64> {
        let reported = self.reported.lock().unwrap();
        reported
            .committed
            .get(topic)
            .map(|records| records.iter().map(|(_, r)| r.seq).collect())
            .unwrap_or_default()
    }

    /// Waits until `done` holds for what was reported.
    pub async fn until(&self, what: &str, done: impl Fn(&Reported) -> bool) -> Reported {
        within(what, async {
            loop {
                let changed = self.changed.notified();
                {
                    let reported = self.reported.lock().unwrap();
                    if done(&reported) {
                        return reported.clone();
                    }
                }
                changed.await;
            }
        })
        .await
    }

    fn update(&self, f: impl FnOnce(&mut Reported)) {
        f(&mut self.reported.lock().unwrap());
        self.changed.notify_waiters();
    }
}

impl FeedSink for Recorder {
    fn committed(&self, topic: &str, epoch: u64, record: Record) {
        self.update(|r| {
            r.committed
                .entry(topic.to_owned())
                .or_default()
                .push((epoch, record))
        });
    }

    fn advanced(&self, topic: &str, epoch: u64, seq: u64) {
        self.update(|r| r.advanced.push((topic.to_owned(), epoch, seq)));
    }

    fn history_lost(&self, topic: &str, position: EventId) {
        self.update(|r| r.lost.push((topic.to_owned(), position)));
    }

    fn health(&self, health: Health) {
        self.update(|r| r.health.push(health));
    }
}

/// A fresh folder, removed when dropped (even when the test fails).
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("bourn-redb-")
        .tempdir()
        .unwrap()
}

/// A body as the channel would store it (no `id:` line).
pub fn body(text: &str) -> bytes::Bytes {
    bytes::Bytes::from(format!("data: {text}\n\n"))
}
