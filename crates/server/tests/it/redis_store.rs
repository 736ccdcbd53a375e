//! The Redis Streams store: two channels ("nodes") over one throwaway
//! Redis, in process.

use std::time::Duration;

use bourn_codec::Event;
use bourn_server::{Channel, Encoded, EventId, LastEventId, RESET_EVENT, RedisStore, Subscription};
use futures_util::StreamExt;

use crate::redis_server::RedisServer;
use crate::support::within;

fn node(redis: &RedisServer) -> Channel {
    Channel::builder()
        .redis_store(RedisStore::open(&redis.url()).unwrap())
        .build()
}

/// The next item's event (type, id, data), skipping priming id-only blocks.
async fn next_event(subscription: &mut Subscription) -> Option<(String, String, String)> {
    loop {
        let item: Encoded = within("an event", subscription.next()).await?;
        let mut decoder = bourn_codec::Decoder::new();
        let mut buf = bytes::BytesMut::from(&item.as_bytes()[..]);
        if let Some(event) = decoder
            .decode(&mut buf)
            .unwrap()
            .and_then(|f| f.into_event())
        {
            let id = event.id().unwrap_or_default().to_owned();
            return Some((event.event_type().to_owned(), id, event.data().to_owned()));
        }
    }
}

/// Sends until Redis answers (the nodes connect lazily).
async fn send(channel: &Channel, topic: &str, data: &str) -> EventId {
    within("Redis to answer", async {
        loop {
            match channel.send(topic, Event::message(data.to_owned())).await {
                Ok(id) => return id,
                Err(error) if error.is_unavailable() => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => panic!("{error}"),
            }
        }
    })
    .await
}

#[tokio::test]
async fn publish_on_one_node_reaches_and_resumes_on_another() {
    let Some(redis) = RedisServer::start("publish_on_one_node_reaches_and_resumes_on_another")
    else {
        return;
    };
    let (a, b) = (node(&redis), node(&redis));
    let first = send(&a, "t", "0").await;
    assert_eq!(first.seq(), 1);
    let mut live = b.subscribe("t", None).unwrap();
    // The priming id arrives once B has read the topic from Redis.
    let primed = within("prime", live.next()).await.unwrap();
    assert_eq!(primed.as_bytes(), &format!("id: {first}\n\n"));
    let mut ids = vec![first];
    for n in 1..50 {
        ids.push(send(&a, "t", &n.to_string()).await);
    }
    for (n, id) in ids.iter().enumerate().skip(1) {
        let got = next_event(&mut live).await.unwrap();
        assert_eq!(got, ("message".into(), id.to_string(), n.to_string()));
    }
    assert_eq!(b.position("t"), ids[49]);
    // A client of A resumes on B from any id: exactly what it missed.
    let last = LastEventId::new(ids[9].to_string()).unwrap();
    let mut resumed = b.subscribe("t", Some(&last)).unwrap();
    for (n, id) in ids.iter().enumerate().skip(10) {
        let got = next_event(&mut resumed).await.unwrap();
        assert_eq!((got.1, got.2), (id.to_string(), n.to_string()));
    }
    // The sync path refuses: Redis assigns the ids.
    assert!(
        a.publish("t", Event::message("x"))
            .unwrap_err()
            .is_async_only()
    );
}

#[tokio::test]
async fn redis_down_then_back_empty_resets_never_gaps() {
    let Some(mut redis) = RedisServer::start("redis_down_then_back_empty_resets_never_gaps") else {
        return;
    };
    let (a, b) = (node(&redis), node(&redis));
    let id = send(&a, "t", "before").await;
    let mut open = b
        .subscribe(
            "t",
            Some(&LastEventId::new(format!("{:x}.0", id.epoch())).unwrap()),
        )
        .unwrap();
    assert_eq!(next_event(&mut open).await.unwrap().2, "before");

    redis.stop();
    let error = a.send("t", Event::message("lost")).await.unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
    // A new subscriber is held open (pending), not refused.
    let old = LastEventId::new(id.to_string()).unwrap();
    let mut waiting = b.subscribe("t", Some(&old)).unwrap();
    let nothing = tokio::time::timeout(Duration::from_millis(300), waiting.next()).await;
    assert!(
        nothing.is_err(),
        "a subscriber got {nothing:?} while Redis was down"
    );

    // Back, empty: the history is gone, so both get a reset, not a gap.
    redis.restart();
    let (kind, position, reason) = next_event(&mut open).await.unwrap();
    assert_eq!((kind.as_str(), reason.as_str()), (RESET_EVENT, "epoch"));
    let position: EventId = position.parse().unwrap();
    assert_ne!(position.epoch(), id.epoch());
    assert!(
        within("end", open.next()).await.is_none(),
        "the reset ends the stream"
    );
    let (kind, _, reason) = next_event(&mut waiting).await.unwrap();
    assert_eq!((kind.as_str(), reason.as_str()), (RESET_EVENT, "epoch"));
    // And from the reset's id, a client resumes exactly.
    let after = send(&a, "t", "after").await;
    assert_eq!(
        (after.epoch(), after.seq()),
        (position.epoch(), position.seq() + 1)
    );
    let mut resumed = b
        .subscribe("t", Some(&LastEventId::new(position.to_string()).unwrap()))
        .unwrap();
    let got = next_event(&mut resumed).await.unwrap();
    assert_eq!((got.1, got.2), (after.to_string(), "after".to_owned()));
}

#[tokio::test]
async fn a_dropped_pubsub_connection_catches_up_without_a_gap() {
    let Some(redis) = RedisServer::start("a_dropped_pubsub_connection_catches_up_without_a_gap")
    else {
        return;
    };
    let (a, b) = (node(&redis), node(&redis));
    send(&a, "t", "0").await;
    let mut live = b.subscribe("t", None).unwrap();
    within("prime", live.next()).await.unwrap();
    // Cut every Pub/Sub connection; publish while B's is down.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let _: redis::Value = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut admin)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for n in 1..=20 {
        ids.push(send(&a, "t", &n.to_string()).await);
    }
    for (n, id) in ids.iter().enumerate() {
        let got = next_event(&mut live).await.unwrap();
        assert_eq!((got.1, got.2), (id.to_string(), (n + 1).to_string()));
    }
}
