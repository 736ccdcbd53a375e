//! `EventStreamExt`: `.sse_events()` and `.sse_frames()` on any stream of
//! byte chunks.

use core::pin::Pin;
use core::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use crate::decoder::Decoder;
use crate::frame::Frame;
use crate::message_event::MessageEvent;
use crate::stream::{EventStream, StreamError};

/// Decodes any stream of byte chunks in a method chain: what
/// `eventsource-stream` users write as `.eventsource()`.
///
/// Implemented for every `Stream<Item = Result<B, E>>` whose chunks `B`
/// convert into [`Bytes`]: `Bytes` itself (hyper's
/// `BodyExt::into_data_stream`, reqwest's `bytes_stream`), `BytesMut`,
/// `Vec<u8>`, `String`, `&'static str`.
///
/// ```
/// use bytes::Bytes;
/// use futures_util::{StreamExt, TryStreamExt, stream};
/// use bourn_codec::EventStreamExt;
///
/// # futures_executor::block_on(async {
/// // A BOM, a comment, a `retry`, CRLF line ends and a chunk boundary
/// // inside a line: only the events come out.
/// let body = stream::iter([
///     Ok::<_, std::io::Error>(Bytes::from("\u{feff}: hi\r\nretry: 10\r\nid: 1\r\ndata: he")),
///     Ok(Bytes::from("llo\r\n\r\nevent: bye\r\ndata: !\r\n\r\n")),
/// ]);
/// let events: Vec<_> = body.sse_events().try_collect().await?;
/// assert_eq!(events.len(), 2);
/// assert_eq!((events[0].data(), events[0].last_event_id()), ("hello", "1"));
/// assert_eq!((events[1].event_type(), events[1].data()), ("bye", "!"));
/// # Ok::<(), bourn_codec::StreamError<std::io::Error>>(())
/// # }).unwrap();
/// ```
pub trait EventStreamExt: Sized {
    /// Every frame: events, `retry` fields and comments, in stream order
    /// (an [`EventStream`] with a default [`Decoder`]).
    ///
    /// ```
    /// use futures_util::{StreamExt, stream};
    /// use bourn_codec::{EventStreamExt, Frame};
    ///
    /// let body = stream::iter([Ok::<_, std::io::Error>(": keep-alive\ndata: x\n\n")]);
    /// let frames: Vec<_> = futures_executor::block_on(body.sse_frames().collect());
    /// assert!(matches!(&frames[0], Ok(Frame::Comment(c)) if c == "keep-alive"));
    /// assert!(matches!(&frames[1], Ok(Frame::Event(e)) if e.data() == "x"));
    /// ```
    fn sse_frames(self) -> EventStream<Self>;

    /// Only the events: `retry` fields and comments are read and dropped.
    /// Use [`sse_frames`](EventStreamExt::sse_frames) when the reconnection
    /// time or the keep-alives matter.
    fn sse_events(self) -> Events<Self>;
}

impl<S, B, E> EventStreamExt for S
where
    S: Stream<Item = Result<B, E>>,
    B: Into<Bytes>,
{
    fn sse_frames(self) -> EventStream<Self> {
        EventStream::new(self)
    }

    fn sse_events(self) -> Events<Self> {
        Events {
            frames: EventStream::new(self),
        }
    }
}

pin_project_lite::pin_project! {
    /// The events of a stream of byte chunks: see
    /// [`EventStreamExt::sse_events`].
    ///
    /// Errors are those of [`EventStream`]: a [`DecodeError`](crate::DecodeError)
    /// (a limit; decoding goes on) or the input's own error.
    #[must_use = "streams do nothing unless polled"]
    pub struct Events<S> {
        #[pin]
        frames: EventStream<S>,
    }
}

impl<S> Events<S> {
    /// Decodes `inner` with this decoder (limits, initial last event ID).
    pub fn with_decoder(inner: S, decoder: Decoder) -> Self {
        Events {
            frames: EventStream::with_decoder(inner, decoder),
        }
    }

    /// The decoder, for its [`last_event_id`](Decoder::last_event_id).
    pub fn decoder(&self) -> &Decoder {
        self.frames.decoder()
    }

    /// Returns the wrapped stream and the decoder.
    pub fn into_parts(self) -> (S, Decoder) {
        self.frames.into_parts()
    }
}

impl<S, B, E> Stream for Events<S>
where
    S: Stream<Item = Result<B, E>>,
    B: Into<Bytes>,
{
    type Item = Result<MessageEvent, StreamError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut frames = self.project().frames;
        loop {
            match frames.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(Frame::Event(event)))) => return Poll::Ready(Some(Ok(event))),
                // A retry or a comment: not an event.
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::String;
    use alloc::vec;
    use alloc::vec::Vec;

    use futures_util::{StreamExt, stream};

    use super::*;
    use crate::error::DecodeError;
    use crate::limits::Limits;

    #[test]
    fn events_skip_retry_and_comments_and_keep_decoding_after_a_limit() {
        let chunks = vec![
            Ok::<_, &str>(Vec::from(&b": c\nretry: 5\ndata: a\n\n"[..])),
            Ok(Vec::from(&b"data: far too long\n\nid: 9\ndata: b\n\n"[..])),
            Err("boom"),
            Ok(Vec::from(&b"data: c\n\n"[..])),
        ];
        let decoder = Decoder::with_limits(Limits::default().max_line_len(12));
        let events = Events::with_decoder(stream::iter(chunks), decoder);
        let got: Vec<String> = futures_executor::block_on(events.collect::<Vec<_>>())
            .into_iter()
            .map(|item| match item {
                Ok(event) => alloc::format!("{}@{}", event.data(), event.last_event_id()),
                Err(StreamError::Decode(DecodeError::LineTooLong { limit, .. })) => {
                    alloc::format!("line>{limit}")
                }
                Err(StreamError::Transport(error)) => String::from(error),
                Err(other) => alloc::format!("{other:?}"),
            })
            .collect();
        assert_eq!(got, ["a@", "line>12", "b@9", "boom", "c@9"]);
    }

    #[test]
    fn frames_and_events_take_any_chunk_type() {
        let strings = stream::iter([Ok::<_, ()>("data: x\n"), Ok("\n")]);
        let frames = futures_executor::block_on(strings.sse_frames().collect::<Vec<_>>());
        assert_eq!(frames.len(), 1);
        let owned = stream::iter([Ok::<_, ()>(String::from("data: y\n\n"))]);
        let mut events = owned.sse_events();
        let event = futures_executor::block_on(events.next());
        assert_eq!(
            event.and_then(Result::ok).map(|e| e.into_data()),
            Some("y".into())
        );
        assert_eq!(events.decoder().last_event_id(), "");
        let (_inner, decoder) = events.into_parts();
        assert_eq!(decoder.last_event_id(), "");
    }
}
