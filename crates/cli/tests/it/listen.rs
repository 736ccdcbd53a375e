//! `bourn listen` against the scripted server of `bourn-testkit`: the
//! sentinel, the idle timeout, credentials, proxies, TLS options, headers,
//! durations, reconnect messages and failing fast.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bourn_testkit::{Reply, Server};
use bytes::Bytes;
use http_body_util::Full;
use tokio::runtime::Runtime;

use super::support::{closed_port, run, run_with_env};

/// A runtime on its own threads: the scripted server answers while the
/// test thread waits for the `bourn` process.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn serve(rt: &Runtime, replies: Vec<Reply>) -> Server {
    rt.block_on(Server::replies(replies)).unwrap()
}

fn lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn until_stops_at_the_sentinel_without_printing_it() {
    let rt = runtime();
    // The server holds the connection open after [DONE], as LLM APIs may.
    let server = serve(
        &rt,
        vec![Reply::sse("data: Hel\n\ndata: lo\n\ndata: [DONE]\n\n").then_stall()],
    );
    let start = Instant::now();
    let output = run(
        &[
            "listen",
            "--json",
            "--once",
            "--until",
            "[DONE]",
            &server.url(),
        ],
        b"",
    );
    assert_eq!(output.code(), Some(0), "{output:?}");
    let data: Vec<_> = lines(&output.stdout)
        .iter()
        .map(|v| v["data"].clone())
        .collect();
    assert_eq!(data, ["Hel", "lo"]);
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn idle_timeout_reconnects_a_silent_stream() {
    let rt = runtime();
    let server = serve(
        &rt,
        vec![
            Reply::sse("id: 1\ndata: a\n\n").then_stall(),
            Reply::sse("data: b\n\n"),
        ],
    );
    let output = run(
        &["listen", "--json", "--idle-timeout", "200ms", &server.url()],
        b"",
    );
    assert_eq!(output.code(), Some(0), "{output:?}");
    assert_eq!(lines(&output.stdout).len(), 2);
    assert!(
        output.stderr.contains("no data within the idle timeout"),
        "{}",
        output.stderr
    );
    assert_eq!(server.requests()[1].last_event_id(), Some("1"));
}

#[test]
fn headers_and_bearer_are_sent() {
    let rt = runtime();
    let server = serve(&rt, vec![Reply::sse("data: a\n\n")]);
    let output = run(
        &[
            "listen",
            "--once",
            "-H",
            "x-team: core",
            "--bearer",
            "tok-1",
            &server.url(),
        ],
        b"",
    );
    assert_eq!(output.code(), Some(0), "{output:?}");
    let r = &server.requests()[0];
    assert_eq!(r.header("x-team"), Some("core"));
    assert_eq!(r.header("authorization"), Some("Bearer tok-1"));
    // From the environment too (keeps the token out of `ps`).
    let server = serve(&rt, vec![Reply::sse("data: a\n\n")]);
    let output = run_with_env(
        &["listen", "--once", &server.url()],
        &[("BOURN_BEARER", "tok-2")],
        b"",
    );
    assert_eq!(output.code(), Some(0), "{output:?}");
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer tok-2")
    );
}

#[test]
fn proxy_flag_and_http_proxy_variable_carry_the_request() {
    let rt = runtime();
    let proxy = serve(
        &rt,
        vec![Reply::sse("data: flag\n\n"), Reply::sse("data: env\n\n")],
    );
    let target = "http://feed.invalid/events";
    let flag = run(
        &[
            "listen",
            "--json",
            "--once",
            "--proxy",
            &proxy.url(),
            target,
        ],
        b"",
    );
    assert_eq!(flag.code(), Some(0), "{flag:?}");
    let env = run_with_env(
        &["listen", "--json", "--once", target],
        &[("HTTP_PROXY", proxy.url().as_str())],
        b"",
    );
    assert_eq!(env.code(), Some(0), "{env:?}");
    assert_eq!(lines(&env.stdout)[0]["data"], "env");
    let r = proxy.requests();
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|r| r.target == target), "{r:?}");

    // NO_PROXY: straight to the server, past a proxy that does not exist.
    let direct = serve(&rt, vec![Reply::sse("data: direct\n\n")]);
    let dead_proxy = format!("http://{}", closed_port());
    let output = run_with_env(
        &["listen", "--json", "--once", &direct.url()],
        &[
            ("HTTP_PROXY", dead_proxy.as_str()),
            ("NO_PROXY", "127.0.0.1"),
        ],
        b"",
    );
    assert_eq!(output.code(), Some(0), "{output:?}");
    assert_eq!(lines(&output.stdout)[0]["data"], "direct");
}

#[test]
fn include_prints_the_status_and_headers_on_stderr() {
    let rt = runtime();
    let server = serve(
        &rt,
        vec![Reply::sse("data: a\n\n").header("x-served-by", "node-7")],
    );
    let output = run(&["listen", "--json", "--once", "-i", &server.url()], b"");
    assert_eq!(output.code(), Some(0), "{output:?}");
    assert!(output.stderr.contains("HTTP 200 OK"), "{}", output.stderr);
    assert!(
        output.stderr.contains("x-served-by: node-7"),
        "{}",
        output.stderr
    );
    assert_eq!(lines(&output.stdout).len(), 1, "stdout stays events only");
    // A refused response's head too.
    let server = serve(&rt, vec![Reply::status(403).header("x-reason", "region")]);
    let output = run(&["listen", "-i", &server.url()], b"");
    assert_eq!(output.code(), Some(3), "{output:?}");
    assert!(
        output.stderr.contains("HTTP 403 Forbidden"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("x-reason: region"),
        "{}",
        output.stderr
    );
}

#[test]
fn humantime_durations_are_accepted() {
    let rt = runtime();
    let server = serve(&rt, vec![Reply::sse("data: a\n\n")]);
    let output = run(
        &[
            "listen",
            "--once",
            "--timeout",
            "1m30s",
            "--idle-timeout",
            "2m 5s",
            &server.url(),
        ],
        b"",
    );
    assert_eq!(output.code(), Some(0), "{output:?}");
    let bad = run(&["listen", "--timeout", "1 fortnight", &server.url()], b"");
    assert_eq!(bad.code(), Some(2), "{bad:?}");
}

#[test]
fn each_reconnect_is_reported_once_with_a_rounded_delay() {
    let rt = runtime();
    let server = serve(
        &rt,
        vec![
            Reply::sse("retry: 20\nid: 1\ndata: a\n\n"),
            Reply::sse("data: b\n\n").drop_at(4),
            Reply::sse("data: c\n\n"),
        ],
    );
    let output = run(&["listen", "--json", &server.url()], b"");
    assert_eq!(output.code(), Some(0), "{output:?}");
    let reconnects: Vec<&str> = output
        .stderr
        .lines()
        .filter(|l| l.contains("reconnecting in"))
        .collect();
    assert_eq!(reconnects.len(), 3, "{}", output.stderr);
    for line in &reconnects {
        assert_eq!(line.matches("reconnecting in").count(), 1, "{line}");
        let delay = line.split("reconnecting in ").nth(1).unwrap();
        let number = delay.split('s').next().unwrap();
        assert!(
            number.split('.').nth(1).is_some_and(|d| d.len() == 1),
            "one decimal: {line}"
        );
    }
    assert!(
        reconnects[0].ends_with("with Last-Event-ID 1"),
        "{}",
        reconnects[0]
    );
    assert!(
        output.stderr.contains("204 No Content"),
        "{}",
        output.stderr
    );
}

#[test]
fn a_refused_first_connection_fails_fast_with_a_hint() {
    let url = format!("http://{}/topics/x", closed_port());
    let start = Instant::now();
    let output = run(&["listen", &url], b"");
    assert_eq!(output.code(), Some(5), "{output:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(output.stderr.contains("hint:"), "{}", output.stderr);
    assert!(
        output.stderr.contains("--retry-connect"),
        "{}",
        output.stderr
    );
    // --retry-connect keeps trying (bounded here by --retry).
    let output = run(&["listen", "--retry-connect", "--retry", "1", &url], b"");
    assert_eq!(output.code(), Some(5), "{output:?}");
    assert_eq!(
        output.stderr.matches("reconnecting in").count(),
        1,
        "{}",
        output.stderr
    );
}

/// A self-signed certificate for 127.0.0.1: (DER, key, PEM).
fn self_signed() -> (
    rustls::pki_types::CertificateDer<'static>,
    rustls::pki_types::PrivateKeyDer<'static>,
    String,
) {
    use base64::Engine as _;
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    let der = certified.cert.der().clone();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let body: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        body.join("\n")
    );
    (der, key.into(), pem)
}

/// HTTPS on 127.0.0.1:0, answering `data: secure` to every request.
fn https_server(rt: &Runtime) -> (SocketAddr, String) {
    let (cert, key, pem) = self_signed();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(|_| async {
                    Ok::<_, Infallible>(
                        http::Response::builder()
                            .header("content-type", "text/event-stream")
                            .body(Full::new(Bytes::from_static(b"data: secure\n\n")))
                            .unwrap(),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (addr, pem)
}

#[test]
fn cacert_and_insecure_reach_a_self_signed_server_and_the_default_refuses_it() {
    let rt = runtime();
    let (addr, pem) = https_server(&rt);
    let url = format!("https://{addr}/");
    let refused = run(&["listen", "--once", &url], b"");
    assert_eq!(refused.code(), Some(5), "{refused:?}");
    assert!(refused.stderr.contains("--cacert"), "{}", refused.stderr);

    let dir = std::env::temp_dir().join(format!("bourn-it-cacert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let trusted = run(
        &[
            "listen",
            "--json",
            "--once",
            "--cacert",
            ca.to_str().unwrap(),
            &url,
        ],
        b"",
    );
    assert_eq!(trusted.code(), Some(0), "{trusted:?}");
    assert_eq!(lines(&trusted.stdout)[0]["data"], "secure");
    std::fs::remove_dir_all(&dir).unwrap();

    let insecure = run(&["listen", "--json", "--once", "-k", &url], b"");
    assert_eq!(insecure.code(), Some(0), "{insecure:?}");
    assert_eq!(lines(&insecure.stdout)[0]["data"], "secure");
}
