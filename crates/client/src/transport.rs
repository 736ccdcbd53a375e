//! The HTTP client behind an event source, type-erased so that
//! `EventSource` has no type parameter whatever the connector.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
#[cfg(feature = "rustls")]
use std::sync::OnceLock;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;

use crate::error::BoxError;

/// The request body type: the whole body, sent again on every reconnection.
pub type RequestBody = Full<Bytes>;

pub(crate) type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response<Incoming>, BoxError>> + Send>>;

/// Sends one request and resolves to the response head.
pub(crate) trait Transport: Send + Sync {
    fn send(&self, request: Request<RequestBody>) -> ResponseFuture;
}

impl<C> Transport for Client<C, RequestBody>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    fn send(&self, request: Request<RequestBody>) -> ResponseFuture {
        let response = self.request(request);
        Box::pin(async move { response.await.map_err(BoxError::from) })
    }
}

pub(crate) struct Erased(pub(crate) Box<dyn Transport>);

impl fmt::Debug for Erased {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Transport")
    }
}

/// A hyper client over `connector`, as the builder makes one.
pub(crate) fn client_with<C>(connector: C) -> Client<C, RequestBody>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    Client::builder(TokioExecutor::new()).build(connector)
}

/// The default transport: HTTP and, with the `rustls` feature, HTTPS over
/// rustls (ring, Mozilla roots) with HTTP/2 negotiated by ALPN.
///
/// Two clients, chosen per request by scheme (a redirect may cross from
/// one to the other): a plain-TCP one, and a TLS one made on the first
/// `https` request. An `http` connection so never carries a stream type
/// sized for TLS state (measured: ~3 KB of RSS per connection at 1,000
/// connections, `benches/examples/client-load.rs`).
///
/// Each event source gets its own clients (their pools: a pooled
/// connection belongs to the runtime that opened it), but the TLS
/// connector is made once per process and cloned: its rustls
/// `ClientConfig` holds the root certificates and a session cache, ~17 KB
/// that every connection would otherwise pay for (same measurement).
struct DefaultTransport {
    http: Client<HttpConnector, RequestBody>,
    #[cfg(feature = "rustls")]
    https: Https,
}

#[cfg(feature = "rustls")]
struct Https {
    connector: hyper_rustls::HttpsConnector<HttpConnector>,
    client: OnceLock<Client<hyper_rustls::HttpsConnector<HttpConnector>, RequestBody>>,
}

impl Transport for DefaultTransport {
    fn send(&self, request: Request<RequestBody>) -> ResponseFuture {
        #[cfg(feature = "rustls")]
        if request.uri().scheme() == Some(&http::uri::Scheme::HTTPS) {
            let https = &self.https;
            return https
                .client
                .get_or_init(|| client_with(https.connector.clone()))
                .send(request);
        }
        self.http.send(request)
    }
}

/// The default transport (see [`DefaultTransport`]).
pub(crate) fn default_transport() -> Result<Box<dyn Transport>, BoxError> {
    Ok(Box::new(DefaultTransport {
        http: client_with(http_connector(true)),
        #[cfg(feature = "rustls")]
        https: Https {
            connector: https_connector()?,
            client: OnceLock::new(),
        },
    }))
}

/// The process's TLS connector, made on first use.
#[cfg(feature = "rustls")]
fn https_connector() -> Result<hyper_rustls::HttpsConnector<HttpConnector>, BoxError> {
    type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
    static HTTPS: OnceLock<Result<Connector, rustls::Error>> = OnceLock::new();
    let https = HTTPS.get_or_init(|| {
        Ok(hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(http_connector(false)))
    });
    match https {
        Ok(https) => Ok(https.clone()),
        Err(error) => Err(error.clone().into()),
    }
}

/// A TCP connector with `TCP_NODELAY` (events are small and latency-bound).
/// `enforce_http` is off when a TLS connector wraps it.
fn http_connector(enforce_http: bool) -> HttpConnector {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(enforce_http);
    http
}
