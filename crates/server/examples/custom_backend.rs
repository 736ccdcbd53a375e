//! A backend written outside bourn-server, against its public contract
//! only (`bourn_server::backend`), run through the backend suite every
//! backend passes, then served by a channel.
//!
//! ```text
//! cargo run -p bourn-server --example custom_backend
//! ```
//!
//! The backend keeps every topic's events in a `Vec` behind one lock: the
//! seq is the index + 1, so `append` assigns it and stores the body in one
//! step, and reports the record to the channel before answering (delivery
//! after storage, in seq order). A real one (Postgres, NATS JetStream)
//! differs in where the events live, not in this shape.
#![expect(clippy::print_stdout, reason = "an example prints what it did")]

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use bourn_server::backend::{Backend, BackendError, Feed, PageLimit, Record};
use bourn_server::{Channel, Event, EventId, random_epoch};
use bytes::Bytes;
use futures_util::StreamExt;

/// Every event of every topic, in memory, for ever (no retention).
#[derive(Debug)]
struct VecBackend {
    topics: Mutex<HashMap<String, Topic>>,
    feed: OnceLock<Feed>,
}

#[derive(Debug)]
struct Topic {
    epoch: u64,
    events: Vec<Bytes>,
    /// Idempotency keys and the seq each got (kept for ever, like the events).
    keys: HashMap<String, u64>,
}

impl VecBackend {
    fn new() -> VecBackend {
        VecBackend {
            topics: Mutex::new(HashMap::new()),
            feed: OnceLock::new(),
        }
    }
}

/// The lock was poisoned by a panic elsewhere: refuse, do not guess.
fn poisoned<T>(_: T) -> BackendError {
    BackendError::unavailable("the backend's lock was poisoned")
}

impl Backend for VecBackend {
    fn start(&self, feed: Feed) -> Result<(), BackendError> {
        self.feed
            .set(feed)
            .map_err(|_| BackendError::unavailable("started twice"))
    }

    async fn append(
        &self,
        topic: &str,
        body: Bytes,
        key: Option<&str>,
    ) -> Result<EventId, BackendError> {
        let mut topics = self.topics.lock().map_err(poisoned)?;
        let entry = topics.entry(topic.to_owned()).or_insert_with(|| Topic {
            epoch: random_epoch(),
            events: Vec::new(),
            keys: HashMap::new(),
        });
        if let Some(seq) = key.and_then(|key| entry.keys.get(key)) {
            return Ok(EventId::new(entry.epoch, *seq));
        }
        entry.events.push(body.clone());
        let seq = entry.events.len() as u64;
        if let Some(key) = key {
            entry.keys.insert(key.to_owned(), seq);
        }
        if let Some(feed) = self.feed.get() {
            feed.committed(topic, entry.epoch, Record { seq, body });
        }
        Ok(EventId::new(entry.epoch, seq))
    }

    async fn position(&self, topic: &str) -> Result<EventId, BackendError> {
        let topics = self.topics.lock().map_err(poisoned)?;
        Ok(match topics.get(topic) {
            Some(entry) => EventId::new(entry.epoch, entry.events.len() as u64),
            // The epoch an empty topic reports may differ from the one its
            // first event draws: the channel resets nobody for that.
            None => EventId::new(0, 0),
        })
    }

    async fn replay(
        &self,
        topic: &str,
        epoch: u64,
        after: u64,
        up_to: u64,
        limit: PageLimit,
    ) -> Result<Option<Vec<Record>>, BackendError> {
        let topics = self.topics.lock().map_err(poisoned)?;
        let Some(entry) = topics.get(topic) else {
            return Ok(Some(Vec::new()));
        };
        if entry.epoch != epoch {
            // Another history now (the topic was removed and written again).
            return Ok(None);
        }
        let mut page = Vec::new();
        let mut bytes = 0;
        for seq in after + 1..=up_to.min(entry.events.len() as u64) {
            if limit.is_full(page.len(), bytes) {
                break;
            }
            let body = entry.events[seq as usize - 1].clone();
            bytes += body.len();
            page.push(Record { seq, body });
        }
        Ok(Some(page))
    }

    async fn remove_topic(&self, topic: &str) -> Result<(), BackendError> {
        // The next append draws a new epoch: no id names two events.
        self.topics.lock().map_err(poisoned)?.remove(topic);
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The suite every backend passes (it panics on the first violation).
    bourn_conformance::backend::run_all(
        async || VecBackend::new(),
        None::<fn() -> std::future::Ready<VecBackend>>,
    )
    .await;
    println!("VecBackend passes the backend suite");

    // Served by a channel like any other backend.
    let channel = Channel::builder().backend(VecBackend::new()).build()?;
    let mut subscription = channel.subscribe("news", None)?;
    let id = channel.publish("news", Event::message("hello")).await?;
    let _prime = subscription.next().await;
    if let Some(event) = subscription.next().await {
        println!("{id}: {:?}", String::from_utf8_lossy(event.as_bytes()));
    }
    Ok(())
}
