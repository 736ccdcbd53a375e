//! bourn-server-redb's integration tests, against the `Backend` trait
//! directly (no channel): one binary, a module per concern.

mod contract;
mod faults;
mod open;
mod reopen;
mod sigkill;
mod support;
