use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bourn_codec::{Decoder, Event, Frame};
use bourn_server::{Channel, Encoded, EventId, LastEventId, MemoryLog, RESET_EVENT, Subscription};
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
fn decode(items: &[Encoded]) -> (Vec<Event>, String) {
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

#[test]
fn fan_out_shares_one_encoding() {
    let channel = Channel::new();
    let mut subscribers: Vec<_> = (0..3)
        .map(|_| channel.subscribe("t", None).unwrap())
        .collect();
    let id = channel.publish("t", message("hello")).unwrap();
    let mut pointers = Vec::new();
    for subscriber in &mut subscribers {
        let (items, ended) = ready(subscriber);
        assert!(!ended);
        // A priming id block, then the event.
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].as_bytes(), &format!("id: {id}\ndata: hello\n\n"));
        pointers.push(items[1].as_bytes().as_ptr());
    }
    // A resuming subscriber is replayed the same bytes from the log.
    let mut late = channel
        .subscribe("t", Some(&last(EventId::new(id.epoch(), 0))))
        .unwrap();
    let (items, _) = ready(&mut late);
    pointers.push(items[0].as_bytes().as_ptr());
    assert!(pointers.windows(2).all(|w| w[0] == w[1]), "{pointers:?}");
}

#[test]
fn ids_are_epoch_and_contiguous_seq_per_topic() {
    let channel = Channel::new();
    let a: Vec<EventId> = (0..3)
        .map(|_| channel.publish("a", message("x")).unwrap())
        .collect();
    let b = channel.publish("b", message("y")).unwrap();
    assert_eq!(a.iter().map(EventId::seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(b.seq(), 1);
    assert!(a.iter().all(|id| id.epoch() == b.epoch()));
    assert_eq!(channel.position("a"), a[2]);
    assert_eq!(channel.position("none").seq(), 0);
    // Any id set by the publisher is replaced.
    let event = Event::builder().id("mine").data("z").build().unwrap();
    let id = channel.publish("a", event).unwrap();
    assert_eq!(id.seq(), 4);
    let text = id.to_string();
    let (epoch, seq) = text.split_once('.').unwrap();
    assert!(
        u64::from_str_radix(epoch, 16).is_ok() && seq == "4",
        "{text}"
    );
    assert_ne!(Channel::new().position("a").epoch(), id.epoch());
}

#[test]
fn resume_replays_exactly_what_was_missed_then_live() {
    let channel = Channel::new();
    let ids: Vec<_> = (1..=5)
        .map(|n| channel.publish("t", message(&n.to_string())).unwrap())
        .collect();
    for after in [0usize, 1, 4] {
        let mut subscription = channel.subscribe("t", Some(&last(ids[after]))).unwrap();
        let got = datas(&ready(&mut subscription).0);
        let want: Vec<String> = ((after as u64 + 2)..=5).map(|n| n.to_string()).collect();
        assert_eq!(got, want, "after {}", ids[after]);
    }
    // Then live, with no duplicate of a replayed event.
    let mut subscription = channel.subscribe("t", Some(&last(ids[2]))).unwrap();
    channel.publish("t", message("6")).unwrap();
    let (items, ended) = ready(&mut subscription);
    assert!(!ended);
    assert_eq!(datas(&items), ["4", "5", "6"]);
    // Resuming from the newest id replays nothing.
    let mut subscription = channel
        .subscribe("t", Some(&last(channel.position("t"))))
        .unwrap();
    assert!(ready(&mut subscription).0.is_empty());
}

#[test]
fn resume_under_concurrent_publishing_has_no_gap_and_no_duplicate() {
    let channel = Channel::builder().queue_len(100_000).build();
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let channel = channel.clone();
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) && n < 200_000 {
                n += 1;
                channel.publish("t", message(&n.to_string())).unwrap();
            }
        })
    };
    for round in 0..200 {
        let top = channel.position("t");
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

#[test]
fn unresumable_ids_get_a_reset_event_with_the_position() {
    let small = MemoryLog::new().max_events(2);
    let channel = Channel::builder().log(small).build();
    let ids: Vec<_> = (1..=5)
        .map(|n| channel.publish("t", message(&n.to_string())).unwrap())
        .collect();
    let position = channel.position("t");
    let other_epoch = Channel::new().publish("t", message("x")).unwrap();
    let cases = [
        (ids[1].to_string(), "trimmed"),
        (other_epoch.to_string(), "epoch"),
        ("not-ours".to_owned(), "unknown"),
        ("1.".to_owned(), "unknown"),
        (EventId::new(position.epoch(), 1_000).to_string(), "ahead"),
    ];
    for (sent, reason) in cases {
        let mut subscription = channel.subscribe("t", Some(&last(&sent))).unwrap();
        channel.publish("t", message("live")).unwrap();
        let (items, _) = ready(&mut subscription);
        let (events, _) = decode(&items);
        assert_eq!(events[0].event_type(), RESET_EVENT, "{sent}");
        assert_eq!(events[0].data(), reason, "{sent}");
        let position = channel.position("t");
        assert_eq!(
            events[0].id(),
            Some(&*EventId::new(position.epoch(), position.seq() - 1).to_string())
        );
        assert_eq!(events.len(), 2, "{sent}: reset then the live event");
        assert_eq!(events[1].data(), "live");
    }
    // Still retained: replayed, no reset.
    let top = channel.position("t");
    let retained = EventId::new(top.epoch(), top.seq() - 1);
    let mut subscription = channel.subscribe("t", Some(&last(retained))).unwrap();
    let (events, _) = decode(&ready(&mut subscription).0);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type(), "message");
}

#[test]
fn fresh_subscriber_is_primed_with_its_position() {
    let channel = Channel::new();
    channel.publish("t", message("before")).unwrap();
    let mut subscription = channel.subscribe("t", None).unwrap();
    let (items, _) = ready(&mut subscription);
    let (events, last_event_id) = decode(&items);
    assert!(events.is_empty());
    assert_eq!(last_event_id, channel.position("t").to_string());
    let unprimed = Channel::builder().prime(false).build();
    assert!(
        ready(&mut unprimed.subscribe("t", None).unwrap())
            .0
            .is_empty()
    );
}

#[test]
fn limits_answer_busy_and_free_up_on_drop() {
    let channel = Channel::builder()
        .max_subscribers(3)
        .max_topic_subscribers(2)
        .max_topics(2)
        .build();
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
    let error = channel.publish("c", message("x")).unwrap_err();
    assert!(error.is_too_many_topics());
    drop(a1);
    assert_eq!(channel.subscriber_count(), 2);
    assert_eq!(channel.topic_subscriber_count("a"), 1);
    let again = channel.subscribe("a", None).unwrap();
    drop((a2, b1, again));
    assert_eq!(channel.subscriber_count(), 0);
}

#[test]
fn a_full_queue_disconnects_only_that_subscriber() {
    let channel = Channel::builder().queue_len(4).build();
    let mut slow = channel.subscribe("t", None).unwrap();
    let mut fast = channel.subscribe("t", None).unwrap();
    let mut received = Vec::new();
    for n in 0..20 {
        channel.publish("t", message(&n.to_string())).unwrap();
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
