//! `open` refuses what is not a whole store, with a typed error and
//! without touching the file; it never panics and never starts a new
//! history over an existing file.

use std::path::Path;

use bourn_server::backend::Backend;
use bourn_server_redb::{OpenError, RedbBackend};

use crate::support::{Recorder, body, temp_dir};

/// A store with a few events, closed cleanly; returns its bytes.
async fn a_store(path: &Path) -> Vec<u8> {
    let backend = RedbBackend::open(path).unwrap();
    backend.start(Recorder::new().feed()).unwrap();
    for n in 0..200 {
        backend
            .append(&format!("topic-{}", n % 7), body(&"x".repeat(n)), None)
            .await
            .unwrap();
    }
    backend.close().await;
    std::fs::read(path).unwrap()
}

fn refused(path: &Path) -> OpenError {
    let before = std::fs::read(path).unwrap();
    let error = RedbBackend::open(path).expect_err("opened");
    let after = std::fs::read(path).unwrap();
    assert!(
        after == before,
        "the refused file was changed ({} bytes, then {})",
        before.len(),
        after.len()
    );
    // A clear message naming the file.
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    error
}

#[test]
fn an_empty_file_is_refused_not_adopted_as_a_new_history() {
    let dir = temp_dir();
    let path = dir.path().join("store.redb");
    std::fs::write(&path, b"").unwrap();
    let error = refused(&path);
    assert!(error.is_damaged(), "{error:?}");
    assert_eq!(error.path(), path);
}

#[test]
fn a_file_that_is_not_redb_is_refused() {
    let dir = temp_dir();
    let path = dir.path().join("store.redb");
    for bytes in [
        &b"not a redb file at all, just some bytes"[..],
        &[0u8; 8192][..],
        &[0xff; 100_000][..],
    ] {
        std::fs::write(&path, bytes).unwrap();
        let error = refused(&path);
        assert!(error.is_damaged() || error.is_foreign(), "{error:?}");
    }
}

#[tokio::test]
async fn a_truncated_store_is_refused_with_a_typed_error_never_a_panic() {
    let dir = temp_dir();
    let original = dir.path().join("original.redb");
    let bytes = a_store(&original).await;
    let len = bytes.len();
    assert!(len > 8192, "{len}");
    let path = dir.path().join("store.redb");
    let mut opened = 0;
    for cut in [
        1,
        64,
        511,
        512,
        4095,
        4096,
        4097,
        len / 4,
        len / 2,
        len - 4096,
        len - 1,
    ] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        match RedbBackend::open(&path) {
            Err(error) => assert!(error.is_damaged(), "cut at {cut} of {len}: {error:?}"),
            // A cut in the unused tail of the file leaves the history whole:
            // then every event must still be there.
            Ok(backend) => {
                opened += 1;
                for topic in 0..7 {
                    let position = backend.position(&format!("topic-{topic}")).await;
                    assert!(position.is_ok_and(|p| p.seq() > 0), "cut at {cut}: {topic}");
                }
                backend.close().await;
            }
        }
    }
    assert!(opened < 3, "most cuts must be refused");
}

#[test]
fn a_redb_file_of_another_program_is_refused() {
    let dir = temp_dir();
    let path = dir.path().join("store.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let table: redb::TableDefinition<&str, &str> = redb::TableDefinition::new("settings");
            txn.open_table(table)
                .unwrap()
                .insert("theme", "dark")
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let error = refused(&path);
    assert!(error.is_foreign(), "{error:?}");
}

#[test]
fn a_file_of_the_former_file_store_is_refused() {
    // bourn-server's FileStore: an epoch but no format, bodies with `id:` lines.
    let dir = temp_dir();
    let path = dir.path().join("store.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let meta: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");
            txn.open_table(meta)
                .unwrap()
                .insert("epoch", 0x1234)
                .unwrap();
            let events: redb::TableDefinition<(&str, u64), &[u8]> =
                redb::TableDefinition::new("events");
            txn.open_table(events)
                .unwrap()
                .insert(("t", 1), &b"id: 1234.1\ndata: x\n\n"[..])
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let error = refused(&path);
    assert!(error.is_foreign(), "{error:?}");
}

#[tokio::test]
async fn a_file_open_elsewhere_is_refused_as_locked() {
    let dir = temp_dir();
    let path = dir.path().join("store.redb");
    let first = RedbBackend::open(&path).unwrap();
    let error = RedbBackend::open(&path).unwrap_err();
    assert!(error.is_locked(), "{error:?}");
    first.close().await;
    RedbBackend::open(&path).unwrap().close().await;
}

#[test]
fn the_public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<OpenError>();
    send_sync::<RedbBackend>();
}
