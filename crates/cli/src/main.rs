//! The `rill` binary.
#![forbid(unsafe_code)]

fn main() {}
