//! `EventBuilder::json`: an event whose data is a value serialized as JSON
//! (feature `serde`).

use core::fmt;

use bytestring::ByteString;
use serde::Serialize;

use crate::error::EncodeError;
use crate::event::{Event, EventBuilder};

impl EventBuilder {
    /// Serializes `value` as compact JSON into the data and finishes the
    /// event: one fallible step, one error type, whether the value could not
    /// be serialized or an `event`/`id` set before would change the stream.
    ///
    /// Compact JSON never holds a raw line break (`serde_json` escapes them
    /// inside strings), so the data is always a single `data:` line.
    ///
    /// ```
    /// use bourn_codec::Event;
    ///
    /// #[derive(serde::Serialize)]
    /// struct Token<'a> {
    ///     index: u32,
    ///     text: &'a str,
    /// }
    ///
    /// let event = Event::builder().event("token").json(&Token { index: 0, text: "Hi\n" })?;
    /// assert_eq!(event.data(), r#"{"index":0,"text":"Hi\n"}"#);
    /// assert_eq!(
    ///     event.to_bytes(),
    ///     "event: token\ndata: {\"index\":0,\"text\":\"Hi\\n\"}\n\n"
    /// );
    ///
    /// let refused = Event::builder().id("1\n2").json(&1).unwrap_err();
    /// assert!(refused.encode_error().is_some());
    /// # Ok::<(), bourn_codec::JsonError>(())
    /// ```
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Event, JsonError> {
        let json = serde_json::to_string(value).map_err(|error| JsonError {
            kind: Kind::Serialize(error),
        })?;
        Ok(self.data(ByteString::from(json)).build()?)
    }
}

/// Why [`EventBuilder::json`] gave no event: the value could not be
/// serialized ([`is_serialize`](JsonError::is_serialize), with the
/// `serde_json` error as its [`source`](std::error::Error::source)), or a
/// field set on the builder would change the stream
/// ([`encode_error`](JsonError::encode_error)).
#[derive(Debug)]
pub struct JsonError {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Serialize(serde_json::Error),
    Encode(EncodeError),
}

impl JsonError {
    /// Whether the value could not be serialized (a map with non-string
    /// keys, a `Serialize` implementation that failed, ...).
    pub fn is_serialize(&self) -> bool {
        matches!(self.kind, Kind::Serialize(_))
    }

    /// The refused `event` or `id` value, when that is the reason.
    pub fn encode_error(&self) -> Option<EncodeError> {
        match self.kind {
            Kind::Encode(error) => Some(error),
            Kind::Serialize(_) => None,
        }
    }
}

impl From<EncodeError> for JsonError {
    fn from(error: EncodeError) -> Self {
        JsonError {
            kind: Kind::Encode(error),
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Serialize(error) => {
                write!(f, "could not serialize the event data as JSON: {error}")
            }
            Kind::Encode(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl std::error::Error for JsonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Kind::Serialize(error) => Some(error),
            Kind::Encode(error) => Some(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::error::Error as _;
    use std::string::ToString;

    use super::*;
    use crate::error::Field;

    #[test]
    fn serializes_compact_single_line_data() {
        let event = Event::builder()
            .event("token")
            .id("7")
            .json(&["a\nb", "c"])
            .unwrap();
        assert_eq!(event.data(), r#"["a\nb","c"]"#);
        assert_eq!(event.id(), Some("7"));
        assert_eq!(
            event.to_bytes(),
            "event: token\nid: 7\ndata: [\"a\\nb\",\"c\"]\n\n"
        );
    }

    #[test]
    fn a_refused_field_is_an_encode_error() {
        let error = Event::builder().event("a\rb").json(&1).unwrap_err();
        assert!(!error.is_serialize());
        let encode = error.encode_error().unwrap();
        assert_eq!((encode.field(), encode.index()), (Field::Event, 1));
        assert!(error.to_string().contains("would change the event stream"));
        assert!(error.source().is_some());
    }

    #[test]
    fn a_value_that_cannot_be_serialized_is_a_serialize_error() {
        // JSON object keys must be strings.
        let map = BTreeMap::from([((1, 2), "x")]);
        let error = Event::builder().json(&map).unwrap_err();
        assert!(error.is_serialize());
        assert_eq!(error.encode_error(), None);
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
