//! The failure model, each point against a real `redis-server`: unknown
//! outcomes, idempotent retries, dead connections, a silent Pub/Sub path,
//! lost history.

use std::time::{Duration, Instant};

use bourn_server::EventId;
use bourn_server::backend::{Backend, Health, PageLimit};
use bourn_server_redis::RedisBackend;

use crate::proxy::Proxy;
use crate::support::{Note, body, node, node_with, query, xlen};
use bourn_testkit::redis::RedisServer;

const WAIT: Duration = Duration::from_secs(10);

/// An append whose answer did not come back in time (Redis paused) is
/// `outcome_unknown`, never `unavailable`; the script ran once Redis went
/// on, and a retry with the same key answers the first id: one event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_append_is_outcome_unknown_and_a_keyed_retry_stores_once() {
    let Some(server) = RedisServer::start("a_timed_out_append_is_outcome_unknown") else {
        return;
    };
    let url = server.url();
    // The default heartbeat (5 s): the Pub/Sub connection outlives the pause.
    let (backend, recorder) = node_with(&url, "p", |b| {
        b.timeout(Duration::from_millis(200))
            .heartbeat(RedisBackend::DEFAULT_HEARTBEAT)
    })
    .await;
    let first = backend.append("t", body("a"), Some("k1")).await.unwrap();
    let _: String = query(&url, redis::cmd("CLIENT").arg("PAUSE").arg(1000).arg("ALL")).await;
    let paused = Instant::now();
    let error = backend
        .append("t", body("b"), Some("k2"))
        .await
        .unwrap_err();
    assert!(error.is_outcome_unknown(), "{error:?}");
    assert!(!error.is_unavailable());
    // Retrying while Redis is still paused cannot reach it: the old
    // connection is gone and a new one cannot be set up in time.
    let during = backend
        .append("t", body("b"), Some("k2"))
        .await
        .unwrap_err();
    assert!(
        during.is_unavailable() || during.is_outcome_unknown(),
        "{during:?}"
    );
    tokio::time::sleep(Duration::from_millis(1200).saturating_sub(paused.elapsed())).await;
    let retried = backend.append("t", body("b"), Some("k2")).await.unwrap();
    assert_eq!(
        retried,
        EventId::new(first.epoch(), 2),
        "the paused append ran, once"
    );
    assert_eq!(xlen(&url, "p", "t").await, 2);
    let page = backend
        .replay(
            "t",
            backend.position("t").await.unwrap().epoch(),
            0,
            2,
            PageLimit::DEFAULT,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page[1].body, body("b"));
    recorder
        .wait("both records", WAIT, |_| recorder.committed("t").len() == 2)
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        recorder.committed("t"),
        [(first.epoch(), 1), (first.epoch(), 2)]
    );
    assert!(
        backend.connections_dialed() >= 2,
        "the timed-out connection was replaced"
    );
}

/// `unavailable` when the command surely did not run: nothing listens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_that_cannot_connect_is_unavailable() {
    let Some(mut server) = RedisServer::start("an_append_that_cannot_connect_is_unavailable")
    else {
        return;
    };
    let url = server.url();
    let (backend, recorder) = node(&url, "p").await;
    backend.append("t", body("a"), None).await.unwrap();
    server.stop();
    recorder
        .wait("unhealthy", WAIT, |notes| {
            notes
                .iter()
                .any(|n| matches!(n, Note::Health(Health::Unhealthy(_))))
        })
        .await;
    // Once the node noticed, it dropped its command connection too: every
    // append dials, cannot connect, and says so.
    for _ in 0..3 {
        let error = backend.append("t", body("b"), None).await.unwrap_err();
        assert!(error.is_unavailable(), "{error:?}");
    }
    let error = RedisBackend::builder(&url).open().await.unwrap_err();
    assert!(error.is_unavailable());
}

/// A command that timed out on a half-open connection does not keep that
/// connection: the next command dials a fresh one and works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_connection_is_replaced() {
    let Some(server) = RedisServer::start("a_timed_out_connection_is_replaced") else {
        return;
    };
    let proxy = Proxy::start(server.port).await;
    let (backend, _recorder) = node_with(&proxy.url(), "p", |b| {
        b.timeout(Duration::from_millis(300))
            .heartbeat(Duration::from_secs(60))
    })
    .await;
    backend.append("t", body("a"), None).await.unwrap();
    assert_eq!(backend.connections_dialed(), 1);
    proxy.cut();
    let started = Instant::now();
    let error = backend.append("t", body("b"), Some("k")).await.unwrap_err();
    assert!(error.is_outcome_unknown(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // The proxy dropped it: the keyed retry stores it now, once.
    let id = backend.append("t", body("b"), Some("k")).await.unwrap();
    assert_eq!(id.seq(), 2);
    assert_eq!(backend.connections_dialed(), 2);
    assert_eq!(backend.position("t").await.unwrap(), id);
}

/// A Pub/Sub path that goes silent without closing (a stuck proxy) is
/// noticed within the heartbeat, reported unhealthy, replaced once the path
/// works, and followed by `advanced` with the topic's position: what was
/// published meanwhile (by another node) is read back with `replay`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_pubsub_connection_is_detected_and_replaced() {
    let Some(server) = RedisServer::start("a_silent_pubsub_connection_is_detected_and_replaced")
    else {
        return;
    };
    let proxy = Proxy::start(server.port).await;
    // Heartbeat 300 ms, timeout 500 ms (see `support::node`).
    let (a, seen) = node(&proxy.url(), "p").await;
    let (b, _) = node(&server.url(), "p").await;
    let epoch = a.position("t").await.unwrap().epoch();
    for n in 1..=2 {
        b.append("t", body(&n.to_string()), None).await.unwrap();
    }
    seen.wait("two live records", WAIT, |_| seen.committed("t").len() == 2)
        .await;

    proxy.block(true);
    proxy.cut();
    let cut = Instant::now();
    seen.wait("unhealthy", WAIT, |notes| {
        notes
            .iter()
            .any(|n| matches!(n, Note::Health(Health::Unhealthy(_))))
    })
    .await;
    let noticed = cut.elapsed();
    assert!(
        noticed < Duration::from_millis(1000),
        "noticed after {noticed:?}"
    );
    for n in 3..=5 {
        b.append("t", body(&n.to_string()), None).await.unwrap();
    }
    // A publish on the cut node: no answer, so its outcome is unknown.
    let error = a.append("t", body("6"), Some("six")).await.unwrap_err();
    assert!(
        error.is_outcome_unknown() || error.is_unavailable(),
        "{error:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        seen.committed("t").len(),
        2,
        "nothing arrives over a cut path"
    );
    assert_eq!(
        seen.healths().last(),
        Some(&Health::Unhealthy(seen_reason(&seen)))
    );

    proxy.block(false);
    seen.wait_healthy_count(2, WAIT).await;
    seen.wait("advanced to 5", WAIT, |notes| {
        notes.iter().any(|n| {
            matches!(n, Note::Advanced { topic, epoch: e, seq } if topic == "t" && *e == epoch && *seq >= 5)
        })
    })
    .await;
    let missed = a
        .replay(
            "t",
            a.position("t").await.unwrap().epoch(),
            2,
            5,
            PageLimit::DEFAULT,
        )
        .await
        .unwrap()
        .unwrap();
    let bodies: Vec<_> = missed.iter().map(|r| (r.seq, r.body.clone())).collect();
    assert_eq!(bodies, [(3, body("3")), (4, body("4")), (5, body("5"))]);
    // The keyed retry of the publish that got no answer stores it once.
    let six = a.append("t", body("6"), Some("six")).await.unwrap();
    assert_eq!(six, EventId::new(epoch, 6));
    seen.wait("live again", WAIT, |_| {
        seen.committed("t").last() == Some(&(epoch, 6))
    })
    .await;
    assert_eq!(xlen(&server.url(), "p", "t").await, 6);
    // Health went healthy → unhealthy → healthy, reported on changes only.
    let healths = seen.healths();
    assert!(
        healths.first().is_some_and(Health::is_healthy),
        "{healths:?}"
    );
    assert!(
        healths.last().is_some_and(Health::is_healthy),
        "{healths:?}"
    );
    assert!(healths.iter().any(|h| !h.is_healthy()), "{healths:?}");
    assert!(
        healths
            .windows(2)
            .all(|w| w[0].is_healthy() != w[1].is_healthy()),
        "{healths:?}"
    );
}

fn seen_reason(recorder: &crate::support::Recorder) -> std::borrow::Cow<'static, str> {
    match recorder.healths().last() {
        Some(Health::Unhealthy(reason)) => reason.clone(),
        other => panic!("not unhealthy: {other:?}"),
    }
}

/// Redis restarted empty: the topic's meta is gone, so the topic gets a
/// new epoch; the node reports `history_lost` for it and numbers again
/// from 1 in the new epoch (never reusing a seq of an epoch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_empty_redis_is_a_new_epoch() {
    let Some(mut server) = RedisServer::start("a_restarted_empty_redis_is_a_new_epoch") else {
        return;
    };
    let (backend, seen) = node(&server.url(), "p").await;
    let mut last = EventId::new(0, 0);
    for _ in 0..3 {
        last = backend.append("t", body("x"), None).await.unwrap();
    }
    seen.wait("three records", WAIT, |_| seen.committed("t").len() == 3)
        .await;
    server.restart();
    seen.wait("history lost", WAIT, |notes| {
        notes
            .iter()
            .any(|n| matches!(n, Note::Lost { topic, .. } if topic == "t"))
    })
    .await;
    let lost = seen
        .notes()
        .into_iter()
        .find_map(|n| match n {
            Note::Lost { position, .. } => Some(position),
            _ => None,
        })
        .unwrap();
    assert_ne!(lost.epoch(), last.epoch());
    assert_eq!(lost.seq(), 0);
    seen.wait_healthy_count(2, WAIT).await;
    let next = backend.append("t", body("y"), None).await.unwrap();
    assert_eq!(next, EventId::new(lost.epoch(), 1));
}

/// `FLUSHALL` while the connections stay up: the next append (from any
/// node) draws a new epoch, and a node that knew the topic reports
/// `history_lost` before the new epoch's first record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flushed_redis_is_a_new_epoch_for_every_node() {
    let Some(server) = RedisServer::start("a_flushed_redis_is_a_new_epoch_for_every_node") else {
        return;
    };
    let url = server.url();
    let (a, seen) = node(&url, "p").await;
    let (b, _) = node(&url, "p").await;
    let old = a.position("t").await.unwrap().epoch();
    b.append("t", body("1"), None).await.unwrap();
    b.append("t", body("2"), None).await.unwrap();
    seen.wait("two records", WAIT, |_| seen.committed("t").len() == 2)
        .await;
    let _: String = query(&url, &mut redis::cmd("FLUSHALL")).await;
    let next = b.append("t", body("3"), None).await.unwrap();
    assert_ne!(next.epoch(), old);
    assert_eq!(next.seq(), 1);
    seen.wait("the new epoch's record", WAIT, |_| {
        seen.committed("t").last() == Some(&(next.epoch(), 1))
    })
    .await;
    // (The data-token watch may add an `advanced`: repeats are for the
    // channel to drop.)
    let tail: Vec<Note> = seen
        .notes()
        .into_iter()
        .filter(|n| !matches!(n, Note::Health(_) | Note::Advanced { .. }))
        .skip(2)
        .collect();
    assert_eq!(
        tail,
        [
            Note::Lost {
                topic: "t".into(),
                position: EventId::new(next.epoch(), 0)
            },
            Note::Committed {
                topic: "t".into(),
                epoch: next.epoch(),
                seq: 1,
                body: body("3")
            },
        ]
    );
}

/// Redis came back with fewer events of the same epoch than this node saw
/// (a snapshot older than the last appends): the node gives the topic a
/// new epoch, so the next seqs do not name events seen before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewound_topic_gets_a_new_epoch() {
    let Some(server) = RedisServer::start("a_rewound_topic_gets_a_new_epoch") else {
        return;
    };
    let url = server.url();
    let (backend, seen) = node(&url, "p").await;
    let mut last = EventId::new(0, 0);
    for _ in 0..5 {
        last = backend.append("t", body("x"), None).await.unwrap();
    }
    // What a restore of an older snapshot leaves: seq 2, entries 1 and 2.
    let _: u64 = query(&url, redis::cmd("HSET").arg("p:{t}:meta").arg("seq").arg(2)).await;
    let _: u64 = query(&url, redis::cmd("DEL").arg("p:{t}:log")).await;
    for seq in ["1-0", "2-0"] {
        let _: String = query(
            &url,
            redis::cmd("XADD")
                .arg("p:{t}:log")
                .arg(seq)
                .arg("b")
                .arg("x"),
        )
        .await;
    }
    let position = backend.position("t").await.unwrap();
    assert_ne!(position.epoch(), last.epoch());
    assert_eq!(position.seq(), 2);
    assert!(seen.notes().contains(&Note::Lost {
        topic: "t".into(),
        position
    }));
    let next = backend.append("t", body("y"), None).await.unwrap();
    assert_eq!(next, EventId::new(position.epoch(), 3));
}

/// After a reconnection, a topic whose meta Redis refuses is skipped: the
/// other topics still get their `advanced`, and the node is healthy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_topic_does_not_stop_the_others_after_a_reconnection() {
    let Some(server) =
        RedisServer::start("a_damaged_topic_does_not_stop_the_others_after_a_reconnection")
    else {
        return;
    };
    let url = server.url();
    let (backend, seen) = node(&url, "p").await;
    let good = backend.append("good", body("x"), None).await.unwrap();
    backend.append("bad", body("x"), None).await.unwrap();
    let _: u64 = query(
        &url,
        redis::cmd("HSET").arg("p:{bad}:meta").arg("seq").arg("x"),
    )
    .await;
    let _: u64 = query(
        &url,
        redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("pubsub"),
    )
    .await;
    seen.wait_healthy_count(2, WAIT).await;
    assert!(seen.notes().contains(&Note::Advanced {
        topic: "good".into(),
        epoch: good.epoch(),
        seq: 1
    }));
    assert!(
        !seen
            .notes()
            .iter()
            .any(|n| matches!(n, Note::Advanced { topic, .. } if topic == "bad"))
    );
}

/// `FLUSHALL` and no traffic at all: the data-token watch notices within a
/// heartbeat or so, and the node reports `history_lost` for the topics it
/// knows, at a new epoch that the next append then uses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flushed_redis_is_noticed_without_traffic() {
    let Some(server) = RedisServer::start("a_flushed_redis_is_noticed_without_traffic") else {
        return;
    };
    let url = server.url();
    let (backend, seen) = node(&url, "p").await;
    let old = backend.append("t", body("1"), None).await.unwrap();
    seen.wait("the record", WAIT, |_| seen.committed("t").len() == 1)
        .await;
    let _: String = query(&url, &mut redis::cmd("FLUSHALL")).await;
    let flushed = Instant::now();
    seen.wait("history lost", WAIT, |notes| {
        notes.iter().any(|n| matches!(n, Note::Lost { .. }))
    })
    .await;
    assert!(
        flushed.elapsed() < Duration::from_secs(3),
        "{:?}",
        flushed.elapsed()
    );
    let lost = seen
        .notes()
        .into_iter()
        .find_map(|n| match n {
            Note::Lost { topic, position } if topic == "t" => Some(position),
            _ => None,
        })
        .unwrap();
    assert_ne!(lost.epoch(), old.epoch());
    assert_eq!(lost.seq(), 0);
    let next = backend.append("t", body("2"), None).await.unwrap();
    assert_eq!(next, EventId::new(lost.epoch(), 1));
    assert!(
        seen.healths().iter().all(Health::is_healthy),
        "no reconnection was needed"
    );
}

/// A closed Pub/Sub connection (`CLIENT KILL`) is replaced, and every
/// topic the node knows gets `advanced` with its position, the records
/// published while it was down included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnection_reports_every_known_topic() {
    let Some(server) = RedisServer::start("a_reconnection_reports_every_known_topic") else {
        return;
    };
    let url = server.url();
    let (backend, seen) = node(&url, "p").await;
    let topics: Vec<String> = (0..100).map(|n| format!("topic-{n}")).collect();
    let mut epochs = Vec::new();
    for topic in &topics {
        epochs.push(
            backend
                .append(topic, body("x"), None)
                .await
                .unwrap()
                .epoch(),
        );
    }
    let _: u64 = query(
        &url,
        redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("pubsub"),
    )
    .await;
    seen.wait_healthy_count(2, WAIT).await;
    let notes = seen.notes();
    for (topic, epoch) in topics.iter().zip(epochs) {
        let advanced = Note::Advanced {
            topic: topic.clone(),
            epoch,
            seq: 1,
        };
        assert!(notes.contains(&advanced), "{topic}");
    }
}
