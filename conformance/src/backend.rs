//! The backend suite: what every [`Backend`] of bourn-server must do, run
//! by the memory backend's tests here and by `bourn-server-redb`'s and
//! `bourn-server-redis`'s own tests (feature `backends`), and by yours.
//! In the mould of object_store's integration suite: public async
//! functions that panic on the first violation, with a message that names
//! the rule.
//!
//! ```
//! use bourn_server::MemoryBackend;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // Each call gets a fresh backend (new storage); `second_node` (none
//! // for an in-process backend) would open another handle on the same one.
//! bourn_conformance::backend::run_all(async || MemoryBackend::new(), None::<fn() -> std::future::Ready<MemoryBackend>>).await;
//! # }
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test suite: a panic is the failure report"
)]

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bourn_server::backend::{Backend, Feed, FeedSink, Health, PageLimit, Record};
use bourn_server::{Channel, EventId, LastEventId};
use bytes::Bytes;
use futures_util::StreamExt;

/// What a backend reported through its feed, in order.
#[derive(Debug, Default)]
pub struct Recorder {
    /// `(topic, epoch, seq, body)` for every committed record.
    pub committed: Mutex<Vec<(String, u64, u64, Bytes)>>,
    /// `(topic, epoch, seq)` for every advance.
    pub advanced: Mutex<Vec<(String, u64, u64)>>,
    /// Every lost history.
    pub lost: Mutex<Vec<(String, EventId)>>,
    /// Every health report.
    pub health: Mutex<Vec<Health>>,
}

impl FeedSink for Recorder {
    fn committed(&self, topic: &str, epoch: u64, record: Record) {
        self.committed
            .lock()
            .unwrap()
            .push((topic.to_owned(), epoch, record.seq, record.body));
    }

    fn advanced(&self, topic: &str, epoch: u64, seq: u64) {
        self.advanced
            .lock()
            .unwrap()
            .push((topic.to_owned(), epoch, seq));
    }

    fn history_lost(&self, topic: &str, position: EventId) {
        self.lost.lock().unwrap().push((topic.to_owned(), position));
    }

    fn health(&self, health: Health) {
        self.health.lock().unwrap().push(health);
    }
}

impl Recorder {
    /// A recorder and a feed into it.
    pub fn feed() -> (Arc<Recorder>, Feed) {
        let recorder = Arc::new(Recorder::default());
        let feed = Feed::new(Arc::clone(&recorder) as Arc<dyn FeedSink>);
        (recorder, feed)
    }

    /// Waits (up to 5 s) until `n` records of `topic` were committed, and
    /// returns their seqs in the order reported.
    pub async fn wait_committed(&self, topic: &str, n: usize) -> Vec<u64> {
        for _ in 0..500 {
            let seqs = self.seqs(topic);
            if seqs.len() >= n {
                return seqs;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "the feed reported {} of {n} committed records of {topic} within 5 s",
            self.seqs(topic).len()
        );
    }

    fn seqs(&self, topic: &str) -> Vec<u64> {
        self.committed
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, ..)| t == topic)
            .map(|(_, _, seq, _)| *seq)
            .collect()
    }
}

fn body(n: u64) -> Bytes {
    Bytes::from(format!("data: {n}\n\n"))
}

/// Every check, each on a fresh backend from `fresh`. `second_node`, for a
/// backend shared between processes (Redis), opens another handle on the
/// storage of the *last* backend `fresh` made.
pub async fn run_all<B, F, G, Fut>(fresh: F, second_node: Option<G>)
where
    B: Backend,
    F: AsyncFn() -> B,
    G: Fn() -> Fut,
    Fut: Future<Output = B>,
{
    contiguous_seqs_and_positions(fresh().await).await;
    feed_reports_every_append_once_in_order(fresh().await).await;
    replay_bounds_and_paging(fresh().await).await;
    idempotency_keys(fresh().await).await;
    concurrent_appends_keep_order(fresh().await).await;
    removal_never_reuses_an_id(fresh().await).await;
    through_a_channel(fresh().await).await;
    if let Some(second_node) = second_node {
        let first = fresh().await;
        let second = second_node().await;
        two_nodes(first, second).await;
        let first = fresh().await;
        let second = second_node().await;
        two_channels(first, second).await;
    }
}

/// Seqs are contiguous from 1 per topic; once the feed reported a record
/// committed, `position` is at least it (a backend that acknowledges
/// before its commit may lag until then).
pub async fn contiguous_seqs_and_positions<B: Backend>(backend: B) {
    let (recorder, feed) = Recorder::feed();
    backend.start(feed).unwrap();
    let empty = backend.position("a").await.unwrap();
    assert_eq!(empty.seq(), 0, "an empty topic is at seq 0");
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(backend.append("a", body(n), None).await.unwrap());
    }
    let seqs: Vec<u64> = ids.iter().map(EventId::seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5], "seqs are contiguous from 1");
    assert!(
        ids.iter().all(|id| id.epoch() == ids[0].epoch()),
        "one epoch"
    );
    assert_eq!(
        backend.append("b", body(1), None).await.unwrap().seq(),
        1,
        "per topic"
    );
    recorder.wait_committed("a", 5).await;
    assert_eq!(
        backend.position("a").await.unwrap(),
        ids[4],
        "position is the newest committed id"
    );
}

/// Every append is reported through the feed once, in seq order per
/// topic, with its body unchanged.
pub async fn feed_reports_every_append_once_in_order<B: Backend>(backend: B) {
    let (recorder, feed) = Recorder::feed();
    backend.start(feed).unwrap();
    for n in 1..=20 {
        backend.append("t", body(n), None).await.unwrap();
    }
    let seqs = recorder.wait_committed("t", 20).await;
    // Allow the backend a moment to report anything extra (a repeat).
    tokio::time::sleep(Duration::from_millis(50)).await;
    let seqs_now = recorder.seqs("t");
    assert_eq!(
        seqs_now,
        (1..=20).collect::<Vec<_>>(),
        "each once, in order (was {seqs:?})"
    );
    let bodies: Vec<Bytes> = recorder
        .committed
        .lock()
        .unwrap()
        .iter()
        .map(|(.., body)| body.clone())
        .collect();
    assert_eq!(bodies[6], body(7), "bodies are opaque bytes, unchanged");
}

/// `replay` returns exactly `after < seq <= up_to`, a page at a time.
pub async fn replay_bounds_and_paging<B: Backend>(backend: B) {
    let (recorder, feed) = Recorder::feed();
    backend.start(feed).unwrap();
    let mut epoch = 0;
    for n in 1..=10 {
        epoch = backend.append("t", body(n), None).await.unwrap().epoch();
    }
    // Replay covers what the feed reported committed.
    recorder.wait_committed("t", 10).await;
    let all = PageLimit::DEFAULT;
    let seqs = |page: Option<Vec<Record>>| page.unwrap().iter().map(|r| r.seq).collect::<Vec<_>>();
    assert_eq!(
        seqs(backend.replay("t", epoch, 0, 10, all).await.unwrap()),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(
        seqs(backend.replay("t", epoch, 3, 6, all).await.unwrap()),
        [4, 5, 6],
        "bounds"
    );
    let page = backend
        .replay("t", epoch, 3, 6, all)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page[0].body, body(4), "the stored body");
    let two = PageLimit {
        max_events: 2,
        max_bytes: usize::MAX,
    };
    assert_eq!(
        seqs(backend.replay("t", epoch, 0, 10, two).await.unwrap()),
        [1, 2],
        "max_events"
    );
    let tiny = PageLimit {
        max_events: 100,
        max_bytes: 1,
    };
    assert_eq!(
        seqs(backend.replay("t", epoch, 4, 10, tiny).await.unwrap()),
        [5],
        "at least one record, however large"
    );
    let budget = PageLimit {
        max_events: 100,
        max_bytes: 2 * body(1).len(),
    };
    let n = seqs(backend.replay("t", epoch, 0, 10, budget).await.unwrap()).len();
    assert!(
        (1..=3).contains(&n),
        "max_bytes bounds the page ({n} records)"
    );
}

/// A repeated idempotency key stores nothing and answers the first id.
pub async fn idempotency_keys<B: Backend>(backend: B) {
    let (recorder, feed) = Recorder::feed();
    backend.start(feed).unwrap();
    let first = backend.append("t", body(1), Some("k")).await.unwrap();
    let again = backend.append("t", body(1), Some("k")).await.unwrap();
    assert_eq!(first, again, "a repeated key answers the first id");
    let other = backend.append("t", body(2), Some("k2")).await.unwrap();
    assert_eq!(other.seq(), 2, "the repeat stored nothing");
    assert_eq!(
        recorder.wait_committed("t", 2).await,
        [1, 2],
        "and reported nothing"
    );
}

/// Appends from many tasks at once: unique contiguous seqs, reported in order.
pub async fn concurrent_appends_keep_order<B: Backend>(backend: B) {
    let (recorder, feed) = Recorder::feed();
    backend.start(feed).unwrap();
    let backend = Arc::new(backend);
    let mut tasks = Vec::new();
    for task in 0..8u64 {
        let backend = Arc::clone(&backend);
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for n in 0..25 {
                seqs.push(
                    backend
                        .append("t", body(task * 100 + n), None)
                        .await
                        .unwrap()
                        .seq(),
                );
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=200).collect::<Vec<_>>(),
        "unique, contiguous seqs"
    );
    assert_eq!(
        recorder.wait_committed("t", 200).await,
        (1..=200).collect::<Vec<_>>(),
        "reported in seq order"
    );
}

/// Removing a topic deletes its history and never lets an id name two events.
pub async fn removal_never_reuses_an_id<B: Backend>(backend: B) {
    let (recorder, feed) = Recorder::feed();
    backend.start(feed).unwrap();
    let mut before = EventId::new(0, 0);
    for n in 1..=3 {
        before = backend.append("t", body(n), None).await.unwrap();
    }
    backend.remove_topic("t").await.unwrap();
    let after = backend.append("t", body(9), None).await.unwrap();
    assert!(
        after.epoch() != before.epoch() || after.seq() > before.seq(),
        "after removal, {after} must not reuse an id of the old history (last {before})"
    );
    if after.epoch() != before.epoch() {
        assert_eq!(after.seq(), 1);
        recorder.wait_committed("t", 4).await;
        let old = backend
            .replay("t", after.epoch(), 0, 1, PageLimit::DEFAULT)
            .await
            .unwrap();
        assert!(old.is_none_or(|page| page.iter().all(|r| r.body == body(9))));
    }
}

/// A channel on the backend: publish, live delivery, resume.
pub async fn through_a_channel<B: Backend>(backend: B) {
    let channel = Channel::builder().backend(backend).build().unwrap();
    let mut live = channel.subscribe("t", None).unwrap();
    let _prime = tokio::time::timeout(Duration::from_secs(5), live.next())
        .await
        .unwrap();
    let mut ids = Vec::new();
    for n in 1..=5 {
        let event = bourn_server::Event::message(n.to_string());
        ids.push(channel.publish("t", event).await.unwrap());
    }
    for id in &ids {
        let item = tokio::time::timeout(Duration::from_secs(5), live.next())
            .await
            .expect("live events arrive")
            .unwrap();
        let text = String::from_utf8_lossy(item.as_bytes()).into_owned();
        assert!(text.starts_with(&format!("id: {id}\n")), "{text:?} is {id}");
    }
    let last = LastEventId::new(ids[1].to_string()).unwrap();
    let mut resumed = channel.subscribe("t", Some(&last)).unwrap();
    for id in &ids[2..] {
        let item = tokio::time::timeout(Duration::from_secs(5), resumed.next())
            .await
            .expect("replayed events arrive")
            .unwrap();
        let text = String::from_utf8_lossy(item.as_bytes()).into_owned();
        assert!(
            text.starts_with(&format!("id: {id}\n")),
            "replayed {text:?} is {id}"
        );
    }
}

/// Two handles on one storage ("two nodes"): appends from both are one
/// history, and each node's feed reports every record once, in order.
pub async fn two_nodes<B: Backend>(first: B, second: B) {
    let (a, feed) = Recorder::feed();
    first.start(feed).unwrap();
    let (b, feed) = Recorder::feed();
    second.start(feed).unwrap();
    let topic = format!("two-nodes-{}", bourn_server::random_epoch());
    let mut ids = BTreeMap::new();
    for n in 1..=10 {
        let node = if n % 2 == 0 { &first } else { &second };
        let id = node.append(&topic, body(n), None).await.unwrap();
        ids.insert(id.seq(), id);
    }
    assert_eq!(
        ids.keys().copied().collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(
        a.wait_committed(&topic, 10).await,
        (1..=10).collect::<Vec<_>>(),
        "node 1's feed"
    );
    assert_eq!(
        b.wait_committed(&topic, 10).await,
        (1..=10).collect::<Vec<_>>(),
        "node 2's feed"
    );
}

/// Two channels ("two nodes") on one storage: publishers on both at once,
/// a subscriber on each gets every event exactly once, in seq order.
pub async fn two_channels<B: Backend>(first: B, second: B) {
    let a = Channel::builder().backend(first).build().unwrap();
    let b = Channel::builder().backend(second).build().unwrap();
    let topic = format!("two-channels-{}", bourn_server::random_epoch());
    let mut readers = Vec::new();
    for channel in [&a, &b] {
        let mut subscription = channel.subscribe(&topic, None).unwrap();
        let _prime = tokio::time::timeout(Duration::from_secs(5), subscription.next())
            .await
            .expect("a subscriber starts");
        readers.push(subscription);
    }
    let mut publishers = Vec::new();
    for (node, channel) in [a.clone(), b.clone()].into_iter().enumerate() {
        for task in 0..3 {
            let channel = channel.clone();
            let topic = topic.clone();
            publishers.push(tokio::spawn(async move {
                for n in 0..10 {
                    let data = format!("{node}-{task}-{n}");
                    channel
                        .publish(&topic, bourn_server::Event::message(data))
                        .await
                        .unwrap();
                }
            }));
        }
    }
    for publisher in publishers {
        publisher.await.unwrap();
    }
    for (node, reader) in readers.iter_mut().enumerate() {
        let mut seqs = Vec::new();
        let mut datas = std::collections::BTreeSet::new();
        for _ in 0..60 {
            let item = tokio::time::timeout(Duration::from_secs(10), reader.next())
                .await
                .unwrap_or_else(|_| panic!("node {node}: an event within 10 s"))
                .unwrap_or_else(|| panic!("node {node}: the stream ended"));
            let text = String::from_utf8_lossy(item.as_bytes()).into_owned();
            let id = text
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .unwrap()
                .to_owned();
            let seq: u64 = id.rsplit('.').next().unwrap().parse().unwrap();
            seqs.push(seq);
            let data = text
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap()
                .to_owned();
            assert!(datas.insert(data.clone()), "node {node}: {data} twice");
        }
        assert_eq!(
            seqs,
            (1..=60).collect::<Vec<_>>(),
            "node {node}: every event once, in order"
        );
    }
}
