//! The request hook: called before every request the source sends.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::{HeaderMap, Request, StatusCode};

use crate::error::BoxError;

/// Why the [request hook](crate::Builder::on_request) is called: which
/// request is about to be sent.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum RequestReason {
    /// The source's first connection attempt.
    Initial,
    /// A reconnection: after a lost connection, a failed attempt, or
    /// [`Handle::restart`](crate::Handle::restart).
    Reconnect,
    /// The previous request of this attempt was redirected with this status;
    /// the request already goes to the new `Location`.
    Redirect(StatusCode),
    /// The previous request was refused with `401 Unauthorized` or
    /// `403 Forbidden`: refresh the credentials. The same request is sent
    /// again, once per attempt by default ([`auth_retries`](crate::Builder::auth_retries)),
    /// with the last event ID and the reconnection state kept.
    Unauthorized {
        /// `401` or `403`.
        status: StatusCode,
        /// The refusal's headers (`WWW-Authenticate`, ...).
        headers: HeaderMap,
    },
}

/// The future a request hook returns: the request to send, or an error that
/// fails the source.
pub type HookFuture = Pin<Box<dyn Future<Output = Result<Request<()>, BoxError>> + Send>>;

type HookFn = dyn Fn(Request<()>, RequestReason) -> HookFuture + Send + Sync;

/// A shared, type-erased request hook.
#[derive(Clone)]
pub(crate) struct Hook(pub(crate) Arc<HookFn>);

impl Hook {
    pub(crate) fn new<F, Fut>(hook: F) -> Hook
    where
        F: Fn(Request<()>, RequestReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Request<()>, BoxError>> + Send + 'static,
    {
        Hook(Arc::new(move |request, reason| {
            Box::pin(hook(request, reason))
        }))
    }

    pub(crate) fn call(&self, request: Request<()>, reason: RequestReason) -> HookFuture {
        (self.0)(request, reason)
    }
}

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hook")
    }
}
