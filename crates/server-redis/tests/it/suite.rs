//! The backend suite every bourn-server backend passes
//! (`bourn_conformance::backend`), each check under a fresh key prefix on
//! one throwaway redis-server; "two nodes" opens a second backend on the
//! last prefix.

use std::sync::Mutex;

use bourn_server_redis::RedisBackend;
use bourn_testkit::redis::RedisServer;

#[tokio::test]
async fn redis_passes_the_backend_suite_with_two_nodes() {
    let Some(server) = RedisServer::start("redis_passes_the_backend_suite_with_two_nodes") else {
        return;
    };
    let url = server.url();
    let prefix = Mutex::new(String::new());
    let open = |prefix: String| {
        let url = url.clone();
        async move {
            RedisBackend::builder(&url)
                .prefix(&prefix)
                .open()
                .await
                .unwrap()
        }
    };
    bourn_conformance::backend::run_all(
        async || {
            let fresh = format!("suite{}", bourn_server::random_epoch());
            *prefix.lock().unwrap() = fresh.clone();
            open(fresh).await
        },
        Some(|| open(prefix.lock().unwrap().clone())),
    )
    .await;
}
