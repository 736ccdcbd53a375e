//! End-to-end tests of the `bourn` binary: every test runs the real
//! executable on 127.0.0.1 with free ports, bounded waits and timeouts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]

mod it {
    mod bad_input;
    // `bourn serve` options: one layer over flags, variables and the file.
    mod config;
    mod decode;
    mod exit_codes;
    mod hub;
    // Timeouts, caps and bounds under hostile load (issue 11).
    mod limits;
    mod listen;
    mod restart;
    // Resumable runs: one upstream request, many followers (issue 15).
    mod runs;
    mod support;
    // Cross-site publishes, DNS rebinding, reserved event types.
    mod trust;
    // `bourn serve --store`: embedded file and Redis.
    mod store;
}
