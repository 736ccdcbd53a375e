//! A scripted Server-Sent Events server for fault-injection tests: it listens
//! on `127.0.0.1:0`, answers each request with a [`Reply`] you script (bytes
//! in chosen chunks, a dropped connection at a chosen byte, a status, a
//! content type, a redirect, a stall, a one-byte trickle, a proxy's `CONNECT`
//! tunnel) and records every
//! request it receives (method, path, headers, body).
//!
//! ```
//! use bourn_testkit::{Reply, Server};
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let server = Server::replies([Reply::sse("data: hello\n\n").chunk_size(3)]).await?;
//! let stream = tokio::net::TcpStream::connect(server.addr()).await?;
//! # drop(stream);
//! assert!(server.url().starts_with("http://127.0.0.1:"));
//! # Ok::<(), std::io::Error>(())
//! # })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Features
//!
//! - `load` (off by default): the module `load`, the load generator of the server
//!   benchmarks (`bourn-server`'s `examples/load.rs`, `bourn-benches`'
//!   `examples/hub-load.rs`); adds axum and `bourn-codec`.
//!
//! The crate is a test helper (`publish = false`) for `bourn-client`, its
//! benchmarks and the conformance harness.
//!
//! # Limits
//!
//! - Request bodies are read whole before the reply is chosen. Default: no
//!   size limit (tests send small bodies).
//! - [`Server::replies`] answers `204 No Content` once its list is used up,
//!   which tells a conforming client to stop. Default: 204.
//! - A dropped connection waits 2 ms after the last chunk before it closes, so
//!   the bytes before the drop point reach the socket first.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod body;
#[cfg(feature = "load")]
pub mod load;
mod recorded;
pub mod redis;
mod reply;
mod server;

pub use crate::body::ScriptBody;
pub use crate::recorded::Recorded;
pub use crate::reply::Reply;
pub use crate::server::Server;
