//! bourn-server-redis against a throwaway `redis-server`: the backend
//! contract, then the failure model (each point one test), then two nodes.
//! Each test skips with a notice when `redis-server` is not installed,
//! unless `BOURN_REQUIRE_REDIS` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "it/support.rs"]
mod support;

#[path = "it/proxy.rs"]
mod proxy;

#[path = "it/contract.rs"]
mod contract;

#[path = "it/failures.rs"]
mod failures;

#[path = "it/nodes.rs"]
mod nodes;

#[path = "it/suite.rs"]
mod suite;
