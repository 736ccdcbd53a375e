//! The backend suite against bourn-server's memory backend.
#![cfg(feature = "backends")]

use bourn_server::MemoryBackend;

#[tokio::test]
async fn memory_backend_passes_the_suite() {
    bourn_conformance::backend::run_all(
        async || MemoryBackend::new(),
        None::<fn() -> std::future::Ready<MemoryBackend>>,
    )
    .await;
}
