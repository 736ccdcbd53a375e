//! The backend contract, through the trait only: what every backend must
//! do (these tests are written to move to `bourn-conformance`'s suite).

use std::sync::Arc;

use bourn_server::backend::{Backend, PageLimit};
use bourn_server_redb::{Durability, RedbBackend};

use crate::support::{Recorder, body, temp_dir, within};

fn open(dir: &tempfile::TempDir, durability: Durability) -> (RedbBackend, Arc<Recorder>) {
    let backend = RedbBackend::builder(dir.path().join("store.redb"))
        .durability(durability)
        .open()
        .unwrap();
    let recorder = Recorder::new();
    backend.start(recorder.feed()).unwrap();
    (backend, recorder)
}

const MODES: [Durability; 2] = [
    Durability::Immediate,
    Durability::Batched(std::time::Duration::from_millis(10)),
];

#[tokio::test]
async fn seqs_are_contiguous_per_topic_and_every_commit_is_reported_once_in_order() {
    for mode in MODES {
        let dir = temp_dir();
        let (backend, recorder) = open(&dir, mode);
        let epoch = backend.epoch();
        assert_eq!(backend.position("a").await.unwrap().seq(), 0, "{mode:?}");
        for n in 1..=5u64 {
            for topic in ["a", "b"] {
                let id = backend
                    .append(topic, body(&format!("{topic}{n}")), None)
                    .await
                    .unwrap();
                assert_eq!((id.epoch(), id.seq()), (epoch, n), "{mode:?} {topic}");
            }
        }
        backend.flush().await.unwrap();
        let reported = recorder
            .until("ten commits", |r| {
                r.committed.values().map(Vec::len).sum::<usize>() == 10
            })
            .await;
        for topic in ["a", "b"] {
            let records = &reported.committed[topic];
            let seqs: Vec<u64> = records.iter().map(|(_, r)| r.seq).collect();
            assert_eq!(seqs, [1, 2, 3, 4, 5], "{mode:?} {topic}");
            assert!(records.iter().all(|(e, _)| *e == epoch));
            assert_eq!(records[2].1.body, body(&format!("{topic}3")));
            assert_eq!(backend.position(topic).await.unwrap().seq(), 5);
        }
        backend.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_keep_per_topic_order_without_gaps_or_duplicates() {
    for mode in MODES {
        let dir = temp_dir();
        let (backend, recorder) = open(&dir, mode);
        let backend = Arc::new(backend);
        let mut tasks = Vec::new();
        for task in 0..8 {
            let backend = Arc::clone(&backend);
            tasks.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in 0..50 {
                    let topic = if n % 2 == 0 { "even" } else { "odd" };
                    ids.push((
                        topic,
                        backend
                            .append(topic, body(&format!("{task}-{n}")), None)
                            .await
                            .unwrap(),
                    ));
                }
                ids
            }));
        }
        let mut given = std::collections::BTreeMap::<&str, Vec<u64>>::new();
        for task in tasks {
            for (topic, id) in task.await.unwrap() {
                given.entry(topic).or_default().push(id.seq());
            }
        }
        backend.flush().await.unwrap();
        for (topic, mut seqs) in given {
            seqs.sort_unstable();
            assert_eq!(
                seqs,
                (1..=200).collect::<Vec<u64>>(),
                "{mode:?} {topic}: each seq once"
            );
            let reported = recorder
                .until("all reported", |r| {
                    r.committed.get(topic).is_some_and(|v| v.len() == 200)
                })
                .await;
            let order: Vec<u64> = reported.committed[topic]
                .iter()
                .map(|(_, r)| r.seq)
                .collect();
            assert_eq!(
                order,
                (1..=200).collect::<Vec<u64>>(),
                "{mode:?} {topic}: reported in order"
            );
        }
        Arc::into_inner(backend).unwrap().close().await;
    }
}

#[tokio::test]
async fn replay_returns_bounded_pages_within_the_range() {
    let dir = temp_dir();
    let (backend, _recorder) = open(&dir, Durability::Immediate);
    for n in 1..=10 {
        // Bodies of 9 bytes: "data: 0N\n\n" is 10; keep them equal.
        backend
            .append("t", body(&format!("{n:02}")), None)
            .await
            .unwrap();
    }
    let size = body("01").len();
    let seqs = |page: Option<Vec<bourn_server::backend::Record>>| {
        page.unwrap().iter().map(|r| r.seq).collect::<Vec<u64>>()
    };
    let all = PageLimit {
        max_events: 100,
        max_bytes: 1 << 20,
    };
    // (after, up_to, limit, expected seqs)
    let cases = [
        (0, 10, all, (1..=10).collect::<Vec<u64>>()),
        (3, 6, all, vec![4, 5, 6]),
        (9, 10, all, vec![10]),
        (
            0,
            10,
            PageLimit {
                max_events: 4,
                max_bytes: 1 << 20,
            },
            vec![1, 2, 3, 4],
        ),
        (
            0,
            10,
            PageLimit {
                max_events: 100,
                max_bytes: 3 * size,
            },
            vec![1, 2, 3],
        ),
        (
            0,
            10,
            PageLimit {
                max_events: 100,
                max_bytes: 3 * size - 1,
            },
            vec![1, 2],
        ),
        // A page always holds one record, however large.
        (
            5,
            10,
            PageLimit {
                max_events: 100,
                max_bytes: 1,
            },
            vec![6],
        ),
        (
            5,
            10,
            PageLimit {
                max_events: 0,
                max_bytes: 1 << 20,
            },
            vec![6],
        ),
        (10, 10, all, vec![]),
    ];
    for (after, up_to, limit, expected) in cases {
        let page = backend
            .replay("t", backend.epoch(), after, up_to, limit)
            .await
            .unwrap();
        assert_eq!(
            seqs(page),
            expected,
            "after {after} up to {up_to} {limit:?}"
        );
    }
    // Paging through from the start gives the whole history once.
    let mut after = 0;
    let mut pages = 0;
    while after < 10 {
        let page = backend
            .replay(
                "t",
                backend.epoch(),
                after,
                10,
                PageLimit {
                    max_events: 3,
                    max_bytes: 1 << 20,
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(page[0].seq, after + 1);
        after = page.last().unwrap().seq;
        pages += 1;
    }
    assert_eq!(pages, 4);
    backend.close().await;
}

#[tokio::test]
async fn trimmed_history_is_reported_as_trimmed() {
    let dir = temp_dir();
    let backend = RedbBackend::builder(dir.path().join("store.redb"))
        .max_events(3)
        .compaction_interval(std::time::Duration::from_millis(20))
        .open()
        .unwrap();
    let recorder = Recorder::new();
    backend.start(recorder.feed()).unwrap();
    for n in 1..=6 {
        backend
            .append("t", body(&n.to_string()), None)
            .await
            .unwrap();
    }
    within("compaction", async {
        // Compaction may run between appends: wait for the pass after
        // the sixth, which keeps 4, 5 and 6.
        while backend
            .replay("t", backend.epoch(), 2, 6, PageLimit::DEFAULT)
            .await
            .unwrap()
            .is_some()
        {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(
        backend
            .replay("t", backend.epoch(), 2, 6, PageLimit::DEFAULT)
            .await
            .unwrap(),
        None
    );
    let kept = backend
        .replay("t", backend.epoch(), 3, 6, PageLimit::DEFAULT)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.iter().map(|r| r.seq).collect::<Vec<_>>(), [4, 5, 6]);
    assert_eq!(backend.position("t").await.unwrap().seq(), 6);
    let next = backend.append("t", body("7"), None).await.unwrap();
    assert_eq!(next.seq(), 7);
    backend.close().await;
}

#[tokio::test]
async fn a_repeated_idempotency_key_stores_nothing_and_answers_the_first_id() {
    for mode in MODES {
        let dir = temp_dir();
        let (backend, recorder) = open(&dir, mode);
        let first = backend.append("t", body("x"), Some("k1")).await.unwrap();
        let repeat = backend.append("t", body("x"), Some("k1")).await.unwrap();
        assert_eq!(repeat, first, "{mode:?}");
        // Keys are per topic; another key is another event.
        let other_topic = backend.append("u", body("x"), Some("k1")).await.unwrap();
        assert_eq!(other_topic.seq(), 1);
        let second = backend.append("t", body("y"), Some("k2")).await.unwrap();
        assert_eq!(second.seq(), 2, "{mode:?}");
        // Repeats queued together with their first append.
        let (a, b) = tokio::join!(
            backend.append("t", body("z"), Some("k3")),
            backend.append("t", body("z"), Some("k3")),
        );
        assert_eq!(a.unwrap(), b.unwrap(), "{mode:?}");
        backend.flush().await.unwrap();
        assert_eq!(backend.position("t").await.unwrap().seq(), 3);
        recorder
            .until("reported", |r| {
                r.committed.get("t").is_some_and(|v| v.len() == 3)
            })
            .await;
        assert_eq!(
            recorder.seqs("t"),
            [1, 2, 3],
            "{mode:?}: repeats are not reported"
        );
        backend.close().await;
    }
}

#[tokio::test]
async fn keys_are_forgotten_beyond_the_window() {
    let dir = temp_dir();
    let backend = RedbBackend::builder(dir.path().join("store.redb"))
        .max_keys(2)
        .open()
        .unwrap();
    backend.start(Recorder::new().feed()).unwrap();
    for key in ["k1", "k2", "k3"] {
        backend.append("t", body(key), Some(key)).await.unwrap();
    }
    // k1 is the oldest of three with room for two: forgotten.
    assert_eq!(
        backend
            .append("t", body("k2"), Some("k2"))
            .await
            .unwrap()
            .seq(),
        2
    );
    assert_eq!(
        backend
            .append("t", body("k1"), Some("k1"))
            .await
            .unwrap()
            .seq(),
        4
    );
    backend.close().await;

    let backend = RedbBackend::builder(dir.path().join("store.redb"))
        .key_ttl(std::time::Duration::ZERO)
        .open()
        .unwrap();
    backend.start(Recorder::new().feed()).unwrap();
    // A time to live of zero remembers nothing.
    assert_eq!(
        backend
            .append("t", body("k1"), Some("k1"))
            .await
            .unwrap()
            .seq(),
        5
    );
    backend.close().await;
}

#[tokio::test]
async fn a_removed_topic_goes_on_numbering_and_its_history_is_gone() {
    let dir = temp_dir();
    let (backend, _recorder) = open(&dir, Durability::Immediate);
    for n in 1..=3 {
        backend
            .append("t", body(&n.to_string()), Some(&format!("k{n}")))
            .await
            .unwrap();
    }
    backend.remove_topic("t").await.unwrap();
    backend.remove_topic("never-seen").await.unwrap();
    assert_eq!(
        backend
            .replay("t", backend.epoch(), 0, 3, PageLimit::DEFAULT)
            .await
            .unwrap(),
        None
    );
    // No id of the epoch names two events: the next is 4, not 1.
    let position = backend.position("t").await.unwrap();
    assert_eq!(position.seq(), 3);
    let next = backend
        .append("t", body("after"), Some("k1"))
        .await
        .unwrap();
    assert_eq!(
        (next.epoch(), next.seq()),
        (backend.epoch(), 4),
        "keys were removed too"
    );
    let page = backend
        .replay("t", backend.epoch(), 3, 4, PageLimit::DEFAULT)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page[0].body, body("after"));
    backend.close().await;
}

#[tokio::test]
async fn flush_commits_the_open_batch() {
    let dir = temp_dir();
    // A batch stays open for a minute unless flushed.
    let (backend, recorder) = open(
        &dir,
        Durability::Batched(std::time::Duration::from_secs(120)),
    );
    let id = within(
        "early acknowledgement",
        backend.append("t", body("x"), None),
    )
    .await
    .unwrap();
    // Acknowledged, not committed: not reported, not readable.
    assert!(recorder.seqs("t").is_empty());
    assert_eq!(backend.position("t").await.unwrap().seq(), 0);
    // The flush is answered by the writer through a oneshot: awaiting it
    // parks this task, not the (current-thread) runtime.
    within("flush", backend.flush()).await.unwrap();
    assert_eq!(backend.position("t").await.unwrap(), id);
    assert_eq!(recorder.seqs("t"), [1]);
    backend.close().await;
}

#[tokio::test]
async fn dropping_the_backend_does_not_wait_for_its_writer() {
    let dir = temp_dir();
    let path = dir.path().join("store.redb");
    let (backend, recorder) = open(&dir, Durability::Batched(std::time::Duration::from_secs(2)));
    backend.append("t", body("x"), None).await.unwrap();
    let started = std::time::Instant::now();
    drop(backend);
    assert!(
        started.elapsed() < std::time::Duration::from_millis(500),
        "drop blocked"
    );
    // The writer commits what was queued, then closes the file.
    recorder
        .until("the queued append committed", |r| {
            r.committed.contains_key("t")
        })
        .await;
    let reopened = within("the file closed", async {
        loop {
            match RedbBackend::open(&path) {
                Ok(backend) => return backend,
                Err(error) if error.is_locked() => {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await
                }
                Err(error) => panic!("{error:?}"),
            }
        }
    })
    .await;
    assert_eq!(reopened.position("t").await.unwrap().seq(), 1);
    reopened.close().await;
}

#[tokio::test]
async fn start_is_called_once() {
    let dir = temp_dir();
    let (backend, _recorder) = open(&dir, Durability::Immediate);
    let again = backend.start(Recorder::new().feed());
    assert!(again.is_err_and(|e| e.is_unavailable()));
    backend.close().await;
}
