//! The backend suite every bourn-server backend passes
//! (`bourn_conformance::backend`), each check on a fresh file.

use std::sync::Mutex;

use bourn_server_redb::{Durability, RedbBackend};

use super::support::temp_dir;

#[tokio::test]
async fn redb_passes_the_backend_suite_in_both_durabilities() {
    for durability in [
        Durability::Immediate,
        Durability::Batched(std::time::Duration::from_millis(10)),
    ] {
        let dir = temp_dir();
        let files = Mutex::new(0u32);
        bourn_conformance::backend::run_all(
            async || {
                let mut n = files.lock().unwrap();
                *n += 1;
                let path = dir.path().join(format!("suite-{n}.redb"));
                RedbBackend::builder(path)
                    .durability(durability)
                    .open()
                    .unwrap()
            },
            None::<fn() -> std::future::Ready<RedbBackend>>,
        )
        .await;
    }
}
