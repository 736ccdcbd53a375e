//! The failure model, with faults injected under redb (the file fails
//! reads or writes as a broken or full disk would).

use std::time::Duration;

use bourn_server::backend::{Backend, Health};
use bourn_server_redb::{Durability, Faults, RedbBackend};

use crate::support::{Recorder, body, temp_dir, within};

fn unhealthy(health: &[Health]) -> bool {
    health.iter().any(|h| !h.is_healthy())
}

#[tokio::test]
async fn a_failed_read_is_an_error_and_never_restarts_numbering() {
    let dir = temp_dir();
    let path = dir.path().join("store.redb");
    let backend = RedbBackend::open(&path).unwrap();
    backend.start(Recorder::new().feed()).unwrap();
    for n in 1..=3 {
        backend
            .append("t", body(&n.to_string()), None)
            .await
            .unwrap();
    }
    backend.close().await;

    // Reopened, so nothing of the topic is cached: its reads reach the disk.
    let faults = Faults::new();
    let backend = RedbBackend::builder(&path)
        .faults(faults.clone())
        .open()
        .unwrap();
    let recorder = Recorder::new();
    backend.start(recorder.feed()).unwrap();
    faults.fail_reads(true);
    let position = backend.position("t").await;
    assert!(
        position.as_ref().is_err_and(|e| e.is_unavailable()),
        "{position:?}"
    );
    let replay = backend
        .replay("t", backend.epoch(), 0, 3, Default::default())
        .await;
    assert!(
        replay.as_ref().is_err_and(|e| e.is_unavailable()),
        "{replay:?}: never `trimmed`"
    );
    let append = backend.append("t", body("4"), None).await;
    assert!(
        append.as_ref().is_err_and(|e| e.is_unavailable()),
        "{append:?}"
    );
    recorder.until("unhealthy", |r| unhealthy(&r.health)).await;

    faults.fail_reads(false);
    recorder
        .until("healthy again", |r| {
            r.health.last().is_some_and(Health::is_healthy)
        })
        .await;
    let next = backend.append("t", body("4"), None).await.unwrap();
    assert_eq!(
        (next.epoch(), next.seq()),
        (backend.epoch(), 4),
        "numbering went on"
    );
    assert_eq!(backend.position("t").await.unwrap(), next);
    assert_eq!(
        recorder.seqs("t"),
        [4],
        "the failed append was never reported"
    );
    backend.close().await;
}

#[tokio::test]
async fn a_failed_read_of_a_topics_last_seq_never_restarts_numbering() {
    let dir = temp_dir();
    let faults = Faults::new();
    let backend = RedbBackend::builder(dir.path().join("store.redb"))
        .faults(faults.clone())
        .open()
        .unwrap();
    let recorder = Recorder::new();
    backend.start(recorder.feed()).unwrap();
    for n in 1..=3 {
        backend
            .append("t", body(&n.to_string()), None)
            .await
            .unwrap();
    }
    // The topic's row cannot be read (a corrupt page: redb goes on
    // accepting writes). Turned into "no event yet", the next append
    // would be written as seq 1 again, in the same epoch.
    faults.fail_topic_reads(true);
    let append = backend.append("t", body("again"), None).await;
    assert!(
        append.as_ref().is_err_and(|e| e.is_unavailable()),
        "{append:?}"
    );
    let position = backend.position("t").await;
    assert!(
        position.as_ref().is_err_and(|e| e.is_unavailable()),
        "{position:?}"
    );
    faults.fail_topic_reads(false);
    recorder
        .until("healthy again", |r| {
            r.health.last().is_some_and(Health::is_healthy)
        })
        .await;
    let next = backend.append("t", body("4"), None).await.unwrap();
    assert_eq!(next.seq(), 4, "numbering went on");
    let page = backend
        .replay("t", backend.epoch(), 0, 4, Default::default())
        .await
        .unwrap()
        .unwrap();
    let bodies: Vec<_> = page.iter().map(|r| r.body.clone()).collect();
    assert_eq!(
        bodies,
        [body("1"), body("2"), body("3"), body("4")],
        "nothing overwritten"
    );
    assert_eq!(recorder.seqs("t"), [1, 2, 3, 4]);
    backend.close().await;
}

#[tokio::test]
async fn a_full_disk_fails_appends_then_the_backend_heals_without_a_restart() {
    let dir = temp_dir();
    let faults = Faults::new();
    let backend = RedbBackend::builder(dir.path().join("store.redb"))
        .faults(faults.clone())
        .open()
        .unwrap();
    let recorder = Recorder::new();
    backend.start(recorder.feed()).unwrap();
    for n in 1..=3 {
        backend
            .append("t", body(&n.to_string()), None)
            .await
            .unwrap();
    }

    faults.fail_writes(true);
    let failed = backend.append("t", body("lost"), None);
    let reported = recorder.until("unhealthy", |r| unhealthy(&r.health)).await;
    let Some(Health::Unhealthy(reason)) = reported.health.last() else {
        panic!("{reported:?}")
    };
    assert!(
        reason.starts_with("embedded store: ") && reason.contains("injected: no space left"),
        "{reason}"
    );
    // While the disk is full, appends and reads fail at once, as unavailable.
    let refused = within("refused", backend.append("t", body("refused"), None)).await;
    assert!(refused.is_err_and(|e| e.is_unavailable()));
    assert!(
        backend
            .position("t")
            .await
            .is_err_and(|e| e.is_unavailable())
    );
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Space returns: the backend reopens the file by itself.
    faults.fail_writes(false);
    // Nothing of the failed commit reached the file: unavailable, not unknown.
    let failed = within("the failed append", failed).await;
    assert!(
        failed.as_ref().is_err_and(|e| e.is_unavailable()),
        "{failed:?}"
    );
    recorder
        .until("healthy again", |r| {
            r.health.last().is_some_and(Health::is_healthy)
        })
        .await;
    let next = backend.append("t", body("4"), None).await.unwrap();
    assert_eq!(next.seq(), 4, "the failed append took no seq");
    assert_eq!(backend.position("t").await.unwrap(), next);
    assert_eq!(recorder.seqs("t"), [1, 2, 3, 4]);
    backend.flush().await.unwrap();
    backend.close().await;
}

#[tokio::test]
async fn a_failed_commit_is_read_back_and_answered_precisely() {
    let dir = temp_dir();
    let faults = Faults::new();
    let backend = RedbBackend::builder(dir.path().join("store.redb"))
        .faults(faults.clone())
        .open()
        .unwrap();
    let recorder = Recorder::new();
    backend.start(recorder.feed()).unwrap();
    backend.append("t", body("1"), None).await.unwrap();

    // The fsync of the commit fails: its pages and header may be written.
    faults.fail_syncs(true);
    let append = backend.append("t", body("2"), Some("k2"));
    recorder.until("unhealthy", |r| unhealthy(&r.health)).await;
    faults.fail_syncs(false);
    // Within the wait, the file is reopened and read back. redb writes a
    // commit's pages and header before its one fsync, so this commit is in
    // the file: the append gets its id (it would get `unavailable` if the
    // commit were not there), never "unknown", and it is reported once.
    let id = within("the append", append).await.unwrap();
    assert_eq!(id.seq(), 2);
    recorder
        .until("reported", |r| {
            r.committed.get("t").is_some_and(|v| v.len() == 2)
        })
        .await;
    recorder
        .until("healthy again", |r| {
            r.health.last().is_some_and(Health::is_healthy)
        })
        .await;
    let retry = backend.append("t", body("2"), Some("k2")).await.unwrap();
    assert_eq!(retry.seq(), 2);
    backend.flush().await.unwrap();
    assert_eq!(recorder.seqs("t"), [1, 2], "reported exactly once");
    backend.close().await;
}

#[tokio::test]
async fn a_failed_commit_that_did_not_land_is_unavailable_after_the_read_back() {
    let dir = temp_dir();
    let faults = Faults::new();
    let backend = RedbBackend::builder(dir.path().join("store.redb"))
        .faults(faults.clone())
        .open()
        .unwrap();
    let recorder = Recorder::new();
    backend.start(recorder.feed()).unwrap();
    backend.append("t", body("1"), None).await.unwrap();

    // The commit's data pages are written, its header is not.
    faults.fail_header_writes(true);
    let append = backend.append("t", body("2"), None);
    recorder.until("unhealthy", |r| unhealthy(&r.health)).await;
    faults.fail_header_writes(false);
    let error = within("the append", append).await.unwrap_err();
    assert!(error.is_unavailable(), "{error:?}: read back, not there");
    recorder
        .until("healthy again", |r| {
            r.health.last().is_some_and(Health::is_healthy)
        })
        .await;
    assert_eq!(backend.position("t").await.unwrap().seq(), 1);
    let next = backend.append("t", body("2"), None).await.unwrap();
    assert_eq!(next.seq(), 2);
    backend.flush().await.unwrap();
    assert_eq!(recorder.seqs("t"), [1, 2]);
    backend.close().await;
}

#[tokio::test]
async fn a_commit_whose_outcome_cannot_be_read_back_is_outcome_unknown() {
    let dir = temp_dir();
    let faults = Faults::new();
    let backend = RedbBackend::builder(dir.path().join("store.redb"))
        .faults(faults.clone())
        .open()
        .unwrap();
    let recorder = Recorder::new();
    backend.start(recorder.feed()).unwrap();
    backend.append("t", body("1"), Some("k1")).await.unwrap();

    // The fsync fails, and keeps failing past the wait for the outcome
    // (reopening needs a repair, which syncs).
    faults.fail_syncs(true);
    let started = std::time::Instant::now();
    let append = within("the append", backend.append("t", body("2"), Some("k2"))).await;
    let error = append.unwrap_err();
    assert!(error.is_outcome_unknown(), "{error:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "answered before the wait"
    );
    faults.fail_syncs(false);
    recorder
        .until("healthy again", |r| {
            r.health.last().is_some_and(Health::is_healthy)
        })
        .await;
    // The retry with the same key is safe whatever happened: one event.
    let retry = backend.append("t", body("2"), Some("k2")).await.unwrap();
    assert_eq!(retry.seq(), 2);
    backend.flush().await.unwrap();
    assert_eq!(recorder.seqs("t"), [1, 2], "reported exactly once");
    backend.close().await;
}

#[tokio::test]
async fn flush_reports_acknowledged_appends_lost_to_a_failed_commit() {
    let dir = temp_dir();
    let faults = Faults::new();
    let backend = RedbBackend::builder(dir.path().join("store.redb"))
        .durability(Durability::Batched(Duration::from_millis(400)))
        .faults(faults.clone())
        .open()
        .unwrap();
    let recorder = Recorder::new();
    backend.start(recorder.feed()).unwrap();
    // Acknowledged when taken into the open batch, whose commit then fails.
    faults.fail_header_writes(true);
    let acknowledged = within("early ack", backend.append("t", body("1"), None)).await;
    assert_eq!(acknowledged.unwrap().seq(), 1);
    recorder.until("unhealthy", |r| unhealthy(&r.health)).await;
    faults.fail_header_writes(false);
    recorder
        .until("healthy again", |r| {
            r.health.last().is_some_and(Health::is_healthy)
        })
        .await;
    // The loss is reported once, to the next flush; nothing was delivered.
    let flushed = backend.flush().await;
    assert!(flushed.is_err_and(|e| e.is_unavailable()));
    backend.flush().await.unwrap();
    assert!(recorder.seqs("t").is_empty());
    // Its id is given to the next event (no subscriber saw the lost one).
    let next = backend.append("t", body("2"), None).await.unwrap();
    assert_eq!(next.seq(), 1);
    backend.close().await;
}
