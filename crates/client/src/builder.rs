//! Configures an [`EventSource`].

use std::fmt;
use std::time::Duration;

use bourn_codec::Limits;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::Connect;

use crate::config::{Config, DEFAULT_CONNECT_TIMEOUT};
use crate::error::{Error, Kind};
use crate::event_source::EventSource;
use crate::redirect::DEFAULT_MAX_REDIRECTS;
use crate::retry::RetryPolicy;
use crate::transport::{self, Erased, RequestBody, Transport};

/// Builds an [`EventSource`]: request, reconnection policy, timeouts, limits
/// and transport. Setters never fail; the first invalid value is reported by
/// [`build`](Builder::build).
///
/// ```
/// use std::time::Duration;
/// use bourn_client::{EventSource, RetryPolicy};
///
/// let source = EventSource::builder("https://api.example.test/v1/stream")
///     .method(http::Method::POST)
///     .header("authorization", "Bearer sk-test")
///     .header("content-type", "application/json")
///     .body(r#"{"stream":true}"#)
///     .last_event_id("1700000000.41")
///     .retry_policy(RetryPolicy::new().max_delay(Duration::from_secs(60)))
///     .idle_timeout(Duration::from_secs(45))
///     .build()?;
/// # drop(source);
/// # Ok::<(), bourn_client::Error>(())
/// ```
pub struct Builder {
    uri: Result<Uri, Error>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
    last_event_id: String,
    policy: RetryPolicy,
    connect_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    max_redirects: usize,
    limits: Limits,
    one_shot: bool,
    done: Option<String>,
    transport: Option<Box<dyn Transport>>,
    error: Option<Error>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("uri", &self.uri)
            .field("method", &self.method)
            .field("one_shot", &self.one_shot)
            .finish_non_exhaustive()
    }
}

impl Builder {
    pub(crate) fn new(url: &str) -> Builder {
        let uri = url
            .parse::<Uri>()
            .map_err(|e| Error::new(Kind::Builder("invalid URL")).with_source(e))
            .and_then(|uri| match (uri.scheme_str(), uri.authority()) {
                (Some("http" | "https"), Some(_)) => Ok(uri),
                _ => Err(Error::new(Kind::Builder(
                    "the URL must be absolute http:// or https://",
                ))),
            });
        Builder {
            uri,
            method: Method::GET,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            last_event_id: String::new(),
            policy: RetryPolicy::new(),
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            idle_timeout: None,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            limits: Limits::default(),
            one_shot: false,
            done: None,
            transport: None,
            error: None,
        }
    }

    /// The request method. Default: `GET`.
    pub fn method(mut self, method: Method) -> Builder {
        self.method = method;
        self
    }

    /// Adds a header to every request (appended: a name may repeat).
    ///
    /// `Accept: text/event-stream` and `Cache-Control: no-cache` are always
    /// sent and replace the caller's; `Last-Event-ID` is managed by the
    /// source (see [`last_event_id`](Builder::last_event_id)), so a caller's
    /// is ignored.
    pub fn header<K, V>(mut self, name: K, value: V) -> Builder
    where
        K: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
    {
        match (name.try_into(), value.try_into()) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            _ => self.fail(Error::new(Kind::Builder("invalid header name or value"))),
        }
        self
    }

    /// Adds these headers to every request (see [`header`](Builder::header)).
    pub fn headers(mut self, headers: HeaderMap) -> Builder {
        for (name, value) in &headers {
            self.headers.append(name.clone(), value.clone());
        }
        self
    }

    /// The request body, sent again on every reconnection. Default: empty.
    pub fn body(mut self, body: impl Into<Bytes>) -> Builder {
        self.body = body.into();
        self
    }

    /// Serializes `value` as the JSON request body and sets
    /// `Content-Type: application/json`.
    #[cfg(feature = "serde")]
    pub fn json_body<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Builder {
        match serde_json::to_vec(value) {
            Ok(body) => {
                self.body = Bytes::from(body);
                self.headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            Err(e) => self
                .fail(Error::new(Kind::Builder("request body is not serializable")).with_source(e)),
        }
        self
    }

    /// The initial last event ID: sent as `Last-Event-ID` on the first
    /// request (when not empty) and reported by events without an `id`,
    /// to resume a stream a previous process was reading. Default: empty.
    pub fn last_event_id(mut self, id: impl Into<String>) -> Builder {
        self.last_event_id = id.into();
        if self
            .last_event_id
            .bytes()
            .any(|b| matches!(b, b'\0' | b'\r' | b'\n'))
        {
            self.fail(Error::new(Kind::Builder(
                "a last event ID cannot hold NUL, CR or LF",
            )));
        }
        self
    }

    /// How and when to reconnect. Default: [`RetryPolicy::new`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Builder {
        self.policy = policy;
        self
    }

    /// The longest wait, per attempt, for the response head (connection,
    /// TLS, redirects included). Default: 30 s ([`DEFAULT_CONNECT_TIMEOUT`](crate::DEFAULT_CONNECT_TIMEOUT)).
    /// `None` waits for ever.
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Builder {
        self.connect_timeout = timeout.into();
        self
    }

    /// Reconnects when an open stream receives no byte, not even a
    /// keep-alive comment, for this long (a half-open TCP connection).
    /// Default: `None` (a silent stream is waited on for ever).
    pub fn idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Builder {
        self.idle_timeout = timeout.into();
        self
    }

    /// How many redirects one attempt follows (301, 302, 303, 307, 308).
    /// Default: 10 ([`DEFAULT_MAX_REDIRECTS`](crate::DEFAULT_MAX_REDIRECTS)); 0 refuses every redirect.
    pub fn max_redirects(mut self, max: usize) -> Builder {
        self.max_redirects = max;
        self
    }

    /// The decoder's limits on line and event size. Default:
    /// [`Limits::default`] (16 MiB each, so a 14 MB base64 image event passes).
    pub fn limits(mut self, limits: Limits) -> Builder {
        self.limits = limits;
        self
    }

    /// The longest line accepted. Default: 16 MiB.
    pub fn max_line_len(mut self, bytes: usize) -> Builder {
        self.limits = self.limits.max_line_len(bytes);
        self
    }

    /// The largest event `data` accepted. Default: 16 MiB.
    pub fn max_event_len(mut self, bytes: usize) -> Builder {
        self.limits = self.limits.max_event_len(bytes);
        self
    }

    /// One-shot mode, for LLM-style APIs: one request, no reconnection; the
    /// end of the response is the normal end of the stream, and any error
    /// is fatal. Default: off.
    pub fn one_shot(mut self, one_shot: bool) -> Builder {
        self.one_shot = one_shot;
        self
    }

    /// Ends the stream for good, without yielding it, at the first event
    /// whose data is exactly `sentinel` (OpenAI-style APIs send `[DONE]`).
    /// Default: none.
    pub fn done_sentinel(mut self, sentinel: impl Into<String>) -> Builder {
        self.done = Some(sentinel.into());
        self
    }

    /// Sends requests through this hyper client (its pool, TLS, proxy,
    /// HTTP/2 settings). Default: a client made by the source, over HTTP and,
    /// with the `rustls` feature, HTTPS.
    pub fn client<C>(mut self, client: Client<C, RequestBody>) -> Builder
    where
        C: Connect + Clone + Send + Sync + 'static,
    {
        self.transport = Some(Box::new(client));
        self
    }

    /// Sends requests through a hyper client over this connector (custom
    /// TLS, proxies, Unix sockets...).
    pub fn connector<C>(self, connector: C) -> Builder
    where
        C: Connect + Clone + Send + Sync + 'static,
    {
        self.client(transport::client_with(connector))
    }

    /// Makes the event source. It connects when first polled.
    ///
    /// # Errors
    ///
    /// [`Error::is_builder`]: an invalid URL, header, body or ID, or (without
    /// the `rustls` feature and a custom client) an `https` URL.
    pub fn build(self) -> Result<EventSource, Error> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let uri = self.uri?;
        let transport = match self.transport {
            Some(transport) => transport,
            None => {
                if cfg!(not(feature = "rustls")) && uri.scheme_str() == Some("https") {
                    return Err(Error::new(Kind::Builder(
                        "https needs the `rustls` feature or a custom client",
                    )));
                }
                transport::default_transport()
                    .map_err(|e| Error::new(Kind::Builder("TLS setup failed")).with_source(e))?
            }
        };
        let mut headers = self.headers;
        headers.remove("last-event-id");
        let config = Config {
            uri,
            method: self.method,
            headers,
            body: self.body,
            policy: self.policy,
            connect_timeout: self.connect_timeout,
            idle_timeout: self.idle_timeout,
            max_redirects: self.max_redirects,
            limits: self.limits,
            one_shot: self.one_shot,
            done: self.done,
            transport: Erased(transport),
        };
        Ok(EventSource::new_from(config, self.last_event_id))
    }

    fn fail(&mut self, error: Error) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }
}
