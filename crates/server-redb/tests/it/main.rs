//! bourn-server-redb's integration tests, against the `Backend` trait
//! directly (no channel): one binary, a module per concern.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test panics"
)]

// A recording `FeedSink`, temporary folders, bounded waits.
mod support;

// The contract every backend keeps (written to move to bourn-conformance):
// contiguous seqs, the feed, pages, trimming, keys, removal, flush, drop.
mod contract;
// The failure model with faults injected under redb: read errors, a full
// disk, failed fsyncs; healing without a restart.
mod faults;
// Damaged, empty, foreign and locked files are refused.
mod open;
// What survives closing and reopening.
mod reopen;
// A child process killed mid-stream, in both durability modes.
mod sigkill;
// The shared backend suite of bourn-conformance.
mod suite;
