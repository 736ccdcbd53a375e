//! `EventBuilder::json`: an event whose data is a value serialized as JSON
//! (feature `serde`).

use core::fmt;

use bytestring::ByteString;
use serde::Serialize;

use crate::event::{Event, EventBuilder};

impl EventBuilder {
    /// Serializes `value` as compact JSON into the data and finishes the
    /// event. Only the serialization can fail: the `event` and `id` values
    /// were checked when they were made.
    ///
    /// Compact JSON never holds a raw line break (`serde_json` escapes them
    /// inside strings), so the data is always a single `data:` line.
    ///
    /// ```
    /// use bourn_codec::{Event, EventType};
    ///
    /// #[derive(serde::Serialize)]
    /// struct Token<'a> {
    ///     index: u32,
    ///     text: &'a str,
    /// }
    ///
    /// let event = Event::builder()
    ///     .event(EventType::from_static("token"))
    ///     .json(&Token { index: 0, text: "Hi\n" })?;
    /// assert_eq!(event.data(), Some(r#"{"index":0,"text":"Hi\n"}"#));
    /// assert_eq!(
    ///     event.to_bytes(),
    ///     "event: token\ndata: {\"index\":0,\"text\":\"Hi\\n\"}\n\n"
    /// );
    /// # Ok::<(), bourn_codec::JsonError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`JsonError`] when `value` cannot be serialized as JSON (a map
    /// with keys that are not strings, a `Serialize` implementation that
    /// failed).
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Event, JsonError> {
        let json = serde_json::to_string(value).map_err(|error| JsonError { error })?;
        Ok(self.data(ByteString::from(json)).build())
    }
}

/// Why [`EventBuilder::json`] gave no event: the value could not be
/// serialized as JSON. The `serde_json` error is its
/// [`source`](std::error::Error::source).
#[derive(Debug)]
pub struct JsonError {
    error: serde_json::Error,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not serialize the event data as JSON: {}",
            self.error
        )
    }
}

impl std::error::Error for JsonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::error::Error as _;
    use std::string::ToString;

    use super::*;
    use crate::field::{EventType, Id};

    #[test]
    fn serializes_compact_single_line_data() {
        let event = Event::builder()
            .event(EventType::from_static("token"))
            .id(Id::from(7))
            .json(&["a\nb", "c"])
            .unwrap();
        assert_eq!(event.data(), Some(r#"["a\nb","c"]"#));
        assert_eq!(event.id().map(Id::as_str), Some("7"));
        assert_eq!(
            event.to_bytes(),
            "event: token\nid: 7\ndata: [\"a\\nb\",\"c\"]\n\n"
        );
    }

    #[test]
    fn a_value_that_cannot_be_serialized_is_an_error() {
        // JSON object keys must be strings.
        let map = BTreeMap::from([((1, 2), "x")]);
        let error = Event::builder().json(&map).unwrap_err();
        assert!(
            error.to_string().starts_with("could not serialize"),
            "{error}"
        );
        assert!(error.source().is_some());
    }

    #[test]
    fn error_is_send_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<JsonError>();
    }
}
