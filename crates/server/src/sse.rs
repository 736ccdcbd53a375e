//! `Sse`: an `http_body::Body` writing a stream of events.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bourn_codec::Event;
use bytes::{BufMut, Bytes, BytesMut};
use futures_core::Stream;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::encoded::{Encoded, IntoEncoded};
use crate::error::Error;
use crate::keep_alive::KeepAlive;
use crate::shutdown::Shutdown;

/// The `Content-Type` of every event stream.
pub const CONTENT_TYPE_EVENT_STREAM: &str = "text/event-stream";

/// The most bytes one body frame gathers from items that are ready at once.
///
/// A burst queued for a subscriber leaves as one frame: on HTTP/1.1 one
/// chunk (hyper sends at most 16 buffers per `writev`, three per chunk),
/// on HTTP/2 one `DATA` frame. Measured with 100 subscribers of 100-byte
/// events (`examples/load.rs`), copying a burst into one buffer costs less
/// server CPU than handing hyper each event's shared `Bytes`.
const BATCH_BYTES: usize = 32 * 1024;

pin_project! {
    /// A Server-Sent Events response body over any `Stream` of events.
    ///
    /// The stream's items are [`Event`]s, `bourn_codec::Frame`s, [`Encoded`]
    /// bytes or `Result`s of those ([`IntoEncoded`]), each encoded by
    /// `bourn-codec`. The body implements
    /// [`http_body::Body`] with `Data = Bytes`, so hyper serves it over
    /// HTTP/1.1 (chunked) and HTTP/2 alike; [`into_http_response`](Sse::into_http_response)
    /// adds the headers.
    ///
    /// Items the stream has ready at once are gathered into one body frame
    /// (up to 32 KiB, copied once); an item that is alone is written as its
    /// own `Bytes`, without a copy, so a lone published event stays shared.
    ///
    /// In order, a body writes: the `retry:` hint set with
    /// [`retry`](Sse::retry), if any; then the stream's items, with a
    /// keep-alive comment after each idle [`KeepAlive`] interval; then it ends
    /// when the stream ends, or when its [`Shutdown`] is triggered (after the
    /// farewell). Dropping the body (hyper does when the client goes away)
    /// drops the stream at once.
    ///
    /// Keep-alives use tokio's timer: poll the body inside a tokio runtime.
    #[must_use = "a response body does nothing unless returned or polled"]
    pub struct Sse<S> {
        #[pin]
        stream: Option<S>,
        prelude: Option<Encoded>,
        keep_alive: Option<KeepAlive>,
        #[pin]
        sleep: Option<Sleep>,
        // When the body last wrote. Read from the clock only when the body
        // goes idle (`written` then says a frame went out since the last
        // reading), not once per frame: under load a clock read per event
        // was 7 % of the server's CPU.
        last_write: Instant,
        written: bool,
        #[pin]
        shutdown: Option<WaitForCancellationFutureOwned>,
        farewell: Option<Encoded>,
        // A stream error met while gathering a batch: written after it.
        error: Option<Error>,
        done: bool,
    }
}

impl<S> Sse<S> {
    /// A body writing `stream`, with the default [`KeepAlive`] (15 s).
    pub fn new(stream: S) -> Sse<S> {
        Sse::with_stream(Some(stream))
    }

    fn with_stream(stream: Option<S>) -> Sse<S> {
        Sse {
            stream,
            prelude: None,
            keep_alive: Some(KeepAlive::new()),
            sleep: None,
            last_write: Instant::now(),
            written: false,
            shutdown: None,
            farewell: None,
            error: None,
            done: false,
        }
    }

    /// Sets the keep-alive policy. Default: [`KeepAlive::new`], an empty
    /// comment after 15 s idle.
    pub fn keep_alive(mut self, keep_alive: KeepAlive) -> Sse<S> {
        self.keep_alive = Some(keep_alive);
        self
    }

    /// Turns keep-alive comments off. Default: on (15 s).
    pub fn no_keep_alive(mut self) -> Sse<S> {
        self.keep_alive = None;
        self
    }

    /// Writes `retry: <ms>` first, telling the client how long to wait before
    /// reconnecting. Default: nothing (browsers then wait about 3 s).
    pub fn retry(mut self, retry: Duration) -> Sse<S> {
        self.prelude = Some(Encoded::from(Event::builder().retry(retry).build()));
        self
    }

    /// Ends the body when `shutdown` is triggered, after its farewell.
    /// Default: no shutdown signal (the body ends with its stream only).
    pub fn shutdown(mut self, shutdown: &Shutdown) -> Sse<S> {
        self.shutdown = Some(shutdown.wait());
        self.farewell = shutdown.farewell_bytes().cloned();
        self
    }

    /// The body in a `200 OK` response with `Content-Type:
    /// text/event-stream`, `Cache-Control: no-cache` and
    /// `X-Accel-Buffering: no` (nginx must not buffer it). No `Connection`
    /// header: it is illegal in HTTP/2, and HTTP/1.1 keeps the connection
    /// by default.
    pub fn into_http_response(self) -> Response<Sse<S>> {
        let mut response = Response::new(self);
        // hyper's HTTP/1.1 connection keeps the response's map for its whole
        // life (emptied, to parse a next request into): sized for the three
        // headers it holds, not the six entries of a default map's first
        // growth, it is about 300 bytes less per open stream.
        *response.headers_mut() = HeaderMap::with_capacity(3);
        set_event_stream_headers(response.headers_mut());
        response
    }

    /// The answer to a client that hit a subscriber limit, made so that it
    /// comes back later instead of giving up.
    ///
    /// A browser's `EventSource` never retries after a 5xx, so by default the
    /// answer is a `200 OK` event stream holding only the comment `: busy`
    /// and a `retry:` hint of `retry` plus up to 50 % random jitter (so a
    /// crowd does not come back at the same instant), then the end of the
    /// stream: the browser reconnects by itself after the hint, with its
    /// `Last-Event-ID`.
    ///
    /// A client that asks for it with the request header `Prefer:
    /// retry-after` (an RFC 7240 preference) gets `503 Service Unavailable`
    /// with `Retry-After: <seconds>` (rounded up, jittered the same way) and
    /// an empty body instead.
    pub fn busy(request_headers: &HeaderMap, retry: Duration) -> Response<Sse<S>> {
        let jitter = rand::random_range(1.0..1.5);
        let retry = retry.mul_f64(jitter);
        let mut sse = Sse::with_stream(None).no_keep_alive();
        if prefers_retry_after(request_headers) {
            let mut response = Response::new(sse);
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            let seconds = retry.as_secs() + u64::from(retry.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            return response;
        }
        sse.prelude = Some(Encoded::from(
            Event::builder().comment("busy").retry(retry).build(),
        ));
        sse.into_http_response()
    }
}

/// Sets the event-stream response headers (see [`Sse::into_http_response`]).
pub(crate) fn set_event_stream_headers(headers: &mut HeaderMap) {
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE_EVENT_STREAM),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
}

/// Whether a `Prefer` header holds the `retry-after` preference.
fn prefers_retry_after(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|preference| {
            let token = preference.split([';', '=']).next().unwrap_or("").trim();
            token.eq_ignore_ascii_case("retry-after")
        })
}

impl<S> Body for Sse<S>
where
    S: Stream,
    S::Item: IntoEncoded,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let mut this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        if let Some(prelude) = this.prelude.take() {
            *this.written = true;
            return Poll::Ready(Some(Ok(Frame::data(prelude.into_bytes()))));
        }
        if let Some(error) = this.error.take() {
            *this.done = true;
            return Poll::Ready(Some(Err(error)));
        }
        if let Some(shutdown) = this.shutdown.as_mut().as_pin_mut() {
            if shutdown.poll(cx).is_ready() {
                *this.done = true;
                // What the stream has ready now still goes out, before the
                // farewell: an event published before the shutdown reaches
                // a subscriber that was connected (one batch, never a wait).
                let mut ready = None;
                if let Some(stream) = this.stream.as_mut().as_pin_mut() {
                    if let Poll::Ready(Some(item)) = stream.poll_next(cx) {
                        if let Ok(first) = item.into_encoded() {
                            let mut ignored = None;
                            ready = Some(gather(
                                first.into_bytes(),
                                this.stream.as_mut(),
                                &mut ignored,
                                cx,
                            ));
                        }
                    }
                }
                this.stream.set(None);
                this.sleep.set(None);
                let farewell = this.farewell.take().map(Encoded::into_bytes);
                let last = match (ready, farewell) {
                    (Some(ready), Some(farewell)) => {
                        let mut both = BytesMut::with_capacity(ready.len() + farewell.len());
                        both.extend_from_slice(&ready);
                        both.extend_from_slice(&farewell);
                        Some(both.freeze())
                    }
                    (ready, farewell) => ready.or(farewell),
                };
                return Poll::Ready(last.map(|bytes| Ok(Frame::data(bytes))));
            }
        }
        let Some(stream) = this.stream.as_mut().as_pin_mut() else {
            *this.done = true;
            return Poll::Ready(None);
        };
        match stream.poll_next(cx) {
            Poll::Ready(Some(item)) => match item.into_encoded() {
                Ok(first) => {
                    *this.written = true;
                    let data = gather(first.into_bytes(), this.stream, this.error, cx);
                    Poll::Ready(Some(Ok(Frame::data(data))))
                }
                Err(error) => {
                    *this.done = true;
                    this.stream.set(None);
                    Poll::Ready(Some(Err(error)))
                }
            },
            Poll::Ready(None) => {
                *this.done = true;
                this.stream.set(None);
                this.sleep.set(None);
                Poll::Ready(None)
            }
            Poll::Pending => {
                let Some(keep_alive) = this.keep_alive.as_ref() else {
                    return Poll::Pending;
                };
                if std::mem::take(this.written) {
                    // Idle from now: the frames just written went out
                    // within this poll.
                    *this.last_write = Instant::now();
                }
                let deadline = *this.last_write + keep_alive.interval();
                // The timer is not reset on every write (a timer-wheel update
                // per event); it keeps its old deadline and, when that passes
                // while the stream was active, moves to `last_write + interval`.
                loop {
                    match this.sleep.as_mut().as_pin_mut() {
                        None => this.sleep.set(Some(tokio::time::sleep_until(deadline))),
                        Some(mut sleep) => {
                            if sleep.as_mut().poll(cx).is_pending() {
                                return Poll::Pending;
                            }
                            if sleep.deadline() < deadline {
                                sleep.reset(deadline);
                                continue;
                            }
                            *this.last_write = Instant::now();
                            let comment = keep_alive.comment().as_bytes().clone();
                            return Poll::Ready(Some(Ok(Frame::data(comment))));
                        }
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || (self.prelude.is_none() && self.stream.is_none() && self.error.is_none())
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.stream, &self.prelude) {
            (None, Some(prelude)) if !self.done => SizeHint::with_exact(prelude.len() as u64),
            (None, None) => SizeHint::with_exact(0),
            _ if self.done => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

/// `first`, followed by every further item `stream` has ready, up to
/// [`BATCH_BYTES`]: one buffer instead of one frame per item. `first` alone
/// is returned as it is (no copy). The end of the stream drops it (the body
/// then ends after this frame); an error is kept in `error` for the next
/// frame.
fn gather<S>(
    first: Bytes,
    mut stream: Pin<&mut Option<S>>,
    error: &mut Option<Error>,
    cx: &mut Context<'_>,
) -> Bytes
where
    S: Stream,
    S::Item: IntoEncoded,
{
    let mut batch: Option<BytesMut> = None;
    while batch.as_ref().map_or(first.len(), BytesMut::len) < BATCH_BYTES {
        let Some(more) = stream.as_mut().as_pin_mut() else {
            break;
        };
        let next = match more.poll_next(cx) {
            Poll::Pending => break,
            Poll::Ready(None) => {
                stream.set(None);
                break;
            }
            Poll::Ready(Some(item)) => match item.into_encoded() {
                Ok(next) => next,
                Err(failed) => {
                    *error = Some(failed);
                    stream.set(None);
                    break;
                }
            },
        };
        let batch = batch.get_or_insert_with(|| {
            let mut batch =
                BytesMut::with_capacity(BATCH_BYTES.min(8 * (first.len() + next.len())));
            batch.put_slice(&first);
            batch
        });
        batch.put_slice(next.as_bytes());
    }
    batch.map_or(first, BytesMut::freeze)
}

#[cfg(test)]
mod tests {
    use futures_util::stream::{self, StreamExt};
    use http_body_util::BodyExt;

    use super::*;

    async fn collect<S>(sse: Sse<S>) -> Vec<Bytes>
    where
        S: Stream,
        S::Item: IntoEncoded,
    {
        let mut sse = std::pin::pin!(sse);
        let mut frames = Vec::new();
        while let Some(frame) = sse.frame().await {
            frames.push(frame.unwrap().into_data().unwrap());
        }
        frames
    }

    fn event(data: &str) -> Event {
        Event::builder().data(data.to_owned()).build()
    }

    #[tokio::test]
    async fn writes_retry_then_events_then_ends() {
        let sse = Sse::new(stream::iter([event("a"), event("b")])).retry(Duration::from_secs(1));
        let response = sse.into_http_response();
        let headers = response.headers();
        assert_eq!(headers[CONTENT_TYPE], "text/event-stream");
        assert_eq!(headers[CACHE_CONTROL], "no-cache");
        assert_eq!(headers["x-accel-buffering"], "no");
        assert!(headers.get("connection").is_none());
        assert!(headers.capacity() < 6, "{}", headers.capacity());
        let frames = collect(response.into_body()).await;
        // Both events are ready at once: one frame.
        assert_eq!(frames, ["retry: 1000\n\n", "data: a\n\ndata: b\n\n"]);
    }

    #[tokio::test]
    async fn gathers_ready_items_into_one_frame_up_to_the_limit() {
        let data = "x".repeat(1000);
        let one = Encoded::from(event(&data));
        let per_frame = BATCH_BYTES.div_ceil(one.len());
        let items = vec![one.clone(); per_frame + 3];
        let frames = collect(Sse::new(stream::iter(items))).await;
        let sizes: Vec<usize> = frames.iter().map(Bytes::len).collect();
        assert_eq!(sizes, [per_frame * one.len(), 3 * one.len()]);
        assert_eq!(frames.concat(), one.as_bytes().repeat(per_frame + 3));
    }

    #[tokio::test]
    async fn a_lone_item_is_written_without_a_copy() {
        let one = Encoded::from(event("a"));
        // Ready, then pending: nothing to gather.
        let items = stream::iter([one.clone()]).chain(stream::pending());
        let mut sse = std::pin::pin!(Sse::new(items).no_keep_alive());
        let frame = sse.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(frame.as_ptr(), one.as_bytes().as_ptr());
    }

    #[tokio::test]
    async fn an_error_while_gathering_comes_after_the_batch() {
        let items = stream::iter([Ok(event("a")), Ok(event("b")), Err("boom")]);
        let mut sse = std::pin::pin!(Sse::new(items));
        assert!(!sse.is_end_stream());
        let frame = sse.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(frame, "data: a\n\ndata: b\n\n");
        assert!(!sse.is_end_stream(), "the error is still to come");
        let error = sse.frame().await.unwrap().unwrap_err();
        assert!(error.is_stream());
        assert!(sse.frame().await.is_none());
        assert!(sse.is_end_stream());
    }

    #[tokio::test(start_paused = true)]
    async fn keep_alive_only_when_idle() {
        // Events at 0, 10 s and 20 s, then idle until 50 s: with a 15 s
        // interval the only keep-alives are at 35 s and 50 s.
        let start = Instant::now();
        let events = stream::iter([0u64, 10, 20]).then(move |at| async move {
            tokio::time::sleep_until(start + Duration::from_secs(at)).await;
            event(&at.to_string())
        });
        let sse = Sse::new(events.chain(stream::pending()));
        let mut sse = std::pin::pin!(sse);
        let mut seen = Vec::new();
        while seen.len() < 5 {
            let frame = sse.frame().await.unwrap().unwrap().into_data().unwrap();
            seen.push((start.elapsed().as_secs(), frame));
        }
        let expected: [(u64, &str); 5] = [
            (0, "data: 0\n\n"),
            (10, "data: 10\n\n"),
            (20, "data: 20\n\n"),
            (35, ":\n"),
            (50, ":\n"),
        ];
        assert_eq!(seen.len(), expected.len());
        for ((at, frame), (want_at, want)) in seen.iter().zip(expected) {
            assert_eq!((*at, &frame[..]), (want_at, want.as_bytes()));
        }
    }

    #[tokio::test]
    async fn shutdown_writes_farewell_and_ends() {
        let shutdown = Shutdown::new().farewell(Some(event("bye")), Some(Duration::from_secs(3)));
        let sse = Sse::new(stream::pending::<Event>()).shutdown(&shutdown);
        shutdown.trigger();
        assert_eq!(collect(sse).await, ["retry: 3000\ndata: bye\n\n"]);
        // A stream attached after the trigger ends at once too.
        let sse = Sse::new(stream::pending::<Event>()).shutdown(&Shutdown::new());
        let shutdown = Shutdown::new();
        shutdown.trigger();
        assert!(
            collect(Sse::new(stream::pending::<Event>()).shutdown(&shutdown))
                .await
                .is_empty()
        );
        drop(sse);
    }

    #[tokio::test]
    async fn shutdown_still_writes_what_the_stream_has_ready_then_the_farewell() {
        // Two events queued before the trigger, then a stream that would
        // wait: they go out with the farewell, and nothing is waited for.
        let shutdown = Shutdown::new().farewell(None, Some(Duration::from_secs(3)));
        let items = stream::iter([event("a"), event("b")]).chain(stream::pending());
        let sse = Sse::new(items).shutdown(&shutdown);
        shutdown.trigger();
        assert_eq!(
            collect(sse).await,
            ["data: a\n\ndata: b\n\nretry: 3000\n\n"]
        );
    }

    #[tokio::test]
    async fn stream_error_ends_the_body_with_an_error() {
        let items = stream::iter([Ok(event("a")), Err("boom")]);
        let mut sse = std::pin::pin!(Sse::new(items));
        assert_eq!(
            sse.frame().await.unwrap().unwrap().into_data().unwrap(),
            "data: a\n\n"
        );
        let error = sse.frame().await.unwrap().unwrap_err();
        assert!(error.is_stream());
        assert!(sse.frame().await.is_none());
        assert!(sse.is_end_stream());
    }

    #[tokio::test]
    async fn busy_answers() {
        let mut prefer = HeaderMap::new();
        let cases = [
            (None, StatusCode::OK),
            (Some("respond-async, wait=5"), StatusCode::OK),
            (Some("Retry-After"), StatusCode::SERVICE_UNAVAILABLE),
            (
                Some("return=minimal, retry-after"),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
        ];
        for (value, status) in cases {
            prefer.clear();
            if let Some(value) = value {
                prefer.insert("prefer", HeaderValue::from_static(value));
            }
            let response = Sse::<stream::Empty<Event>>::busy(&prefer, Duration::from_secs(2));
            assert_eq!(response.status(), status, "{value:?}");
            let (parts, body) = response.into_parts();
            let frames = collect(body).await;
            if status == StatusCode::OK {
                assert_eq!(parts.headers[CONTENT_TYPE], "text/event-stream");
                let text = String::from_utf8(frames.concat()).unwrap();
                let ms: u64 = text
                    .strip_prefix(": busy\nretry: ")
                    .and_then(|rest| rest.strip_suffix("\n\n"))
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((2000..3000).contains(&ms), "{ms}");
            } else {
                let seconds: u64 = parts.headers[RETRY_AFTER]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((2..=3).contains(&seconds), "{seconds}");
                assert!(frames.is_empty());
            }
        }
    }
}
