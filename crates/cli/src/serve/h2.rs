//! HTTP/2 connections that hold no request: closed after --header-timeout.
//!
//! hyper's header-read timeout is an HTTP/1.1 setting. Over HTTP/2 a client
//! can send the preface and then nothing, or start a request's `HEADERS`
//! and never send the `CONTINUATION` that ends them: the request never
//! reaches the router, so no body deadline or write deadline applies, and
//! the connection holds its place under --max-connections for ever.
//!
//! Each HTTP/2 connection counts its requests in flight: from the moment
//! the router is called to the moment the response body is dropped (a
//! subscription stays in flight for its whole life). A connection with
//! none in flight for --header-timeout is asked to close (`GOAWAY`), and
//! dropped if it is still open another --header-timeout later (a peer that
//! never answers the `GOAWAY`'s ping). A request whose headers never end
//! is not in flight, so a connection holding only such a request is idle.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::Request;
use http_body::Frame;
use tokio::time::Instant;
use tower_service::Service;

/// Requests in flight on one connection, and how many have started.
#[derive(Debug, Default)]
pub struct Activity {
    in_flight: AtomicUsize,
    started: AtomicU64,
}

impl Activity {
    /// Returns once the connection has had no request in flight, and none
    /// started, for `idle` (checked every quarter of it, so at most 1.25 ×
    /// `idle` after the last request ended).
    pub async fn idle_for(&self, idle: Duration) {
        let tick = (idle / 4).max(Duration::from_millis(10));
        let mut since: Option<(Instant, u64)> = None;
        loop {
            let started = self.started.load(Ordering::Acquire);
            let quiet = self.in_flight.load(Ordering::Acquire) == 0;
            since = match since {
                Some((at, seen)) if quiet && seen == started => {
                    if at.elapsed() >= idle {
                        return;
                    }
                    Some((at, seen))
                }
                _ if quiet => Some((Instant::now(), started)),
                _ => None,
            };
            tokio::time::sleep(tick).await;
        }
    }
}

/// One request in flight until dropped.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: &Arc<Activity>) -> InFlight {
        activity.started.fetch_add(1, Ordering::AcqRel);
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The router, counting each request in [`Activity`] until its response
/// body is dropped.
#[derive(Clone)]
pub struct Counted {
    router: Router,
    activity: Arc<Activity>,
}

impl Counted {
    pub fn new(router: Router, activity: Arc<Activity>) -> Counted {
        Counted { router, activity }
    }
}

impl<B> Service<Request<B>> for Counted
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // Counted from here, so a request whose handler is still running
        // (a publish reading its body) is in flight too.
        let in_flight = InFlight::new(&self.activity);
        let answer = self.router.call(request.map(Body::new));
        Box::pin(async move {
            let response = answer.await?;
            Ok(response.map(|body| {
                Body::new(Tracked {
                    body,
                    _in_flight: in_flight,
                })
            }))
        })
    }
}

/// A response body that keeps its request in flight until dropped.
struct Tracked {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_only_after_the_whole_time_with_nothing_in_flight() {
        let activity = Arc::new(Activity::default());
        let idle = Duration::from_secs(4);
        // Nothing in flight from the start: idle after 4 s (at most 5).
        let start = Instant::now();
        activity.idle_for(idle).await;
        let took = start.elapsed();
        assert!((idle..idle + idle / 4).contains(&took), "{took:?}");

        // A request in flight for 10 s: idle 4 s after it ended.
        let request = InFlight::new(&activity);
        let start = Instant::now();
        let waiter = tokio::spawn({
            let activity = Arc::clone(&activity);
            async move { activity.idle_for(idle).await }
        });
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(!waiter.is_finished());
        drop(request);
        waiter.await.unwrap();
        let took = start.elapsed();
        assert!(
            (Duration::from_secs(14)..=Duration::from_secs(16)).contains(&took),
            "{took:?}"
        );

        // Short requests every 3 s keep it busy, though none is in flight
        // when it looks.
        let start = Instant::now();
        let waiter = tokio::spawn({
            let activity = Arc::clone(&activity);
            async move { activity.idle_for(idle).await }
        });
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_secs(3)).await;
            drop(InFlight::new(&activity));
            assert!(!waiter.is_finished());
        }
        waiter.await.unwrap();
        assert!(
            start.elapsed() >= Duration::from_secs(19),
            "{:?}",
            start.elapsed()
        );
    }
}
