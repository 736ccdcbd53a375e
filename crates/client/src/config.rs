//! The settings one event source runs with, shared by its connections.

use std::time::Duration;

use bourn_codec::Limits;
use bytes::Bytes;
use http::{HeaderMap, Method, Uri};

use crate::cookies::Jar;
use crate::hook::Hook;
use crate::retry::RetryPolicy;
use crate::transport::Erased;

/// Default for [`Builder::connect_timeout`](crate::Builder::connect_timeout): 30 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Default for [`Builder::idle_timeout`](crate::Builder::idle_timeout): 5 minutes.
/// Any byte resets it, keep-alive comments included (bourn-server sends one
/// every 15 s by default; the spec suggests "every 15 seconds or so").
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Default for [`Builder::auth_retries`](crate::Builder::auth_retries): 1.
pub const DEFAULT_AUTH_RETRIES: u32 = 1;

/// At most this many bytes of a refused response's body are kept in the
/// [`Error`](crate::Error): 4 KiB.
pub const BODY_HEAD_LEN: usize = 4 * 1024;

/// How long the client reads a refused response's body for its first bytes: 1 s.
pub const BODY_HEAD_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) uri: Uri,
    pub(crate) method: Method,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) policy: RetryPolicy,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_redirects: usize,
    pub(crate) limits: Limits,
    pub(crate) one_shot: bool,
    pub(crate) done: Option<String>,
    pub(crate) comments: bool,
    pub(crate) retry_first_connect: bool,
    pub(crate) hook: Option<Hook>,
    pub(crate) auth_retries: u32,
    pub(crate) cookies: Option<Jar>,
    pub(crate) transport: Erased,
}
