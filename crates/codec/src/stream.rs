//! A `Stream` adapter: chunks of bytes in, frames out.

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;

use crate::decoder::Decoder;
use crate::error::DecodeError;
use crate::frame::Frame;

pin_project_lite::pin_project! {
    /// Decodes a stream of byte chunks (hyper's `BodyExt::into_data_stream`,
    /// reqwest's `bytes_stream`, ...) into [`Frame`]s.
    ///
    /// Decode errors are reported and decoding goes on (see [`DecodeError`]);
    /// a transport error is reported as it is, and the stream ends when the
    /// input ends, discarding an unfinished event as the spec requires.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures_util::{StreamExt, stream};
    /// use bourn_codec::{EventStream, Frame};
    ///
    /// let chunks = stream::iter([
    ///     Ok::<_, std::io::Error>(Bytes::from("data: a\n")),
    ///     Ok(Bytes::from("\ndata: unfinished")),
    /// ]);
    /// let frames: Vec<_> = futures_executor::block_on(EventStream::new(chunks).collect());
    /// assert_eq!(frames.len(), 1);
    /// assert_eq!(frames[0].as_ref().unwrap().as_event().unwrap().data(), "a");
    /// ```
    ///
    /// [`EventStreamExt::sse_frames`](crate::EventStreamExt::sse_frames)
    /// makes one in a method chain; [`sse_events`](crate::EventStreamExt::sse_events)
    /// yields only the events.
    #[must_use = "streams do nothing unless polled"]
    pub struct EventStream<S> {
        #[pin]
        inner: S,
        decoder: Decoder,
        // The chunk being decoded (`Decoder::decode_bytes`: complete lines
        // are sliced from large chunks, not copied).
        chunk: Bytes,
        done: bool,
    }
}

impl<S> EventStream<S> {
    /// Decodes `inner` with a default [`Decoder`].
    pub fn new(inner: S) -> Self {
        EventStream::with_decoder(inner, Decoder::new())
    }

    /// Decodes `inner` with this decoder (limits, initial last event ID).
    pub fn with_decoder(inner: S, decoder: Decoder) -> Self {
        EventStream {
            inner,
            decoder,
            chunk: Bytes::new(),
            done: false,
        }
    }

    /// The decoder, for its [`last_event_id`](Decoder::last_event_id).
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// The wrapped stream.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Returns the wrapped stream and the decoder.
    pub fn into_parts(self) -> (S, Decoder) {
        (self.inner, self.decoder)
    }
}

impl<S, B, E> Stream for EventStream<S>
where
    S: Stream<Item = Result<B, E>>,
    B: Into<Bytes>,
{
    type Item = Result<Frame, StreamError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            if *this.done {
                return Poll::Ready(
                    this.decoder
                        .decode_eof(&mut BytesMut::new())
                        .transpose()
                        .map(|frame| frame.map_err(StreamError::Decode)),
                );
            }
            match this.decoder.decode_bytes(this.chunk) {
                Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                Err(error) => return Poll::Ready(Some(Err(StreamError::Decode(error)))),
                Ok(None) => {}
            }
            match this.inner.as_mut().poll_next(cx) {
                // `decode_bytes` returned `Ok(None)`: the last chunk is used up.
                Poll::Ready(Some(Ok(chunk))) => *this.chunk = chunk.into(),
                Poll::Ready(Some(Err(error))) => {
                    return Poll::Ready(Some(Err(StreamError::Transport(error))));
                }
                Poll::Ready(None) => *this.done = true,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// An error from an [`EventStream`].
#[derive(Debug)]
pub enum StreamError<E> {
    /// A limit was exceeded; decoding goes on.
    Decode(DecodeError),
    /// The input stream failed.
    Transport(E),
}

impl<E: fmt::Display> fmt::Display for StreamError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Decode(error) => error.fmt(f),
            StreamError::Transport(error) => write!(f, "transport error: {error}"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for StreamError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            StreamError::Decode(error) => Some(error),
            StreamError::Transport(error) => Some(error),
        }
    }
}
