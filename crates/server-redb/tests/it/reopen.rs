//! What survives closing and reopening the file.

use bourn_server::backend::{Backend, PageLimit};
use bourn_server_redb::{Durability, RedbBackend};

use crate::support::{Recorder, body, temp_dir};

#[tokio::test]
async fn acknowledged_events_survive_a_reopen_with_the_same_epoch() {
    let dir = temp_dir();
    let path = dir.path().join("nested/folder/store.redb");
    let backend = RedbBackend::builder(&path)
        .durability(Durability::Immediate)
        .open()
        .unwrap();
    let epoch = backend.epoch();
    backend.start(Recorder::new().feed()).unwrap();
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(
            backend
                .append("t", body(&n.to_string()), Some(&format!("k{n}")))
                .await
                .unwrap(),
        );
    }
    backend.close().await;

    let backend = RedbBackend::open(&path).unwrap();
    assert_eq!(
        backend.epoch(),
        epoch,
        "one epoch per file, kept across restarts"
    );
    let recorder = Recorder::new();
    backend.start(recorder.feed()).unwrap();
    assert_eq!(backend.position("t").await.unwrap(), ids[4]);
    let page = backend
        .replay("t", backend.epoch(), 1, 5, PageLimit::DEFAULT)
        .await
        .unwrap()
        .unwrap();
    let bodies: Vec<_> = page.iter().map(|r| (r.seq, r.body.clone())).collect();
    assert_eq!(
        bodies,
        (2..=5)
            .map(|n| (n, body(&n.to_string())))
            .collect::<Vec<_>>()
    );
    // A retry after the restart is still recognised by its key.
    let retry = backend.append("t", body("3"), Some("k3")).await.unwrap();
    assert_eq!(retry, ids[2]);
    // Numbering goes on in the same epoch.
    let next = backend.append("t", body("6"), None).await.unwrap();
    assert_eq!((next.epoch(), next.seq()), (epoch, 6));
    assert_eq!(recorder.seqs("t"), [6], "only new commits are reported");
    backend.close().await;
}

#[tokio::test]
async fn batched_events_are_durable_after_flush_and_close() {
    let dir = temp_dir();
    let path = dir.path().join("store.redb");
    let backend = RedbBackend::builder(&path)
        .durability(Durability::Batched(RedbBackend::DEFAULT_BATCH_WINDOW))
        .open()
        .unwrap();
    backend.start(Recorder::new().feed()).unwrap();
    for n in 1..=100 {
        backend
            .append("t", body(&n.to_string()), None)
            .await
            .unwrap();
    }
    backend.flush().await.unwrap();
    for n in 101..=120 {
        backend
            .append("t", body(&n.to_string()), None)
            .await
            .unwrap();
    }
    // Closing commits what is still queued.
    backend.close().await;
    let backend = RedbBackend::open(&path).unwrap();
    assert_eq!(backend.position("t").await.unwrap().seq(), 120);
    backend.close().await;
}
