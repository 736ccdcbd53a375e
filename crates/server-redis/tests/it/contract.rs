//! The `Backend` contract: seqs, positions, replay bounds and paging,
//! trimming, topic removal, idempotency keys, opaque bodies.

use std::time::Duration;

use bourn_server::EventId;
use bourn_server::backend::{Backend, Feed, PageLimit};
use bourn_server_redis::RedisBackend;
use bytes::Bytes;

use crate::support::{Recorder, body, node, node_with, query, xlen};
use bourn_testkit::redis::RedisServer;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seqs_are_contiguous_and_every_record_reaches_the_feed() {
    let Some(server) = RedisServer::start("seqs_are_contiguous_and_every_record_reaches_the_feed")
    else {
        return;
    };
    let (backend, recorder) = node(&server.url(), "p").await;
    let start = backend.position("t").await.unwrap();
    assert_eq!(start.seq(), 0);
    assert_eq!(
        backend.position("t").await.unwrap(),
        start,
        "the epoch stays"
    );
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(
            backend
                .append("t", body(&format!("data: {n}\n\n")), None)
                .await
                .unwrap(),
        );
    }
    let epoch = start.epoch();
    assert_eq!(
        ids,
        (1..=5).map(|n| EventId::new(epoch, n)).collect::<Vec<_>>()
    );
    assert_eq!(backend.position("t").await.unwrap(), EventId::new(epoch, 5));
    recorder
        .wait("five records", WAIT, |_| recorder.committed("t").len() == 5)
        .await;
    assert_eq!(
        recorder.committed("t"),
        (1..=5).map(|n| (epoch, n)).collect::<Vec<_>>()
    );
    // Another topic numbers on its own, in its own epoch.
    let other = backend.append("u", body("x"), None).await.unwrap();
    assert_eq!(other.seq(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_opaque_bytes() {
    let Some(server) = RedisServer::start("bodies_are_opaque_bytes") else {
        return;
    };
    let (backend, recorder) = node(&server.url(), "p").await;
    let odd = Bytes::from_static(b"b1:1:t1.1\n\0\xff\r\n\ndata: not parsed\n\n");
    let id = backend.append("t", odd.clone(), None).await.unwrap();
    let empty = backend.append("t", Bytes::new(), None).await.unwrap();
    recorder
        .wait("two records", WAIT, |_| recorder.committed("t").len() == 2)
        .await;
    let bodies: Vec<Bytes> = recorder
        .notes()
        .into_iter()
        .filter_map(|note| match note {
            crate::support::Note::Committed { body, .. } => Some(body),
            _ => None,
        })
        .collect();
    assert_eq!(bodies, vec![odd.clone(), Bytes::new()]);
    let page = backend
        .replay(
            "t",
            backend.position("t").await.unwrap().epoch(),
            0,
            empty.seq(),
            PageLimit::DEFAULT,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!((page[0].seq, &page[0].body), (id.seq(), &odd));
    assert_eq!((page[1].seq, page[1].body.len()), (2, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_is_bounded_and_paged() {
    let Some(server) = RedisServer::start("replay_is_bounded_and_paged") else {
        return;
    };
    let (backend, _recorder) = node(&server.url(), "p").await;
    for n in 1..=10 {
        // 10 bytes each.
        backend
            .append("t", body(&format!("event-{n:03}\n")), None)
            .await
            .unwrap();
    }
    let seqs = |page: Option<Vec<bourn_server::backend::Record>>| {
        page.unwrap().into_iter().map(|r| r.seq).collect::<Vec<_>>()
    };
    let limit = |max_events, max_bytes| PageLimit {
        max_events,
        max_bytes,
    };
    let page = backend
        .replay(
            "t",
            backend.position("t").await.unwrap().epoch(),
            0,
            10,
            limit(3, 1 << 20),
        )
        .await
        .unwrap();
    assert_eq!(seqs(page), [1, 2, 3]);
    let page = backend
        .replay(
            "t",
            backend.position("t").await.unwrap().epoch(),
            3,
            10,
            limit(100, 25),
        )
        .await
        .unwrap();
    assert_eq!(seqs(page), [4, 5], "25 bytes hold two 10-byte bodies");
    let page = backend
        .replay(
            "t",
            backend.position("t").await.unwrap().epoch(),
            5,
            10,
            limit(100, 1),
        )
        .await
        .unwrap();
    assert_eq!(seqs(page), [6], "a page holds at least one record");
    let page = backend
        .replay(
            "t",
            backend.position("t").await.unwrap().epoch(),
            0,
            4,
            PageLimit::DEFAULT,
        )
        .await
        .unwrap();
    assert_eq!(seqs(page), [1, 2, 3, 4], "up_to is respected");
    let page = backend
        .replay(
            "t",
            backend.position("t").await.unwrap().epoch(),
            9,
            10,
            PageLimit::DEFAULT,
        )
        .await
        .unwrap();
    assert_eq!(seqs(page), [10]);
    // Page after page, as the channel reads them.
    let mut after = 0;
    let mut all = Vec::new();
    while after < 10 {
        let page = backend
            .replay(
                "t",
                backend.position("t").await.unwrap().epoch(),
                after,
                10,
                limit(4, 1 << 20),
            )
            .await
            .unwrap()
            .unwrap();
        after = page.last().unwrap().seq;
        all.extend(page.into_iter().map(|r| r.seq));
    }
    assert_eq!(all, (1..=10).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trimmed_history_is_reported_as_trimmed() {
    let Some(server) = RedisServer::start("trimmed_history_is_reported_as_trimmed") else {
        return;
    };
    let url = server.url();
    let (backend, _recorder) = node(&url, "p").await;
    for n in 1..=10 {
        backend
            .append("t", body(&n.to_string()), None)
            .await
            .unwrap();
    }
    let trimmed: u64 = query(
        &url,
        redis::cmd("XTRIM").arg("p:{t}:log").arg("MINID").arg("5-0"),
    )
    .await;
    assert_eq!(trimmed, 4);
    assert_eq!(
        backend
            .replay(
                "t",
                backend.position("t").await.unwrap().epoch(),
                0,
                10,
                PageLimit::DEFAULT
            )
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        backend
            .replay(
                "t",
                backend.position("t").await.unwrap().epoch(),
                3,
                10,
                PageLimit::DEFAULT
            )
            .await
            .unwrap(),
        None
    );
    let page = backend
        .replay(
            "t",
            backend.position("t").await.unwrap().epoch(),
            4,
            10,
            PageLimit::DEFAULT,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.first().map(|r| r.seq), Some(5));

    // `max_len` trims as appends go (approximately: whole stream nodes).
    let (small, _recorder) = node_with(&url, "q", |b| b.max_len(10)).await;
    for n in 0..300 {
        small.append("t", body(&n.to_string()), None).await.unwrap();
    }
    assert!(xlen(&url, "q", "t").await < 300);
    assert_eq!(small.position("t").await.unwrap().seq(), 300);
    assert_eq!(
        small
            .replay(
                "t",
                small.position("t").await.unwrap().epoch(),
                0,
                300,
                PageLimit::DEFAULT
            )
            .await
            .unwrap(),
        None
    );
    let tail = small
        .replay(
            "t",
            small.position("t").await.unwrap().epoch(),
            299,
            300,
            PageLimit::DEFAULT,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tail[0].seq, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_topic_starts_again_in_a_new_epoch() {
    let Some(server) = RedisServer::start("a_removed_topic_starts_again_in_a_new_epoch") else {
        return;
    };
    let url = server.url();
    let (backend, _recorder) = node(&url, "p").await;
    let mut last = EventId::new(0, 0);
    for _ in 0..3 {
        last = backend.append("t", body("x"), None).await.unwrap();
    }
    backend.remove_topic("t").await.unwrap();
    let exists: u64 = query(
        &url,
        redis::cmd("EXISTS").arg("p:{t}:log").arg("p:{t}:meta"),
    )
    .await;
    assert_eq!(exists, 0);
    let position = backend.position("t").await.unwrap();
    assert_eq!(position.seq(), 0);
    assert_ne!(position.epoch(), last.epoch());
    let first = backend.append("t", body("y"), None).await.unwrap();
    assert_eq!(first, EventId::new(position.epoch(), 1));
    assert_eq!(xlen(&url, "p", "t").await, 1);
    // Removing a topic that does not exist is fine.
    backend.remove_topic("never").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_stores_once_within_its_window() {
    let Some(server) = RedisServer::start("an_idempotency_key_stores_once_within_its_window")
    else {
        return;
    };
    let url = server.url();
    let (backend, recorder) = node_with(&url, "p", |b| {
        b.idempotency_window(Duration::from_millis(400))
    })
    .await;
    let first = backend.append("t", body("a"), Some("k")).await.unwrap();
    let again = backend.append("t", body("a"), Some("k")).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(xlen(&url, "p", "t").await, 1);
    // Keys are per topic.
    let other = backend.append("u", body("a"), Some("k")).await.unwrap();
    assert_eq!(other.seq(), 1);
    // Another key is another event.
    let second = backend.append("t", body("b"), Some("k2")).await.unwrap();
    assert_eq!(second.seq(), 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        recorder.committed("t").len(),
        2,
        "the repeat was not published"
    );
    // After the window, the key is forgotten.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let later = backend.append("t", body("a"), Some("k")).await.unwrap();
    assert_eq!(later.seq(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_does_not_parse_is_an_error_not_a_default() {
    let Some(server) = RedisServer::start("what_does_not_parse_is_an_error_not_a_default") else {
        return;
    };
    let url = server.url();
    let (backend, _recorder) = node(&url, "p").await;
    for _ in 0..3 {
        backend.append("t", body("x"), None).await.unwrap();
    }
    // A stream entry that is not `<seq>-0`.
    let _: String = query(
        &url,
        redis::cmd("XADD")
            .arg("p:{t}:log")
            .arg("100-7")
            .arg("b")
            .arg("x"),
    )
    .await;
    let error = backend
        .replay(
            "t",
            backend.position("t").await.unwrap().epoch(),
            3,
            200,
            PageLimit::DEFAULT,
        )
        .await
        .unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
    // An epoch that is not hex: position and append refuse, append stores nothing.
    let _: u64 = query(
        &url,
        redis::cmd("HSET")
            .arg("p:{u}:meta")
            .arg("epoch")
            .arg("zz")
            .arg("seq")
            .arg(4),
    )
    .await;
    let error = backend.position("u").await.unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
    let error = backend.append("u", body("x"), None).await.unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
    assert_eq!(xlen(&url, "p", "u").await, 0);
    // A seq that is not a number.
    let _: u64 = query(
        &url,
        redis::cmd("HSET")
            .arg("p:{v}:meta")
            .arg("epoch")
            .arg("abc")
            .arg("seq")
            .arg("x"),
    )
    .await;
    assert!(backend.position("v").await.unwrap_err().is_unavailable());
    assert!(
        backend
            .append("v", body("x"), None)
            .await
            .unwrap_err()
            .is_unavailable()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_runs_once_from_anywhere() {
    let Some(server) = RedisServer::start("start_runs_once_from_anywhere") else {
        return;
    };
    let backend = RedisBackend::builder(&server.url()).open().await.unwrap();
    let feed = Feed::new(std::sync::Arc::new(Recorder::default()));
    // The Pub/Sub task runs on `open`'s runtime: `start` only hands over
    // the feed, from any thread.
    let outside =
        std::thread::scope(|scope| scope.spawn(|| backend.start(feed.clone())).join().unwrap());
    outside.unwrap();
    assert!(backend.start(feed).unwrap_err().is_unavailable());
    let error = RedisBackend::builder("http://nope")
        .open()
        .await
        .unwrap_err();
    assert!(error.is_unavailable());
}

/// Records committed by another node between `open` and `start` reach the
/// feed at `start`, in order, each once: the node listens from `open` on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_between_open_and_start_are_reported_at_start() {
    let Some(server) = RedisServer::start("records_between_open_and_start_are_reported_at_start")
    else {
        return;
    };
    let url = server.url();
    let first = RedisBackend::builder(&url).open().await.unwrap();
    let second = RedisBackend::builder(&url).open().await.unwrap();
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(
            second
                .append("t", body(&n.to_string()), None)
                .await
                .unwrap(),
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let recorder = std::sync::Arc::new(Recorder::default());
    first.start(Feed::new(recorder.clone())).unwrap();
    let epoch = ids[0].epoch();
    let expected: Vec<(u64, u64)> = (1..=5).map(|seq| (epoch, seq)).collect();
    assert_eq!(
        recorder.committed("t"),
        expected,
        "held, then reported at start"
    );
    assert_eq!(recorder.healths(), [bourn_server::backend::Health::Healthy]);
    second.append("t", body("6"), None).await.unwrap();
    recorder
        .wait("the next one live", WAIT, |_| {
            recorder.committed("t").len() == 6
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_only_asked_about_leaves_nothing_for_good() {
    let Some(server) = RedisServer::start("a_topic_only_asked_about_leaves_nothing_for_good")
    else {
        return;
    };
    let url = server.url();
    let (backend, _recorder) = node(&url, "p").await;
    let empty = backend.position("t").await.unwrap();
    let ttl: i64 = query(&url, redis::cmd("PTTL").arg("p:{t}:meta")).await;
    let day = RedisBackend::EMPTY_TOPIC_TTL.as_millis() as i64;
    assert!(ttl > day - 60_000 && ttl <= day, "{ttl}");
    let first = backend.append("t", body("x"), None).await.unwrap();
    assert_eq!(first, EventId::new(empty.epoch(), 1), "same epoch");
    let ttl: i64 = query(&url, redis::cmd("PTTL").arg("p:{t}:meta")).await;
    assert_eq!(ttl, -1, "kept for good once it has an event");
    backend.position("t").await.unwrap();
    let ttl: i64 = query(&url, redis::cmd("PTTL").arg("p:{t}:meta")).await;
    assert_eq!(ttl, -1);
}

/// Appends right after `start` (before the Pub/Sub connection is up) are
/// reported as every other: committed, each once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_right_after_start_are_reported_once() {
    let Some(server) = RedisServer::start("appends_right_after_start_are_reported_once") else {
        return;
    };
    let backend = RedisBackend::builder(&server.url()).open().await.unwrap();
    let recorder = std::sync::Arc::new(Recorder::default());
    backend.start(Feed::new(recorder.clone())).unwrap();
    let mut ids = Vec::new();
    for n in 1..=20 {
        ids.push(
            backend
                .append("t", body(&n.to_string()), None)
                .await
                .unwrap(),
        );
    }
    let epoch = ids[0].epoch();
    recorder
        .wait("twenty records", WAIT, |_| {
            recorder.committed("t").len() >= 20
        })
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        recorder.committed("t"),
        (1..=20).map(|seq| (epoch, seq)).collect::<Vec<_>>()
    );
}

/// A backend that was never started reports nothing and does not wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unstarted_backend_appends_without_waiting() {
    let Some(server) = RedisServer::start("an_unstarted_backend_appends_without_waiting") else {
        return;
    };
    let backend = RedisBackend::builder(&server.url()).open().await.unwrap();
    let started = std::time::Instant::now();
    for _ in 0..5 {
        backend.append("t", body("x"), None).await.unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(backend.position("t").await.unwrap().seq(), 5);
}
