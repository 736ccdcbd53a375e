//! The HTTP client behind an event source, type-erased so that
//! `EventSource` has no type parameter whatever the connector.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
#[cfg(feature = "rustls")]
use std::sync::OnceLock;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::PROXY_AUTHORIZATION;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::TokioExecutor;
use tower_service::Service;

use crate::error::BoxError;
use crate::proxy::ForwardProxy;
#[cfg(feature = "rustls")]
use crate::tls::TlsOptions;

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

/// A shared transport: a [`Builder`](crate::Builder) that holds one stays `Clone`.
#[derive(Clone)]
pub(crate) struct Erased(pub(crate) Arc<dyn Transport>);

impl fmt::Debug for Erased {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Transport")
    }
}

/// Which proxy the default transport uses.
#[derive(Debug, Clone, Default)]
pub(crate) enum ProxySetting {
    /// `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` (and their
    /// lower-case forms), read when the source is built.
    #[default]
    Env,
    /// No proxy, whatever the environment says.
    Off,
    /// Every request through this proxy (an `http://` URL, credentials
    /// allowed: `http://user:pass@proxy:3128`).
    All(String),
}

impl ProxySetting {
    fn matcher(&self) -> Matcher {
        match self {
            ProxySetting::Env => Matcher::from_env(),
            ProxySetting::Off => Matcher::builder().build(),
            ProxySetting::All(url) => Matcher::builder().all(url.clone()).build(),
        }
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
/// rustls (ring, Mozilla roots unless configured otherwise) with HTTP/2
/// negotiated by ALPN, through a proxy when one applies.
///
/// Two clients, chosen per request by scheme (a redirect may cross from
/// one to the other): a plain-TCP one, and a TLS one made on the first
/// `https` request. An `http` connection so never carries a stream type
/// sized for TLS state (measured: ~3 KB of RSS per connection at 1,000
/// connections, `benches/examples/client-load.rs`).
///
/// Each event source gets its own clients (their pools: a pooled
/// connection belongs to the runtime that opened it), but the default TLS
/// connector is made once per process and cloned: its rustls
/// `ClientConfig` holds the root certificates and a session cache, ~17 KB
/// that every connection would otherwise pay for (same measurement).
///
/// A proxied request gets a client of its own (an SSE attempt is one
/// long-lived connection: there is nothing to pool): a forward-proxy
/// connector for `http` URLs (the request goes to the proxy in absolute
/// form) and an HTTP `CONNECT` tunnel for `https` URLs.
struct DefaultTransport {
    http: Client<HttpConnector<Resolver>, RequestBody>,
    #[cfg(feature = "rustls")]
    https: Https,
    proxy: Matcher,
    filter: Option<AddressFilter>,
}

/// The TCP connector of the default transport: DNS through `getaddrinfo`,
/// then the address filter, if any.
type Tcp = HttpConnector<Resolver>;

#[cfg(feature = "rustls")]
struct Https {
    config: Arc<rustls::ClientConfig>,
    connector: hyper_rustls::HttpsConnector<Tcp>,
    client: OnceLock<Client<hyper_rustls::HttpsConnector<Tcp>, RequestBody>>,
}

impl Transport for DefaultTransport {
    fn send(&self, request: Request<RequestBody>) -> ResponseFuture {
        if let Some(filter) = &self.filter {
            // The connector skips DNS for an address literal: check it here
            // (this runs for every request: first, reconnection, redirect).
            let literal = request
                .uri()
                .host()
                .map(|host| host.trim_start_matches('[').trim_end_matches(']'))
                .and_then(|host| host.parse::<IpAddr>().ok());
            if let Some(ip) = literal.filter(|ip| !filter.allows(*ip)) {
                return Box::pin(async move { Err(refused(&ip.to_string(), &[ip]).into()) });
            }
        }
        if let Some(intercept) = self.proxy.intercept(request.uri()) {
            if self.filter.is_some() {
                // The proxy would resolve the target: its address could not
                // be checked.
                return Box::pin(async {
                    Err("an address filter is set and a proxy applies to this URL: \
                         the target's address could not be checked (use `no_proxy`)"
                        .into())
                });
            }
            return self.send_proxied(request, &intercept);
        }
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

impl DefaultTransport {
    fn send_proxied(
        &self,
        mut request: Request<RequestBody>,
        intercept: &Intercept,
    ) -> ResponseFuture {
        let proxy = intercept.uri().clone();
        if request.uri().scheme() == Some(&http::uri::Scheme::HTTPS) {
            #[cfg(feature = "rustls")]
            {
                let mut tunnel = hyper_util::client::legacy::connect::proxy::Tunnel::new(
                    proxy,
                    http_connector(false),
                );
                if let Some(auth) = intercept.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config((*self.https.config).clone())
                    .https_only()
                    .enable_all_versions()
                    .wrap_connector(tunnel);
                return client_with(connector).send(request);
            }
            #[cfg(not(feature = "rustls"))]
            return Box::pin(async { Err("https needs the `rustls` feature".into()) });
        }
        if let Some(auth) = intercept.basic_auth() {
            request
                .headers_mut()
                .insert(PROXY_AUTHORIZATION, auth.clone());
        }
        client_with(ForwardProxy::new(proxy, http_connector(false))).send(request)
    }
}

/// The default transport (see [`DefaultTransport`]).
pub(crate) fn default_transport(
    proxy: &ProxySetting,
    filter: Option<&AddressFilter>,
    #[cfg(feature = "rustls")] tls: &TlsOptions,
) -> Result<Erased, BoxError> {
    let resolver = Resolver {
        gai: GaiResolver::new(),
        filter: filter.cloned(),
    };
    #[cfg(feature = "rustls")]
    let https = {
        let (config, connector) = if tls.is_default() && filter.is_none() {
            default_https()?
        } else {
            let config = Arc::new(tls.client_config()?);
            let connector = https_connector(&config, resolver.clone());
            (config, connector)
        };
        Https {
            config,
            connector,
            client: OnceLock::new(),
        }
    };
    Ok(Erased(Arc::new(DefaultTransport {
        http: client_with(tcp_connector(true, resolver)),
        #[cfg(feature = "rustls")]
        https,
        proxy: proxy.matcher(),
        filter: filter.cloned(),
    })))
}

/// The process's default TLS config and connector, made on first use.
#[cfg(feature = "rustls")]
#[allow(clippy::type_complexity)]
fn default_https()
-> Result<(Arc<rustls::ClientConfig>, hyper_rustls::HttpsConnector<Tcp>), BoxError> {
    type Connector = hyper_rustls::HttpsConnector<Tcp>;
    static HTTPS: OnceLock<Result<(Arc<rustls::ClientConfig>, Connector), String>> =
        OnceLock::new();
    let https = HTTPS.get_or_init(|| {
        let config = Arc::new(
            TlsOptions::default()
                .client_config()
                .map_err(|e| e.to_string())?,
        );
        let connector = https_connector(&config, Resolver::default());
        Ok((config, connector))
    });
    match https {
        Ok((config, connector)) => Ok((Arc::clone(config), connector.clone())),
        Err(error) => Err(error.clone().into()),
    }
}

#[cfg(feature = "rustls")]
fn https_connector(
    config: &rustls::ClientConfig,
    resolver: Resolver,
) -> hyper_rustls::HttpsConnector<Tcp> {
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config.clone())
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(tcp_connector(false, resolver))
}

/// A TCP connector with `TCP_NODELAY` (events are small and latency-bound).
/// `enforce_http` is off when a TLS connector wraps it.
pub(crate) fn http_connector(enforce_http: bool) -> HttpConnector {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(enforce_http);
    http
}

/// [`http_connector`] over the default transport's resolver.
fn tcp_connector(enforce_http: bool, resolver: Resolver) -> Tcp {
    let mut http = HttpConnector::new_with_resolver(resolver);
    http.set_nodelay(true);
    http.enforce_http(enforce_http);
    http
}

/// Which peer addresses a source may connect to
/// ([`Builder::address_filter`](crate::Builder::address_filter)).
#[derive(Clone)]
pub(crate) struct AddressFilter(Arc<dyn Fn(IpAddr) -> bool + Send + Sync>);

impl AddressFilter {
    pub(crate) fn new(allows: impl Fn(IpAddr) -> bool + Send + Sync + 'static) -> AddressFilter {
        AddressFilter(Arc::new(allows))
    }

    fn allows(&self, ip: IpAddr) -> bool {
        (self.0)(ip)
    }
}

impl fmt::Debug for AddressFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AddressFilter")
    }
}

/// The error for a host whose every address the filter refused.
fn refused(host: &str, addresses: &[IpAddr]) -> io::Error {
    let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "{host} resolves only to addresses the address filter refuses ({})",
            list.join(", ")
        ),
    )
}

/// `getaddrinfo`, then the address filter: the addresses it refuses are
/// never connected to, whatever the name resolved to this time (so a name
/// that re-resolves to a private address is caught on every attempt).
#[derive(Clone)]
pub(crate) struct Resolver {
    gai: GaiResolver,
    filter: Option<AddressFilter>,
}

impl Default for Resolver {
    fn default() -> Resolver {
        Resolver {
            gai: GaiResolver::new(),
            filter: None,
        }
    }
}

impl Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.gai.poll_ready(cx)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let resolving = self.gai.call(name.clone());
        let filter = self.filter.clone();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = resolving.await?.collect();
            let Some(filter) = filter else {
                return Ok(addresses.into_iter());
            };
            let allowed: Vec<SocketAddr> = addresses
                .iter()
                .copied()
                .filter(|address| filter.allows(address.ip()))
                .collect();
            if allowed.is_empty() && !addresses.is_empty() {
                let ips: Vec<IpAddr> = addresses.iter().map(SocketAddr::ip).collect();
                return Err(refused(name.as_str(), &ips));
            }
            Ok(allowed.into_iter())
        })
    }
}
