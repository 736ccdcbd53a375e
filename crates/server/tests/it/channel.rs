use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bourn_codec::{Decoder, Event, Frame, Id, MessageEvent};
use bourn_server::{
    Channel, Encoded, EventId, LastEventId, MemoryBackend, RESET_EVENT, ResetReason, Subscription,
};
use bytes::BytesMut;
use futures_util::StreamExt;
use futures_util::task::noop_waker_ref;

fn message(data: &str) -> Event {
    Event::message(data.to_owned())
}

/// What a subscription has ready now, without waiting.
fn ready(subscription: &mut Subscription) -> (Vec<Encoded>, bool) {
    let mut cx = Context::from_waker(noop_waker_ref());
    let mut items = Vec::new();
    loop {
        match subscription.poll_next_unpin(&mut cx) {
            Poll::Ready(Some(item)) => items.push(item),
            Poll::Ready(None) => return (items, true),
            Poll::Pending => return (items, false),
        }
    }
}

/// Decodes encoded items with the codec.
fn decode(items: &[Encoded]) -> (Vec<MessageEvent>, String) {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for item in items {
        buf.extend_from_slice(item.as_bytes());
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            if let Frame::Event(event) = frame {
                events.push(event);
            }
        }
    }
    (events, decoder.last_event_id().to_owned())
}

fn datas(items: &[Encoded]) -> Vec<String> {
    decode(items)
        .0
        .iter()
        .map(|e| e.data().to_owned())
        .collect()
}

fn last(id: impl ToString) -> LastEventId {
    LastEventId::new(id.to_string()).unwrap()
}

#[tokio::test]
async fn fan_out_shares_one_encoding() {
    let channel = Channel::new();
    let mut subscribers: Vec<_> = (0..3)
        .map(|_| channel.subscribe("t", None).unwrap())
        .collect();
    let id = channel.publish("t", message("hello")).await.unwrap();
    let mut pointers = Vec::new();
    for subscriber in &mut subscribers {
        let (items, ended) = ready(subscriber);
        assert!(!ended);
        // A priming id block, then the event.
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].as_bytes(), &format!("id: {id}\ndata: hello\n\n"));
        pointers.push(items[1].as_bytes().as_ptr());
    }
    assert!(pointers.windows(2).all(|w| w[0] == w[1]), "{pointers:?}");
    // A resuming subscriber is replayed the same bytes from the backend.
    let mut late = channel
        .subscribe("t", Some(&last(EventId::new(id.epoch(), 0))))
        .unwrap();
    let (items, _) = ready(&mut late);
    assert_eq!(items[0].as_bytes(), &format!("id: {id}\ndata: hello\n\n"));
}

#[tokio::test]
async fn ids_are_epoch_and_contiguous_seq_per_topic() {
    let channel = Channel::new();
    let mut a = Vec::new();
    for _ in 0..3 {
        a.push(channel.publish("a", message("x")).await.unwrap());
    }
    let b = channel.publish("b", message("y")).await.unwrap();
    assert_eq!(a.iter().map(EventId::seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(b.seq(), 1);
    assert!(a.iter().all(|id| id.epoch() == b.epoch()));
    assert_eq!(channel.position("a").await.unwrap(), a[2]);
    assert_eq!(channel.position("none").await.unwrap().seq(), 0);
    // Any id set by the publisher is replaced.
    let event = Event::builder()
        .id(Id::from_static("mine"))
        .data("z")
        .build();
    let id = channel.publish("a", event).await.unwrap();
    assert_eq!(id.seq(), 4);
    let text = id.to_string();
    let (epoch, seq) = text.split_once('.').unwrap();
    assert!(
        u64::from_str_radix(epoch, 16).is_ok() && seq == "4",
        "{text}"
    );
    assert_ne!(
        Channel::new().position("a").await.unwrap().epoch(),
        id.epoch()
    );
}

#[tokio::test]
async fn resume_replays_exactly_what_was_missed_then_live() {
    let channel = Channel::new();
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(channel.publish("t", message(&n.to_string())).await.unwrap());
    }
    for after in [0usize, 1, 4] {
        let mut subscription = channel.subscribe("t", Some(&last(ids[after]))).unwrap();
        let got = datas(&ready(&mut subscription).0);
        let want: Vec<String> = ((after as u64 + 2)..=5).map(|n| n.to_string()).collect();
        assert_eq!(got, want, "after {}", ids[after]);
    }
    // Then live, with no duplicate of a replayed event.
    let mut subscription = channel.subscribe("t", Some(&last(ids[2]))).unwrap();
    channel.publish("t", message("6")).await.unwrap();
    let (items, ended) = ready(&mut subscription);
    assert!(!ended);
    assert_eq!(datas(&items), ["4", "5", "6"]);
    // Resuming from the newest id replays nothing.
    let mut subscription = channel
        .subscribe("t", Some(&last(channel.position("t").await.unwrap())))
        .unwrap();
    assert!(ready(&mut subscription).0.is_empty());
}

#[tokio::test]
async fn resume_under_concurrent_publishing_has_no_gap_and_no_duplicate() {
    // A history that keeps everything: a reset (trimmed) would be correct
    // but would hide the switch from replay to live that this test checks.
    let keep_all = MemoryBackend::new()
        .max_events(usize::MAX)
        .max_bytes(usize::MAX);
    let channel = Channel::builder()
        .backend(keep_all)
        .queue_len(100_000)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let channel = channel.clone();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) && n < 200_000 {
                n += 1;
                futures_executor::block_on(channel.publish("t", message(&n.to_string()))).unwrap();
            }
        })
    };
    for round in 0..200 {
        let top = channel.position("t").await.unwrap();
        let after = top.seq().saturating_sub(round % 50);
        let mut subscription = channel
            .subscribe("t", Some(&last(EventId::new(top.epoch(), after))))
            .unwrap();
        std::thread::yield_now();
        let (items, _) = ready(&mut subscription);
        let (events, _) = decode(&items);
        for (k, event) in events.iter().enumerate() {
            let seq: u64 = event.data().parse().unwrap();
            assert_eq!(seq, after + 1 + k as u64, "round {round}: gap or duplicate");
            assert_eq!(
                event.id(),
                Some(&*EventId::new(top.epoch(), seq).to_string())
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    publisher.join().unwrap();
}

#[tokio::test]
async fn unresumable_ids_get_a_reset_event_with_the_position() {
    let small = MemoryBackend::new().max_events(2);
    let channel = Channel::builder().backend(small).build().unwrap();
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(channel.publish("t", message(&n.to_string())).await.unwrap());
    }
    let position = channel.position("t").await.unwrap();
    let other_epoch = Channel::new().publish("t", message("x")).await.unwrap();
    let cases = [
        (ids[1].to_string(), "trimmed"),
        (other_epoch.to_string(), "epoch"),
        ("not-ours".to_owned(), "unknown"),
        ("1.".to_owned(), "unknown"),
        (EventId::new(position.epoch(), 1_000).to_string(), "ahead"),
    ];
    for (sent, reason) in cases {
        let mut subscription = channel.subscribe("t", Some(&last(&sent))).unwrap();
        channel.publish("t", message("live")).await.unwrap();
        let (items, _) = ready(&mut subscription);
        let (events, _) = decode(&items);
        assert_eq!(events[0].event_type(), RESET_EVENT, "{sent}");
        assert_eq!(events[0].data(), reason, "{sent}");
        let position = channel.position("t").await.unwrap();
        assert_eq!(
            events[0].id(),
            Some(&*EventId::new(position.epoch(), position.seq() - 1).to_string())
        );
        assert_eq!(events.len(), 2, "{sent}: reset then the live event");
        assert_eq!(events[1].data(), "live");
    }
    // Still retained: replayed, no reset.
    let top = channel.position("t").await.unwrap();
    let retained = EventId::new(top.epoch(), top.seq() - 1);
    let mut subscription = channel.subscribe("t", Some(&last(retained))).unwrap();
    let (events, _) = decode(&ready(&mut subscription).0);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type(), "message");
}

#[tokio::test]
async fn fresh_subscriber_is_primed_with_its_position() {
    let channel = Channel::new();
    channel.publish("t", message("before")).await.unwrap();
    let mut subscription = channel.subscribe("t", None).unwrap();
    let (items, _) = ready(&mut subscription);
    let (events, last_event_id) = decode(&items);
    assert!(events.is_empty());
    assert_eq!(
        last_event_id,
        channel.position("t").await.unwrap().to_string()
    );
    let unprimed = Channel::builder().prime(false).build().unwrap();
    assert!(
        ready(&mut unprimed.subscribe("t", None).unwrap())
            .0
            .is_empty()
    );
}

#[tokio::test]
async fn limits_answer_busy_and_free_up_on_drop() {
    let channel = Channel::builder()
        .max_subscribers(3)
        .max_topic_subscribers(2)
        .max_topics(2)
        .build()
        .unwrap();
    let a1 = channel.subscribe("a", None).unwrap();
    let a2 = channel.subscribe("a", None).unwrap();
    let error = channel.subscribe("a", None).unwrap_err();
    assert!(error.is_busy());
    assert_eq!(error.limit(), Some(2));
    let b1 = channel.subscribe("b", None).unwrap();
    let error = channel.subscribe("b", None).unwrap_err();
    assert!(error.is_busy());
    assert_eq!(error.limit(), Some(3));
    assert_eq!(channel.subscriber_count(), 3);
    drop(a1);
    assert_eq!(channel.subscriber_count(), 2);
    assert_eq!(channel.topic_subscriber_count("a"), 1);
    let error = channel.subscribe("c", None).unwrap_err();
    assert!(error.is_too_many_topics());
    assert_eq!(error.limit(), Some(2));
    let again = channel.subscribe("a", None).unwrap();
    drop((a2, b1, again));
    assert_eq!(channel.subscriber_count(), 0);
    // Topics leave with their last subscriber: a subscribe holds nothing.
    assert_eq!(channel.stats().topics, 0);
    let c = channel.subscribe("c", None).unwrap();
    assert_eq!(channel.stats().topics, 1);
    drop(c);
    assert_eq!(channel.stats().busy, 3);
}

#[tokio::test]
async fn a_full_queue_disconnects_only_that_subscriber() {
    let channel = Channel::builder().queue_len(4).build().unwrap();
    let mut slow = channel.subscribe("t", None).unwrap();
    let mut fast = channel.subscribe("t", None).unwrap();
    let mut received = Vec::new();
    for n in 0..20 {
        channel.publish("t", message(&n.to_string())).await.unwrap();
        received.extend(ready(&mut fast).0);
    }
    assert_eq!(
        datas(&received),
        (0..20).map(|n| n.to_string()).collect::<Vec<_>>()
    );
    let (items, ended) = ready(&mut slow);
    // Only the priming id was taken before the queue overflowed; then the end.
    assert!(ended);
    assert!(datas(&items).is_empty());
    assert_eq!(channel.topic_subscriber_count("t"), 1);
    assert_eq!(channel.subscriber_count(), 1);
    drop(slow);
    assert_eq!(channel.subscriber_count(), 1);
}

#[tokio::test]
async fn stats_count_what_the_channel_did() {
    let channel = Channel::builder()
        .backend(MemoryBackend::new().max_events(2))
        .queue_len(1)
        .build()
        .unwrap();
    let mut a = channel.subscribe("t", None).unwrap();
    let mut b = channel.subscribe("t", None).unwrap();
    ready(&mut a);
    ready(&mut b);
    let first = channel.publish("t", message("1")).await.unwrap();
    ready(&mut a);
    // b did not read: its queue (1) overflows on the second event.
    channel.publish("t", message("2")).await.unwrap();
    ready(&mut a);
    channel.publish("t", message("3")).await.unwrap();
    let (_, ended) = ready(&mut b);
    assert!(ended);
    let mut resumed = channel.subscribe("t", Some(&last(first))).unwrap();
    assert_eq!(datas(&ready(&mut resumed).0), ["2", "3"]);
    let mut trimmed = channel
        .subscribe("t", Some(&last(EventId::new(first.epoch(), 0))))
        .unwrap();
    ready(&mut trimmed);
    let stats = channel.stats();
    assert_eq!(stats.published, 3);
    // 1 to a and b; 2 to a (b lagged); 3 to a.
    assert_eq!(stats.delivered, 4);
    assert_eq!(stats.lag_disconnects, 1);
    assert_eq!(stats.replayed, 2);
    assert_eq!(stats.resets(ResetReason::Trimmed), 1);
    assert_eq!(stats.subscribers, 3);
    assert_eq!(stats.topics, 1);
    assert_eq!(channel.topic_subscribers(), [("t".to_owned(), 3)]);
}

#[tokio::test]
async fn idempotent_publishes_are_published_once() {
    let channel = Channel::new();
    let mut subscription = channel.subscribe("t", None).unwrap();
    let first = channel
        .publish_idempotent("t", "k1", message("once"))
        .await
        .unwrap();
    let again = channel
        .publish_idempotent("t", "k1", message("once"))
        .await
        .unwrap();
    assert_eq!(first, again);
    let other = channel
        .publish_idempotent("t", "k2", message("twice"))
        .await
        .unwrap();
    assert_eq!(other.seq(), first.seq() + 1);
    assert_eq!(datas(&ready(&mut subscription).0), ["once", "twice"]);
}

#[tokio::test]
async fn idle_topics_expire_but_not_while_subscribed_or_published_to() {
    let channel = Channel::builder()
        .idle_topic_ttl(std::time::Duration::from_millis(200))
        .build()
        .unwrap();
    let old = channel.publish("idle", message("x")).await.unwrap();
    channel.publish("watched", message("x")).await.unwrap();
    let _watcher = channel.subscribe("watched", None).unwrap();
    for _ in 0..8 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        channel.publish("busy", message("x")).await.unwrap();
    }
    // Expired: its history is gone and it starts again in a new epoch.
    let position = channel.position("idle").await.unwrap();
    assert_eq!(position.seq(), 0);
    assert_ne!(position.epoch(), old.epoch());
    assert_eq!(channel.position("watched").await.unwrap().seq(), 1);
    assert_eq!(channel.position("busy").await.unwrap().seq(), 8);
    assert_eq!(channel.stats().expired_topics, 1);
}
