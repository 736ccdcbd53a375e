//! Server-Sent Events responses and fan-out channels for hyper and axum.
#![forbid(unsafe_code)]
