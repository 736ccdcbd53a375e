//! The HTTP client behind an event source, type-erased so that
//! `EventSource` has no type parameter whatever the connector.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::Connect;
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

/// The default client: HTTP and, with the `rustls` feature, HTTPS over
/// rustls (ring, Mozilla roots) with HTTP/2 negotiated by ALPN.
pub(crate) fn default_transport() -> Result<Box<dyn Transport>, BoxError> {
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.set_nodelay(true);
    #[cfg(feature = "rustls")]
    {
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(http);
        Ok(Box::new(client_with(https)))
    }
    #[cfg(not(feature = "rustls"))]
    {
        Ok(Box::new(client_with(http)))
    }
}
