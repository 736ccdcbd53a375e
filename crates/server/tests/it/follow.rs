//! The channel's follower and failure model against a scripted backend: the
//! test decides what the backend reports (gaps, repeats, other epochs, lost
//! histories) and how its calls fail.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bourn_codec::{Decoder, Event, Frame};
use bourn_server::backend::{Backend, BackendError, Feed, Health, PageLimit, Record};
use bourn_server::{
    Channel, Encoded, EventId, LastEventId, RESET_EVENT, ResetReason, Subscription,
};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

const EPOCH: u64 = 0xabc;

#[derive(Debug, Default)]
struct Script {
    epoch: u64,
    records: BTreeMap<u64, Bytes>,
    /// Records below this seq are trimmed.
    first: u64,
    feed: Option<Feed>,
    /// Report appends through the feed at once (like the memory backend).
    report: bool,
    /// Fail the next n replays.
    fail_replays: u32,
    /// The next append fails like this.
    fail_append: Option<fn() -> BackendError>,
    /// Every replay call: (after, up_to, records returned).
    replays: Vec<(u64, u64, usize)>,
}

#[derive(Debug, Clone, Default)]
struct Scripted(Arc<Mutex<Script>>);

impl Scripted {
    fn new() -> Scripted {
        let scripted = Scripted::default();
        {
            let mut script = scripted.lock();
            script.epoch = EPOCH;
            script.first = 1;
        }
        scripted
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.0.lock().unwrap()
    }

    /// Stores records 1..=n ("1", "2", ...) without reporting them.
    fn store(&self, n: u64) {
        let mut script = self.lock();
        for seq in 1..=n {
            script.records.insert(seq, body(seq));
        }
    }

    fn feed(&self) -> Feed {
        self.lock().feed.clone().unwrap()
    }

    fn commit(&self, seq: u64) {
        let (feed, epoch) = {
            let script = self.lock();
            (script.feed.clone().unwrap(), script.epoch)
        };
        feed.committed(
            "t",
            epoch,
            Record {
                seq,
                body: body(seq),
            },
        );
    }
}

fn body(seq: u64) -> Bytes {
    Event::message(seq.to_string()).to_bytes()
}

impl Backend for Scripted {
    fn start(&self, feed: Feed) -> Result<(), BackendError> {
        self.lock().feed = Some(feed);
        Ok(())
    }

    async fn append(
        &self,
        topic: &str,
        body: Bytes,
        _key: Option<&str>,
    ) -> Result<EventId, BackendError> {
        let mut script = self.lock();
        if let Some(fail) = script.fail_append.take() {
            return Err(fail());
        }
        let seq = script.records.keys().next_back().map_or(1, |last| last + 1);
        script.records.insert(seq, body.clone());
        if script.report {
            let feed = script.feed.clone().unwrap();
            let epoch = script.epoch;
            drop(script);
            feed.committed(topic, epoch, Record { seq, body });
            return Ok(EventId::new(epoch, seq));
        }
        Ok(EventId::new(script.epoch, seq))
    }

    async fn position(&self, _topic: &str) -> Result<EventId, BackendError> {
        let script = self.lock();
        let last = script.records.keys().next_back().copied().unwrap_or(0);
        Ok(EventId::new(script.epoch, last))
    }

    async fn replay(
        &self,
        _topic: &str,
        epoch: u64,
        after: u64,
        up_to: u64,
        limit: PageLimit,
    ) -> Result<Option<Vec<Record>>, BackendError> {
        let mut script = self.lock();
        if script.fail_replays > 0 {
            script.fail_replays -= 1;
            script.replays.push((after, up_to, 0));
            return Err(BackendError::unavailable("scripted replay failure"));
        }
        if epoch != script.epoch || after + 1 < script.first {
            script.replays.push((after, up_to, 0));
            return Ok(None);
        }
        let page: Vec<Record> = script
            .records
            .range(after + 1..=up_to)
            .take(limit.max_events)
            .map(|(seq, body)| Record {
                seq: *seq,
                body: body.clone(),
            })
            .collect();
        script.replays.push((after, up_to, page.len()));
        Ok(Some(page))
    }

    async fn remove_topic(&self, _topic: &str) -> Result<(), BackendError> {
        let mut script = self.lock();
        script.records.clear();
        script.epoch += 1;
        Ok(())
    }
}

fn channel(backend: &Scripted) -> Channel {
    Channel::builder().backend(backend.clone()).build().unwrap()
}

/// The next item, or a panic after 2 s.
async fn next(subscription: &mut Subscription) -> Option<Encoded> {
    tokio::time::timeout(Duration::from_secs(2), subscription.next())
        .await
        .expect("the subscription stalled")
}

/// Decodes one item: (event type, data, id).
fn event(item: &Encoded) -> (String, String, String) {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from(&item.as_bytes()[..]);
    loop {
        match decoder.decode(&mut buf).unwrap() {
            Some(Frame::Event(event)) => {
                return (
                    event.event_type().to_owned(),
                    event.data().to_owned(),
                    decoder.last_event_id().to_owned(),
                );
            }
            Some(_) => continue,
            None => {
                return (
                    String::new(),
                    String::new(),
                    decoder.last_event_id().to_owned(),
                );
            }
        }
    }
}

/// The data of the next n items.
async fn datas(subscription: &mut Subscription, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(event(&next(subscription).await.unwrap()).1);
    }
    out
}

fn numbers(range: std::ops::RangeInclusive<u64>) -> Vec<String> {
    range.map(|n| n.to_string()).collect()
}

async fn primed(channel: &Channel) -> Subscription {
    let mut subscription = channel.subscribe("t", None).unwrap();
    let prime = next(&mut subscription).await.unwrap();
    assert_eq!(event(&prime).0, "", "an id-only prime");
    subscription
}

#[tokio::test]
async fn gaps_are_filled_by_replay_and_repeats_dropped() {
    let backend = Scripted::new();
    let channel = channel(&backend);
    let mut subscription = primed(&channel).await;
    backend.store(6);
    // The feed skips 2..=4 and repeats 1 and 5.
    for seq in [1, 1, 5, 5, 6] {
        backend.commit(seq);
    }
    assert_eq!(datas(&mut subscription, 6).await, numbers(1..=6));
    backend.commit(6);
    backend.commit(3);
    backend.store(7);
    backend.commit(7);
    assert_eq!(datas(&mut subscription, 1).await, ["7"]);
    assert!(
        backend
            .lock()
            .replays
            .iter()
            .any(|(after, _, n)| *after == 1 && *n > 0)
    );
}

#[tokio::test]
async fn advanced_without_bodies_is_read_by_replay() {
    let backend = Scripted::new();
    let channel = channel(&backend);
    let mut subscription = primed(&channel).await;
    backend.store(3);
    backend.feed().advanced("t", EPOCH, 3);
    assert_eq!(datas(&mut subscription, 3).await, numbers(1..=3));
}

#[tokio::test]
async fn a_failing_gap_read_is_retried_then_reset_as_unavailable_never_trimmed() {
    let backend = Scripted::new();
    let channel = channel(&backend);
    let mut subscription = primed(&channel).await;
    backend.store(3);
    backend.lock().fail_replays = 2;
    backend.commit(3);
    assert_eq!(datas(&mut subscription, 3).await, numbers(1..=3), "retried");
    drop(subscription);

    let mut subscription = primed(&channel).await;
    backend.store(6);
    backend.lock().fail_replays = 100;
    backend.commit(6);
    let reset = event(&next(&mut subscription).await.unwrap());
    assert_eq!(reset.0, RESET_EVENT);
    assert_eq!(reset.1, "unavailable");
    assert_eq!(reset.2, EventId::new(EPOCH, 6).to_string());
    assert!(
        next(&mut subscription).await.is_none(),
        "the stream ends after a reset"
    );
    assert_eq!(channel.stats().resets(ResetReason::Unavailable), 1);
    assert_eq!(channel.stats().resets(ResetReason::Trimmed), 0);
}

#[tokio::test]
async fn a_trimmed_gap_is_a_trimmed_reset() {
    let backend = Scripted::new();
    let channel = channel(&backend);
    let mut subscription = primed(&channel).await;
    backend.store(5);
    backend.lock().first = 4;
    backend.commit(5);
    let reset = event(&next(&mut subscription).await.unwrap());
    assert_eq!(
        (reset.0.as_str(), reset.1.as_str()),
        (RESET_EVENT, "trimmed")
    );
    assert_eq!(reset.2, EventId::new(EPOCH, 5).to_string());
}

#[tokio::test]
async fn another_epoch_or_a_lost_history_resets_subscribers() {
    let backend = Scripted::new();
    let channel = channel(&backend);
    let mut subscription = primed(&channel).await;
    backend.store(1);
    backend.commit(1);
    assert_eq!(datas(&mut subscription, 1).await, ["1"]);
    backend.lock().epoch = EPOCH + 1;
    backend.commit(1);
    let reset = event(&next(&mut subscription).await.unwrap());
    assert_eq!((reset.0.as_str(), reset.1.as_str()), (RESET_EVENT, "epoch"));
    assert_eq!(reset.2, EventId::new(EPOCH + 1, 0).to_string());
    assert!(next(&mut subscription).await.is_none());

    let mut subscription = primed(&channel).await;
    backend.feed().history_lost("t", EventId::new(EPOCH + 7, 0));
    let reset = event(&next(&mut subscription).await.unwrap());
    assert_eq!(
        (reset.0.as_str(), reset.2.as_str()),
        (RESET_EVENT, &*EventId::new(EPOCH + 7, 0).to_string())
    );
    assert_eq!(channel.stats().resets(ResetReason::Epoch), 2);
}

#[tokio::test]
async fn a_new_topic_drawing_its_epoch_resets_nobody() {
    let backend = Scripted::new();
    let channel = channel(&backend);
    let mut subscription = primed(&channel).await;
    // The first event comes in another epoch than the empty topic reported.
    backend.lock().epoch = EPOCH + 1;
    backend.store(1);
    backend.commit(1);
    let first = event(&next(&mut subscription).await.unwrap());
    assert_eq!(
        (first.1.as_str(), first.2.as_str()),
        ("1", &*EventId::new(EPOCH + 1, 1).to_string())
    );
}

#[tokio::test]
async fn resume_reads_bounded_pages_as_the_subscriber_reads() {
    let backend = Scripted::new();
    backend.store(1000);
    let channel = channel(&backend);
    let last = LastEventId::new(EventId::new(EPOCH, 10).to_string()).unwrap();
    let mut subscription = channel.subscribe("t", Some(&last)).unwrap();
    assert_eq!(datas(&mut subscription, 5).await, numbers(11..=15));
    // Only the first page was read so far.
    let replays = backend.lock().replays.clone();
    assert_eq!(replays.len(), 1, "{replays:?}");
    assert_eq!(replays[0].2, PageLimit::DEFAULT.max_events);
    assert_eq!(datas(&mut subscription, 985).await, numbers(16..=1000));
    let replays = backend.lock().replays.clone();
    assert!(
        replays
            .iter()
            .all(|(_, up_to, n)| *up_to == 1000 && *n <= 256),
        "{replays:?}"
    );
    assert_eq!(channel.stats().replayed, 990);
}

#[tokio::test]
async fn resume_failures_are_retried_then_reset_as_unavailable() {
    let backend = Scripted::new();
    backend.store(10);
    let channel = channel(&backend);
    let last = LastEventId::new(EventId::new(EPOCH, 2).to_string()).unwrap();
    backend.lock().fail_replays = 2;
    let mut subscription = channel.subscribe("t", Some(&last)).unwrap();
    assert_eq!(
        datas(&mut subscription, 8).await,
        numbers(3..=10),
        "retried"
    );

    backend.lock().fail_replays = 100;
    let mut subscription = channel.subscribe("t", Some(&last)).unwrap();
    let reset = event(&next(&mut subscription).await.unwrap());
    assert_eq!(
        (reset.0.as_str(), reset.1.as_str()),
        (RESET_EVENT, "unavailable")
    );
    assert_eq!(reset.2, EventId::new(EPOCH, 10).to_string());
    // Then live events.
    backend.lock().fail_replays = 0;
    backend.store(11);
    backend.commit(11);
    assert_eq!(datas(&mut subscription, 1).await, ["11"]);
}

#[tokio::test]
async fn publish_failures_say_whether_anything_was_published() {
    let backend = Scripted::new();
    let channel = channel(&backend);
    backend.lock().fail_append = Some(|| BackendError::unavailable("refused"));
    let error = channel.publish("t", Event::message("a")).await.unwrap_err();
    assert!(error.is_unavailable() && !error.is_outcome_unknown());
    assert!(
        error.to_string().contains("nothing was published"),
        "{error}"
    );
    backend.lock().fail_append = Some(|| BackendError::outcome_unknown("no reply"));
    let error = channel.publish("t", Event::message("a")).await.unwrap_err();
    assert!(error.is_outcome_unknown() && !error.is_unavailable());
    assert!(error.to_string().contains("may or may not"), "{error}");
    let stats = channel.stats();
    assert_eq!(
        (
            stats.publish_failures,
            stats.publish_unknown,
            stats.published
        ),
        (1, 1, 0)
    );
}

#[tokio::test]
async fn backends_report_their_health() {
    let backend = Scripted::new();
    let channel = channel(&backend);
    assert!(channel.stats().backend_health.is_healthy());
    backend
        .feed()
        .health(Health::Unhealthy("pub/sub silent for 10 s".into()));
    assert_eq!(
        channel.stats().backend_health,
        Health::Unhealthy("pub/sub silent for 10 s".into())
    );
    backend.feed().health(Health::Healthy);
    assert!(channel.stats().backend_health.is_healthy());
}

#[tokio::test]
async fn removing_a_topic_resets_its_subscribers() {
    let backend = Scripted::new();
    backend.lock().report = true;
    let channel = channel(&backend);
    let mut subscription = primed(&channel).await;
    channel.publish("t", Event::message("1")).await.unwrap();
    assert_eq!(datas(&mut subscription, 1).await, ["1"]);
    channel.remove_topic("t").await.unwrap();
    let reset = event(&next(&mut subscription).await.unwrap());
    assert_eq!(
        (reset.0.as_str(), reset.1.as_str()),
        (RESET_EVENT, "removed")
    );
    assert_eq!(reset.2, EventId::new(EPOCH + 1, 0).to_string());
    assert!(next(&mut subscription).await.is_none());
}

#[tokio::test]
async fn a_gap_that_turns_out_to_be_another_history_is_an_epoch_reset() {
    let backend = Scripted::new();
    let channel = channel(&backend);
    let mut subscription = primed(&channel).await;
    backend.store(1);
    backend.commit(1);
    assert_eq!(datas(&mut subscription, 1).await, ["1"]);
    // The channel hears of seq 5 in its epoch, but by the time it reads the
    // gap the backend holds another history: its records must not be
    // delivered under the old epoch.
    backend.store(5);
    backend.lock().epoch = EPOCH + 1;
    backend.feed().advanced("t", EPOCH, 5);
    let reset = event(&next(&mut subscription).await.unwrap());
    assert_eq!((reset.0.as_str(), reset.1.as_str()), (RESET_EVENT, "epoch"));
    assert_eq!(reset.2, EventId::new(EPOCH + 1, 5).to_string());
    assert!(next(&mut subscription).await.is_none());
}
