//! HTTPS over loopback: a rustls server with a self-signed certificate made
//! in the test, read by a client given a connector that trusts it, and
//! refused by the default client (Mozilla's roots), which proves the
//! certificate is really checked.
#![cfg(feature = "rustls")]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bourn_client::{ErrorKind, EventSource, Item};
use bourn_testkit::{Reply, Server};
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::util::*;

const BODY: &str = "id: 7\ndata: over tls\n\n";

/// A self-signed certificate for `127.0.0.1` and its key.
fn self_signed() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let (cert, key, _) = self_signed_pem();
    (cert, key)
}

/// The same, with the certificate as PEM too.
fn self_signed_pem() -> (CertificateDer<'static>, PrivateKeyDer<'static>, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    let der = certified.cert.der().clone();
    let pem = pem_of(&der);
    (der, key.into(), pem)
}

fn pem_of(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

/// An HTTPS server as below, with a count of the TCP connections it accepted.
async fn counted_https_server(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let addr = serve_https(cert, key, Arc::clone(&count)).await;
    (addr, count)
}

/// An HTTPS server on `127.0.0.1:0` answering every request with `BODY` as
/// `text/event-stream`; it stops when the test's runtime does.
async fn https_server(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> SocketAddr {
    serve_https(cert, key, Arc::new(AtomicUsize::new(0))).await
}

async fn serve_https(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    accepted: Arc<AtomicUsize>,
) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            accepted.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(|_: Request<Incoming>| async {
                    Ok::<_, Infallible>(
                        Response::builder()
                            .header("content-type", "text/event-stream")
                            .body(Full::new(Bytes::from_static(BODY.as_bytes())))
                            .unwrap(),
                    )
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn reads_a_stream_over_https_from_a_trusted_self_signed_server() {
    let (cert, key) = self_signed();
    let addr = https_server(cert.clone(), key).await;

    // "Trust this root": a rustls config with the test's certificate as the
    // only root, given to the source as a connector.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .build();

    let source = builder(format!("https://{addr}/"))
        .connector(https)
        .one_shot(true)
        .build()
        .unwrap();
    let items = all(source).await;
    assert!(errors(&items).is_empty(), "{items:?}");
    assert!(matches!(items[0], Ok(Item::Open { status, .. }) if status == 200));
    let Some(Ok(Item::Event(event))) = items.get(1) else {
        panic!("an event: {items:?}");
    };
    assert_eq!((event.data(), event.last_event_id()), ("over tls", "7"));
}

#[tokio::test]
async fn the_default_client_refuses_an_untrusted_certificate() {
    let (cert, key) = self_signed();
    let addr = https_server(cert, key).await;
    // The default transport's HTTPS client: Mozilla's roots only.
    let source = EventSource::builder(format!("https://{addr}/"))
        .one_shot(true)
        .build()
        .unwrap();
    let items = all(source).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let err = errors(&items)[0];
    assert!(err.is_connect() && err.is_fatal(), "{err}");
    assert!(data(&items).is_empty());
}

#[tokio::test]
async fn a_refused_certificate_is_fatal_not_retried_for_ever() {
    let (cert, key) = self_signed();
    let (addr, accepted) = counted_https_server(cert, key).await;
    // Not one-shot: before, this retried for ever.
    let source = builder(format!("https://{addr}/")).build().unwrap();
    let items = all(source).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let err = errors(&items)[0];
    assert!(
        err.is_certificate() && err.is_connect() && err.is_fatal(),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Certificate);
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_extra_root_from_pem_is_trusted() {
    let (cert, key, pem) = self_signed_pem();
    let addr = https_server(cert, key).await;
    let source = builder(format!("https://{addr}/"))
        .add_root_certificate_pem(pem)
        .one_shot(true)
        .build()
        .unwrap();
    let items = all(source).await;
    assert!(errors(&items).is_empty(), "{items:?}");
    assert_eq!(data(&items), ["over tls"]);

    let err = EventSource::builder("https://x.test/")
        .add_root_certificate_pem("not a certificate")
        .build()
        .unwrap_err();
    assert!(err.is_builder(), "{err}");
}

#[tokio::test]
async fn danger_accept_invalid_certs_reads_from_an_untrusted_server() {
    let (cert, key) = self_signed();
    let addr = https_server(cert, key).await;
    let source = builder(format!("https://{addr}/"))
        .danger_accept_invalid_certs(true)
        .one_shot(true)
        .build()
        .unwrap();
    let items = all(source).await;
    assert_eq!(data(&items), ["over tls"], "{items:?}");
}

#[tokio::test]
async fn native_roots_are_an_option_and_still_check_the_certificate() {
    let (cert, key) = self_signed();
    let addr = https_server(cert, key).await;
    let source = builder(format!("https://{addr}/"))
        .tls_native_roots(true)
        .build()
        .unwrap();
    let items = all(source).await;
    assert!(errors(&items)[0].is_certificate(), "{items:?}");
}

#[tokio::test]
async fn https_goes_through_a_proxy_s_connect_tunnel() {
    let (cert, key, pem) = self_signed_pem();
    let addr = https_server(cert, key).await;
    let proxy = Server::start(|_| Reply::tunnel()).await.unwrap();
    let source = builder(format!("https://{addr}/"))
        .proxy(format!("http://user:pa55@{}", proxy.addr()))
        .add_root_certificate_pem(pem)
        .one_shot(true)
        .build()
        .unwrap();
    let items = all(source).await;
    assert_eq!(data(&items), ["over tls"], "{items:?}");
    let requests = proxy.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, http::Method::CONNECT);
    assert_eq!(requests[0].target, addr.to_string());
    // The proxy's credentials go on the CONNECT, never to the server.
    assert_eq!(
        requests[0].header("proxy-authorization"),
        Some("Basic dXNlcjpwYTU1")
    );
}
