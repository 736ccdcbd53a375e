//! bourn-client against the scripted server of `bourn-testkit`, over loopback.
// Helpers outside `#[test]` functions panic to report a failure too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "it/util.rs"]
mod util;

#[path = "it/backoff.rs"]
mod backoff;
#[path = "it/close.rs"]
mod close;
#[path = "it/conformance.rs"]
mod conformance;
#[path = "it/headers.rs"]
mod headers;
#[path = "it/hook.rs"]
mod hook;
#[path = "it/idle.rs"]
mod idle;
#[path = "it/limits.rs"]
mod limits;
#[path = "it/net.rs"]
mod net;
#[path = "it/one_shot.rs"]
mod one_shot;
#[path = "it/reconnect.rs"]
mod reconnect;
#[path = "it/redirect.rs"]
mod redirect;
#[path = "it/restart.rs"]
mod restart;
#[path = "it/soak.rs"]
mod soak;
#[path = "it/spec.rs"]
mod spec;
#[path = "it/status.rs"]
mod status;
#[path = "it/tls.rs"]
mod tls;
