//! Typed events: `data` decoded as JSON (the `serde` feature).

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use bourn_codec::MessageEvent;
use futures_core::Stream;
use serde::de::DeserializeOwned;

use crate::error::{Error, Kind};
use crate::event_source::EventSource;
use crate::item::Item;

/// Decodes an event's `data` as JSON.
///
/// # Errors
///
/// [`Error::is_json`] when the data is not valid JSON for `T`; the error
/// carries the event ([`Error::event`]) and the serde error as its source.
///
/// ```
/// let event = bourn_codec::MessageEvent::new(r#"{"delta":"Hel"}"#);
/// let value: serde_json::Value = bourn_client::decode_json(&event)?;
/// assert_eq!(value["delta"], "Hel");
///
/// let err = bourn_client::decode_json::<u32>(&bourn_codec::MessageEvent::new("{oops")).unwrap_err();
/// assert!(err.is_json() && !err.is_fatal());
/// assert_eq!(err.event().map(|e| e.data()), Some("{oops"));
/// # Ok::<(), bourn_client::Error>(())
/// ```
pub fn decode_json<T: DeserializeOwned>(event: &MessageEvent) -> Result<T, Error> {
    serde_json::from_str(event.data()).map_err(|e| {
        Error::new(Kind::Json)
            .non_fatal()
            .with_source(e)
            .with_event(event.clone())
    })
}

/// A stream of events decoded as JSON: made by [`EventSource::json`].
///
/// Yields `Ok(T)` for each event whose data decodes, an [`Error`] with
/// [`is_json`](Error::is_json) (the stream goes on) for each that does not,
/// and the source's own errors unchanged. `Open` items are skipped.
pub struct JsonStream<T> {
    source: EventSource,
    _type: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for JsonStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonStream")
            .field("source", &self.source)
            .finish()
    }
}

impl EventSource {
    /// Decodes each event's data as JSON into `T`.
    pub fn json<T: DeserializeOwned>(self) -> JsonStream<T> {
        JsonStream {
            source: self,
            _type: PhantomData,
        }
    }
}

impl<T> JsonStream<T> {
    /// The event source underneath (state, last event ID, `close`).
    pub fn source(&self) -> &EventSource {
        &self.source
    }
}

impl<T: DeserializeOwned> Stream for JsonStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            return match Pin::new(&mut this.source).poll_next(cx) {
                Poll::Ready(Some(Ok(Item::Event(event)))) => Poll::Ready(Some(decode_json(&event))),
                Poll::Ready(Some(Ok(_))) => continue,
                Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}
