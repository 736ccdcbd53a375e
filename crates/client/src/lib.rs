//! An EventSource client for Rust on hyper.
#![forbid(unsafe_code)]
