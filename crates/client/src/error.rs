//! The client's error: opaque, with predicates and accessors (hyper's shape).

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bourn_codec::{DecodeError, MessageEvent};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};

/// A boxed error: what a [request hook](crate::Builder::on_request) returns
/// to fail the source.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// Why a request, a connection or an event failed.
///
/// Errors are items of the [`EventSource`](crate::EventSource) stream. Most
/// are not the end: after a lost connection the source reconnects, after a
/// decode error it reads on. [`is_fatal`](Error::is_fatal) says whether the
/// stream ends after this error.
///
/// ```
/// fn assert_send_sync<T: Send + Sync + 'static>() {}
/// assert_send_sync::<bourn_client::Error>();
/// ```
///
/// Errors are cheap to clone (the cause is shared), so a
/// [`Builder`](crate::Builder) holding one stays `Clone`.
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: Kind,
    fatal: bool,
    source: Option<Arc<dyn StdError + Send + Sync>>,
    response: Option<ResponseHead>,
    event: Option<MessageEvent>,
    reconnect_in: Option<Duration>,
}

/// Status, headers and the first bytes of the body of a refused response.
#[derive(Clone)]
struct ResponseHead {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The builder was given something invalid.
    Builder(&'static str),
    /// The request could not be sent or no response head arrived.
    Connect,
    /// No response head within the connect timeout.
    ConnectTimeout,
    /// No byte within the idle timeout.
    IdleTimeout,
    /// The response body failed (connection reset, incomplete message).
    Disconnected,
    /// The server ended the response.
    Eof,
    /// A status other than 200 or a followed redirect.
    Status,
    /// `204 No Content`: the server asks the client not to reconnect.
    NoContent,
    /// The server's certificate was refused (untrusted, expired, wrong name).
    Certificate,
    /// The request hook returned an error.
    Hook,
    /// A 200 whose `Content-Type` is not `text/event-stream`.
    ContentType,
    /// Too many redirects.
    TooManyRedirects,
    /// A redirect without a usable `Location`.
    BadLocation,
    /// The decoder refused an event (a limit).
    Decode(DecodeError),
    /// `data` is not the JSON the caller asked for.
    #[cfg(feature = "serde")]
    Json,
}

impl Error {
    pub(crate) fn new(kind: Kind) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                fatal: true,
                source: None,
                response: None,
                event: None,
                reconnect_in: None,
            }),
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Error {
        self.inner.source = Some(Arc::from(source.into()));
        self
    }

    pub(crate) fn with_response(
        mut self,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    ) -> Error {
        self.inner.response = Some(ResponseHead {
            status,
            headers,
            body,
        });
        self
    }

    #[cfg(feature = "serde")]
    pub(crate) fn with_event(mut self, event: MessageEvent) -> Error {
        self.inner.event = Some(event);
        self
    }

    /// Marks the error as followed by a reconnection after `delay`.
    pub(crate) fn reconnecting(mut self, delay: Duration) -> Error {
        self.inner.fatal = false;
        self.inner.reconnect_in = Some(delay);
        self
    }

    /// Marks the error as one the stream reads on after.
    pub(crate) fn non_fatal(mut self) -> Error {
        self.inner.fatal = false;
        self
    }

    pub(crate) fn fatal(mut self) -> Error {
        self.inner.fatal = true;
        self.inner.reconnect_in = None;
        self
    }

    /// The stream ends after this error: no reconnection follows (a refused
    /// response, an invalid builder setting, a lost connection in one-shot
    /// mode, or the retry limit reached).
    pub fn is_fatal(&self) -> bool {
        self.inner.fatal
    }

    /// The builder was given an invalid URL, header or setting.
    pub fn is_builder(&self) -> bool {
        matches!(self.inner.kind, Kind::Builder(_))
    }

    /// The request could not be sent or answered: DNS, TCP, TLS, or the
    /// connection closed before a response head arrived.
    pub fn is_connect(&self) -> bool {
        matches!(
            self.inner.kind,
            Kind::Connect | Kind::ConnectTimeout | Kind::Certificate
        )
    }

    /// The server's TLS certificate was refused: untrusted, expired or for
    /// another name. Fatal unless the policy says otherwise: retrying does
    /// not make a certificate valid.
    pub fn is_certificate(&self) -> bool {
        self.inner.kind == Kind::Certificate
    }

    /// A timeout: no response head within the connect timeout, or no byte
    /// within the idle timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.kind, Kind::ConnectTimeout | Kind::IdleTimeout)
    }

    /// The open stream went silent for longer than the idle timeout.
    pub fn is_idle_timeout(&self) -> bool {
        self.inner.kind == Kind::IdleTimeout
    }

    /// An open stream ended: reset, incomplete, or closed by the server
    /// ([`source`](StdError::source) is `None` for a clean end).
    pub fn is_disconnect(&self) -> bool {
        matches!(self.inner.kind, Kind::Disconnected | Kind::Eof)
    }

    /// The server answered a status the client does not accept (see
    /// [`status`](Error::status), [`headers`](Error::headers), [`body`](Error::body)).
    ///
    /// A `204 No Content` is one too (the spec fails the connection for
    /// any status but 200): [`status`](Error::status) is `204` and
    /// [`kind`](Error::kind) is [`ErrorKind::NoContent`].
    pub fn is_status(&self) -> bool {
        matches!(self.inner.kind, Kind::Status | Kind::NoContent)
    }

    /// The [request hook](crate::Builder::on_request) failed; its error is
    /// the [`source`](StdError::source).
    pub fn is_hook(&self) -> bool {
        self.inner.kind == Kind::Hook
    }

    /// What kind of error this is, for a `match`.
    pub fn kind(&self) -> ErrorKind {
        match self.inner.kind {
            Kind::Builder(_) => ErrorKind::Builder,
            Kind::Connect => ErrorKind::Connect,
            Kind::ConnectTimeout => ErrorKind::ConnectTimeout,
            Kind::Certificate => ErrorKind::Certificate,
            Kind::IdleTimeout => ErrorKind::IdleTimeout,
            Kind::Disconnected => ErrorKind::Disconnected,
            Kind::Eof => ErrorKind::Eof,
            Kind::Status => ErrorKind::Status,
            Kind::NoContent => ErrorKind::NoContent,
            Kind::ContentType => ErrorKind::ContentType,
            Kind::TooManyRedirects | Kind::BadLocation => ErrorKind::Redirect,
            Kind::Hook => ErrorKind::Hook,
            Kind::Decode(_) => ErrorKind::Decode,
            #[cfg(feature = "serde")]
            Kind::Json => ErrorKind::Json,
        }
    }

    /// A `200` whose `Content-Type` is not `text/event-stream`.
    pub fn is_content_type(&self) -> bool {
        self.inner.kind == Kind::ContentType
    }

    /// A redirect could not be followed: too many, or no usable `Location`.
    pub fn is_redirect(&self) -> bool {
        matches!(self.inner.kind, Kind::TooManyRedirects | Kind::BadLocation)
    }

    /// The decoder discarded an event over a limit; see [`decode_error`](Error::decode_error).
    pub fn is_decode(&self) -> bool {
        matches!(self.inner.kind, Kind::Decode(_))
    }

    /// An event's `data` was not valid JSON for the requested type; see
    /// [`event`](Error::event).
    #[cfg(feature = "serde")]
    pub fn is_json(&self) -> bool {
        self.inner.kind == Kind::Json
    }

    /// The status of the refused response, if there was one.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.response.as_ref().map(|r| r.status)
    }

    /// The headers of the refused response, if there was one.
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.inner.response.as_ref().map(|r| &r.headers)
    }

    /// The first bytes of the refused response's body (at most
    /// [`BODY_HEAD_LEN`](crate::BODY_HEAD_LEN)), if there was one.
    pub fn body(&self) -> Option<&Bytes> {
        self.inner.response.as_ref().map(|r| &r.body)
    }

    /// The codec's error, when a limit discarded an event.
    pub fn decode_error(&self) -> Option<DecodeError> {
        match self.inner.kind {
            Kind::Decode(error) => Some(error),
            _ => None,
        }
    }

    /// The event whose `data` failed to decode as JSON.
    pub fn event(&self) -> Option<&MessageEvent> {
        self.inner.event.as_ref()
    }

    /// How long the source waits before it reconnects, when it will.
    pub fn reconnect_in(&self) -> Option<Duration> {
        self.inner.reconnect_in
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("fatal", &self.inner.fatal);
        if let Some(response) = &self.inner.response {
            d.field("status", &response.status)
                .field("body", &response.body);
        }
        if let Some(event) = &self.inner.event {
            d.field("event", event);
        }
        if let Some(delay) = self.inner.reconnect_in {
            d.field("reconnect_in", &delay);
        }
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.kind {
            Kind::Builder(what) => write!(f, "invalid event source: {what}")?,
            Kind::Connect => f.write_str("could not connect")?,
            Kind::ConnectTimeout => f.write_str("timed out waiting for the response head")?,
            Kind::IdleTimeout => f.write_str("no data within the idle timeout")?,
            Kind::Disconnected => f.write_str("connection lost")?,
            Kind::Eof => f.write_str("the server ended the stream")?,
            Kind::Status => match self.status() {
                Some(status) => write!(f, "unexpected status {status}")?,
                None => f.write_str("unexpected status")?,
            },
            Kind::NoContent => {
                f.write_str("the server answered 204 No Content: it asks not to reconnect")?;
            }
            Kind::Certificate => f.write_str("the server's TLS certificate was refused")?,
            Kind::Hook => f.write_str("the request hook failed")?,
            Kind::ContentType => {
                let content_type = self
                    .headers()
                    .and_then(|h| h.get(http::header::CONTENT_TYPE))
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                match content_type {
                    Some(ct) => write!(f, "content type {ct:?} is not text/event-stream")?,
                    None => f.write_str("no content type; expected text/event-stream")?,
                }
            }
            Kind::TooManyRedirects => f.write_str("too many redirects")?,
            Kind::BadLocation => f.write_str("redirect without a usable Location header")?,
            Kind::Decode(error) => write!(f, "{error}")?,
            #[cfg(feature = "serde")]
            Kind::Json => f.write_str("event data is not the expected JSON")?,
        }
        // Most users log `{e}`: the API's own explanation (`{"error":
        // "invalid api key"}`) is worth more than the status line.
        if let Some(line) = self.body().and_then(|body| first_line(body)) {
            write!(f, ": {line}")?;
        }
        if let Some(delay) = self.inner.reconnect_in {
            // Rounded to the millisecond: "3.208s", not "3.208787022s".
            let rounded =
                Duration::from_millis(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
            write!(f, "; reconnecting in {rounded:?}")?;
        }
        Ok(())
    }
}

/// The first non-blank line of a refused body, trimmed, at most
/// [`DISPLAY_BODY_LEN`] characters (then `…`).
fn first_line(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let line = text.lines().map(str::trim).find(|line| !line.is_empty())?;
    let mut out: String = line.chars().take(DISPLAY_BODY_LEN).collect();
    if out.len() < line.len() {
        out.push('…');
    }
    Some(out)
}

/// At most this many characters of a refused body's first line go into an
/// error's `Display`: 200.
const DISPLAY_BODY_LEN: usize = 200;

/// What kind of [`Error`] this is: [`Error::kind`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// An invalid URL, header or setting given to the builder.
    Builder,
    /// The request could not be sent or no response head arrived.
    Connect,
    /// No response head within the connect timeout.
    ConnectTimeout,
    /// The server's TLS certificate was refused.
    Certificate,
    /// No byte within the idle timeout.
    IdleTimeout,
    /// The open response failed (reset, incomplete).
    Disconnected,
    /// The server ended the open response.
    Eof,
    /// A status other than 200 (or a followed redirect, or 204).
    Status,
    /// `204 No Content`: the server asks the client to stop.
    NoContent,
    /// A 200 whose `Content-Type` is not `text/event-stream`.
    ContentType,
    /// Too many redirects, or one without a usable `Location`.
    Redirect,
    /// The request hook failed.
    Hook,
    /// The decoder discarded an event over a limit.
    Decode,
    /// An event's data is not the requested JSON.
    #[cfg(feature = "serde")]
    Json,
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        if let Kind::Decode(error) = &self.inner.kind {
            return Some(error);
        }
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_send_sync_and_small() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn the_reconnection_delay_is_shown_rounded_to_the_millisecond() {
        let e = Error::new(Kind::Eof).reconnecting(Duration::from_nanos(3_208_787_022));
        assert_eq!(
            e.to_string(),
            "the server ended the stream; reconnecting in 3.208s"
        );
    }

    #[test]
    fn predicates() {
        let e = Error::new(Kind::ConnectTimeout);
        assert!(e.is_connect() && e.is_timeout() && !e.is_idle_timeout() && e.is_fatal());
        let e = Error::new(Kind::IdleTimeout).reconnecting(Duration::from_secs(1));
        assert!(e.is_timeout() && e.is_idle_timeout() && !e.is_connect() && !e.is_fatal());
        assert_eq!(e.reconnect_in(), Some(Duration::from_secs(1)));
        assert_eq!(
            e.to_string(),
            "no data within the idle timeout; reconnecting in 1s"
        );
        let e = Error::new(Kind::Status).with_response(
            StatusCode::BAD_GATEWAY,
            HeaderMap::new(),
            Bytes::from("oops"),
        );
        assert!(e.is_status() && !e.is_content_type());
        assert_eq!(e.status(), Some(StatusCode::BAD_GATEWAY));
        assert_eq!(e.body().map(|b| &b[..]), Some(&b"oops"[..]));
        assert_eq!(e.to_string(), "unexpected status 502 Bad Gateway: oops");
        assert_eq!(e.kind(), ErrorKind::Status);
        // The first non-blank line only, cut at 200 characters.
        let long = format!("\n  {{\"error\":\"{}\"}}\nsecond line", "x".repeat(300));
        let e = Error::new(Kind::Status).with_response(
            StatusCode::UNAUTHORIZED,
            HeaderMap::new(),
            Bytes::from(long),
        );
        let text = e.to_string();
        assert!(
            text.starts_with("unexpected status 401 Unauthorized: {\"error\":\"xxx"),
            "{text}"
        );
        assert!(text.ends_with('…') && !text.contains("second"), "{text}");
        let e = Error::new(Kind::NoContent).with_response(
            StatusCode::NO_CONTENT,
            HeaderMap::new(),
            Bytes::new(),
        );
        assert!(e.is_status() && e.kind() == ErrorKind::NoContent);
        assert!(e.to_string().contains("204 No Content"));
        let cloned = e.clone();
        assert_eq!(cloned.status(), Some(StatusCode::NO_CONTENT));
        let d = DecodeError::LineTooLong {
            limit: 4,
            offset: 0,
        };
        let e = Error::new(Kind::Decode(d)).non_fatal();
        assert!(e.is_decode() && !e.is_fatal());
        assert_eq!(e.decode_error(), Some(d));
        assert!(e.source().is_some());
        assert!(Error::new(Kind::Eof).is_disconnect());
        assert!(Error::new(Kind::BadLocation).is_redirect());
        assert!(Error::new(Kind::Builder("url")).is_builder());
    }
}
