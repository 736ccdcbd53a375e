//! Criterion benchmarks: rill beside peer SSE crates.
#![forbid(unsafe_code)]
