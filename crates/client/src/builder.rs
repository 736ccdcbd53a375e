//! Configures an [`EventSource`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bourn_codec::Limits;
use bytes::Bytes;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::Connect;

use crate::config::{Config, DEFAULT_AUTH_RETRIES, DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_TIMEOUT};
use crate::cookies::Jar;
use crate::error::{BoxError, Error, Kind};
use crate::event_source::EventSource;
use crate::hook::{Hook, RequestReason};
use crate::redirect::DEFAULT_MAX_REDIRECTS;
use crate::retry::RetryPolicy;
#[cfg(feature = "rustls")]
use crate::tls::TlsOptions;
use crate::transport::{self, AddressFilter, Erased, ProxySetting, RequestBody};

/// Builds an [`EventSource`]: request, reconnection policy, timeouts, limits
/// and transport. Setters never fail; the first invalid value is reported by
/// [`build`](Builder::build). A builder is `Clone`: one configuration can
/// start several sources.
///
/// ```
/// use std::time::Duration;
/// use bourn_client::{EventSource, RetryPolicy};
///
/// let source = EventSource::builder("http://api.example.test/v1/stream")
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
#[must_use = "a builder does nothing until `build` is called"]
#[derive(Clone)]
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
    comments: bool,
    retry_first_connect: bool,
    hook: Option<Hook>,
    auth_retries: u32,
    cookies: bool,
    proxy: ProxySetting,
    filter: Option<AddressFilter>,
    #[cfg(feature = "rustls")]
    tls: TlsOptions,
    transport: Option<Erased>,
    error: Option<Error>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("uri", &self.uri)
            .field("method", &self.method)
            .field("policy", &self.policy)
            .field("connect_timeout", &self.connect_timeout)
            .field("idle_timeout", &self.idle_timeout)
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
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            max_redirects: DEFAULT_MAX_REDIRECTS,
            limits: Limits::default(),
            one_shot: false,
            done: None,
            comments: false,
            retry_first_connect: true,
            hook: None,
            auth_retries: DEFAULT_AUTH_RETRIES,
            cookies: false,
            proxy: ProxySetting::Env,
            filter: None,
            #[cfg(feature = "rustls")]
            tls: TlsOptions::default(),
            transport: None,
            error: None,
        }
    }

    /// The request method. Default: `GET`.
    pub fn method(mut self, method: Method) -> Builder {
        self.method = method;
        self
    }

    /// `POST`: [`method`](Builder::method)`(Method::POST)`.
    pub fn post(self) -> Builder {
        self.method(Method::POST)
    }

    /// Sends `Authorization: Bearer <token>` (replacing any earlier
    /// `Authorization`), marked sensitive so it is not logged. For a token
    /// that changes, set it in the [request hook](Builder::on_request).
    pub fn bearer_auth(mut self, token: impl fmt::Display) -> Builder {
        match HeaderValue::try_from(format!("Bearer {token}")) {
            Ok(mut value) => {
                value.set_sensitive(true);
                self.headers.insert(AUTHORIZATION, value);
            }
            Err(_) => self.fail(Error::new(Kind::Builder("invalid bearer token"))),
        }
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
    /// keep-alive comment, for this long (a half-open TCP connection, a
    /// stalled proxy). Silence is checked in quarters of the timeout, so the
    /// reconnection comes between 1 and 1.25 times the timeout after the
    /// last byte. Default: 5 minutes ([`DEFAULT_IDLE_TIMEOUT`](crate::DEFAULT_IDLE_TIMEOUT));
    /// `None` waits on a silent stream for ever.
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

    /// Reports comment lines as [`Item::Comment`](crate::Item::Comment)
    /// as soon as each arrives (keep-alive watchdogs, test harnesses).
    /// Default: `false` (comments only reset the idle timer).
    pub fn comments(mut self, comments: bool) -> Builder {
        self.comments = comments;
        self
    }

    /// Whether a failure of the very first attempt (refused port, unknown
    /// host, timeout, a `5xx` retried by the policy) is retried like any
    /// other. `false` makes it fatal, so a wrong URL fails at once instead
    /// of being retried for ever; once a connection has opened, every loss
    /// is retried as usual. Default: `true` (browsers retry).
    pub fn retry_first_connect(mut self, retry: bool) -> Builder {
        self.retry_first_connect = retry;
        self
    }

    /// An async hook called before **every** request the source sends:
    /// the first, each reconnection, each redirect, and the retry after a
    /// `401`/`403`. It gets the request head (method, URL, headers: the
    /// builder's, then `Accept`, `Cache-Control`, `Last-Event-ID` and
    /// cookies) and the [reason](RequestReason), and returns the head to
    /// send, so it can set a fresh token or sign the URL. The body is the
    /// builder's. An error it returns fails the source ([`Error::is_hook`]).
    ///
    /// With a hook, a `401 Unauthorized` or `403 Forbidden` calls it again
    /// with [`RequestReason::Unauthorized`] and resends the request, up to
    /// [`auth_retries`](Builder::auth_retries) times per attempt, keeping
    /// the last event ID and the reconnection state. Without one, they fail
    /// the source as the spec says.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use bourn_client::{EventSource, RequestReason};
    ///
    /// let token = Arc::new(Mutex::new(String::from("tok-1")));
    /// let current = Arc::clone(&token);
    /// let source = EventSource::builder("http://api.example.test/stream")
    ///     .on_request(move |mut request: http::Request<()>, reason: RequestReason| {
    ///         let current = Arc::clone(&current);
    ///         async move {
    ///             if let RequestReason::Unauthorized { .. } = reason {
    ///                 // refresh the token here
    ///             }
    ///             let bearer = format!("Bearer {}", current.lock().unwrap());
    ///             request.headers_mut().insert(http::header::AUTHORIZATION, bearer.parse()?);
    ///             Ok(request)
    ///         }
    ///     })
    ///     .build()?;
    /// # drop((source, token));
    /// # Ok::<(), bourn_client::Error>(())
    /// ```
    pub fn on_request<F, Fut>(mut self, hook: F) -> Builder
    where
        F: Fn(Request<()>, RequestReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Request<()>, BoxError>> + Send + 'static,
    {
        self.hook = Some(Hook::new(hook));
        self
    }

    /// How many times per attempt a `401`/`403` calls the
    /// [request hook](Builder::on_request) and resends. Default: 1
    /// ([`DEFAULT_AUTH_RETRIES`](crate::DEFAULT_AUTH_RETRIES)); 0 makes them
    /// fatal even with a hook.
    pub fn auth_retries(mut self, retries: u32) -> Builder {
        self.auth_retries = retries;
        self
    }

    /// Keeps the cookies the server sets (`Set-Cookie`) and sends them on
    /// later requests they match, reconnections included (each source has
    /// its own store). Default: `false`. Needs the `cookies` feature;
    /// without it, [`build`](Builder::build) fails when this is on.
    pub fn cookie_store(mut self, enabled: bool) -> Builder {
        self.cookies = enabled;
        self
    }

    /// Sends every request through this HTTP proxy (`http://host:port`,
    /// credentials allowed: `http://user:pass@host:port`, sent as
    /// `Proxy-Authorization: Basic`). `https` URLs go through a `CONNECT`
    /// tunnel, `http` URLs as absolute-form requests. Default: the
    /// environment's `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and
    /// `NO_PROXY` (upper or lower case), read at [`build`](Builder::build).
    /// Ignored with [`client`](Builder::client) or [`connector`](Builder::connector).
    /// The proxy itself is reached over plain TCP: a proxy behind TLS
    /// (`https://proxy`) and SOCKS proxies are not supported.
    pub fn proxy(mut self, url: impl Into<String>) -> Builder {
        let url = url.into();
        if !matches!(url.parse::<Uri>(), Ok(uri) if uri.scheme_str() == Some("http") && uri.authority().is_some())
        {
            self.fail(Error::new(Kind::Builder(
                "the proxy must be an http:// URL with a host",
            )));
        }
        self.proxy = ProxySetting::All(url);
        self
    }

    /// Connects directly, whatever `HTTP_PROXY`/`HTTPS_PROXY` say.
    pub fn no_proxy(mut self) -> Builder {
        self.proxy = ProxySetting::Off;
        self
    }

    /// Also trusts the platform's root certificates (the system store),
    /// besides Mozilla's, for HTTPS. Default: `false`.
    #[cfg(feature = "rustls")]
    pub fn tls_native_roots(mut self, enabled: bool) -> Builder {
        self.tls.native_roots = enabled;
        self
    }

    /// Also trusts the certificates in this PEM data (a private or
    /// corporate CA) for HTTPS. May be called more than once.
    #[cfg(feature = "rustls")]
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Bytes>) -> Builder {
        let pem = pem.into();
        match TlsOptions::parse_pem(&pem) {
            Ok(_) => self.tls.extra_roots.push(pem),
            Err(e) => {
                self.fail(Error::new(Kind::Builder("invalid PEM root certificate")).with_source(e))
            }
        }
        self
    }

    /// **For development only: accepts any server certificate** (self-signed,
    /// expired, for another name), so anyone on the path can read and
    /// change the stream. Default: `false`: a refused certificate is a
    /// fatal [`Error::is_certificate`].
    #[cfg(feature = "rustls")]
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Builder {
        self.tls.accept_invalid_certs = accept;
        self
    }

    /// Connects only to peer addresses `allows` accepts: a host name's
    /// addresses are resolved and filtered on every attempt (first,
    /// reconnection, redirect), so a name that re-resolves to a refused
    /// address is caught each time (DNS rebinding); an address literal in
    /// the URL is checked as it is. A host with no accepted address fails
    /// the attempt with [`ErrorKind::Connect`](crate::ErrorKind::Connect),
    /// saying which addresses were refused. For a relay or webhook-style
    /// service that must not reach private networks:
    ///
    /// ```
    /// let source = bourn_client::EventSource::builder("https://api.example.test/v1/stream")
    ///     .address_filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
    ///     .no_proxy()
    ///     .build()?;
    /// # Ok::<(), bourn_client::Error>(())
    /// ```
    ///
    /// A proxy would resolve the target itself, so with a filter a request
    /// a proxy applies to fails instead (use [`no_proxy`](Builder::no_proxy)).
    /// Not applied to a [`client`](Builder::client) or
    /// [`connector`](Builder::connector) of your own. Default: none.
    pub fn address_filter(
        mut self,
        allows: impl Fn(std::net::IpAddr) -> bool + Send + Sync + 'static,
    ) -> Builder {
        self.filter = Some(AddressFilter::new(allows));
        self
    }

    /// Sends requests through this hyper client (its pool, TLS, proxy,
    /// HTTP/2 settings). Default: a client made by the source, over HTTP and,
    /// with the `rustls` feature, HTTPS, through the environment's proxy.
    /// The TLS and proxy settings of this builder do not apply to it.
    pub fn client<C>(mut self, client: Client<C, RequestBody>) -> Builder
    where
        C: Connect + Clone + Send + Sync + 'static,
    {
        self.transport = Some(Erased(Arc::new(client)));
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
                transport::default_transport(
                    &self.proxy,
                    self.filter.as_ref(),
                    #[cfg(feature = "rustls")]
                    &self.tls,
                )
                .map_err(|e| Error::new(Kind::Builder("TLS setup failed")).with_source(e))?
            }
        };
        if self.cookies && cfg!(not(feature = "cookies")) {
            return Err(Error::new(Kind::Builder(
                "a cookie store needs the `cookies` feature",
            )));
        }
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
            comments: self.comments,
            retry_first_connect: self.retry_first_connect,
            hook: self.hook,
            auth_retries: self.auth_retries,
            cookies: self.cookies.then(Jar::default),
            transport,
        };
        Ok(EventSource::new_from(config, self.last_event_id))
    }

    fn fail(&mut self, error: Error) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }
}
