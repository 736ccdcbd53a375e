//! One connection attempt: request hook, redirects, credential refresh,
//! and what the response means.

use std::sync::Arc;
use std::time::Duration;

use bourn_codec::ByteString;
use bytes::{Bytes, BytesMut};
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, COOKIE, HeaderValue, LOCATION};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use crate::config::{BODY_HEAD_LEN, BODY_HEAD_TIMEOUT, Config};
use crate::error::{BoxError, Error, Kind};
use crate::hook::RequestReason;
use crate::redirect;

/// Where an attempt starts: the builder's request until a connection
/// opens, then the final request of the last connection that opened
/// (after redirects, a 303 turned into `GET`).
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) uri: Uri,
    pub(crate) method: Method,
    pub(crate) body: Bytes,
}

/// What an attempt came to.
pub(crate) enum Outcome {
    /// `200` with `text/event-stream`: announce the connection. The target
    /// is the request that opened (its URL is the final URL).
    Open(Box<(Response<Incoming>, Target)>),
    /// A failure worth another attempt, after the wait the server asked
    /// for (`Retry-After`), if any.
    Retry(Error, Option<Duration>),
    /// A failure that ends the source.
    Fail(Error),
}

/// Connects and classifies the response, within the connect timeout.
pub(crate) async fn attempt(
    config: Arc<Config>,
    target: Target,
    last_event_id: ByteString,
    reason: RequestReason,
) -> Outcome {
    let Some(timeout) = config.connect_timeout else {
        return follow(&config, target, &last_event_id, reason).await;
    };
    match tokio::time::timeout(timeout, follow(&config, target, &last_event_id, reason)).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Retry(Error::new(Kind::ConnectTimeout), None),
    }
}

async fn follow(
    config: &Config,
    target: Target,
    last_event_id: &str,
    mut reason: RequestReason,
) -> Outcome {
    let Target {
        uri,
        method,
        mut body,
    } = target;
    let mut headers = config.headers.clone();
    // A reconnection to the final URL of a cross-origin redirect does not
    // carry the caller's credentials either.
    redirect::adjust_headers(&mut headers, &config.uri, &uri, false);
    set_headers(&mut headers, last_event_id);
    let mut jar_cookie = None;
    refresh_cookies(config, &uri, &mut headers, &mut jar_cookie);
    let mut request = request_head(method, uri, headers);
    let mut redirects = 0;
    let mut auth_retries = 0;
    loop {
        if let Some(hook) = &config.hook {
            request = match hook.call(request, reason).await {
                Ok(request) => request,
                Err(e) => return Outcome::Fail(Error::new(Kind::Hook).with_source(e)),
            };
            let uri = request.uri();
            if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
                let why: BoxError =
                    "the request hook set a URL that is not absolute http(s)".into();
                return Outcome::Fail(Error::new(Kind::Hook).with_source(why));
            }
        }
        let method = request.method().clone();
        let uri = request.uri().clone();
        let mut outgoing = Request::new(Full::new(body.clone()));
        *outgoing.method_mut() = method.clone();
        *outgoing.uri_mut() = uri.clone();
        *outgoing.headers_mut() = request.headers().clone();
        let response = match config.transport.0.send(outgoing).await {
            Ok(response) => response,
            // A certificate does not become valid by asking again.
            Err(e) if is_certificate_error(&*e) => {
                return Outcome::Fail(Error::new(Kind::Certificate).with_source(e));
            }
            Err(e) => return Outcome::Retry(Error::new(Kind::Connect).with_source(e), None),
        };
        if let Some(jar) = &config.cookies {
            jar.store_response_cookies(&uri, response.headers());
        }
        let status = response.status();
        if redirect::is_redirect(status) {
            if redirects == config.max_redirects {
                return Outcome::Fail(refused(Kind::TooManyRedirects, response).await);
            }
            let location = response.headers().get(LOCATION).map(HeaderValue::as_bytes);
            let Some(hop) = redirect::next_hop(status, &method, &uri, location) else {
                return Outcome::Fail(refused(Kind::BadLocation, response).await);
            };
            let (_, mut headers) = into_head(request);
            redirect::adjust_headers(&mut headers, &uri, &hop.uri, hop.drop_body);
            refresh_cookies(config, &hop.uri, &mut headers, &mut jar_cookie);
            if hop.drop_body {
                body = Bytes::new();
            }
            request = request_head(hop.method, hop.uri, headers);
            reason = RequestReason::Redirect(status);
            redirects += 1;
            continue;
        }
        let unauthorized = status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN;
        if unauthorized && config.hook.is_some() && auth_retries < config.auth_retries {
            // The hook refreshes the credentials; the same request goes again.
            auth_retries += 1;
            reason = RequestReason::Unauthorized {
                status,
                headers: response.headers().clone(),
            };
            drop(response);
            let (_, mut headers) = into_head(request);
            refresh_cookies(config, &uri, &mut headers, &mut jar_cookie);
            request = request_head(method, uri, headers);
            continue;
        }
        let target = Target { uri, method, body };
        return classify(config, response, target).await;
    }
}

/// A bodiless request head: what the hook sees and changes.
fn request_head(method: Method, uri: Uri, headers: HeaderMap) -> Request<()> {
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    request
}

fn into_head(request: Request<()>) -> (Method, HeaderMap) {
    let (parts, ()) = request.into_parts();
    (parts.method, parts.headers)
}

/// Replaces the cookie store's `Cookie` line (the one added last time,
/// `added`) with the cookies matching `uri`. The caller's own `Cookie`
/// values are left alone.
fn refresh_cookies(
    config: &Config,
    uri: &Uri,
    headers: &mut HeaderMap,
    added: &mut Option<HeaderValue>,
) {
    let Some(jar) = &config.cookies else { return };
    if let Some(old) = added.take() {
        let keep: Vec<HeaderValue> = headers
            .get_all(COOKIE)
            .iter()
            .filter(|value| **value != old)
            .cloned()
            .collect();
        headers.remove(COOKIE);
        for value in keep {
            headers.append(COOKIE, value);
        }
    }
    *added = jar.add_request_cookies(uri, headers);
}

/// Whether a transport error is a refused server certificate: rustls's
/// error sits in an `io::Error` somewhere in the chain.
fn is_certificate_error(error: &(dyn std::error::Error + 'static)) -> bool {
    #[cfg(feature = "rustls")]
    {
        let mut next = Some(error);
        while let Some(error) = next {
            if let Some(io) = error.downcast_ref::<std::io::Error>() {
                if let Some(inner) = io.get_ref() {
                    if is_certificate_error(inner) {
                        return true;
                    }
                }
            }
            if let Some(tls) = error.downcast_ref::<rustls::Error>() {
                return matches!(
                    tls,
                    rustls::Error::InvalidCertificate(_)
                        | rustls::Error::NoCertificatesPresented
                        | rustls::Error::AlertReceived(rustls::AlertDescription::BadCertificate)
                );
            }
            next = error.source();
        }
    }
    #[cfg(not(feature = "rustls"))]
    let _ = error;
    false
}

/// The headers every request carries.
fn set_headers(headers: &mut HeaderMap, last_event_id: &str) {
    // "User agents may set (`Accept`, `text/event-stream`) in request's
    // header list." and "Set request's cache mode to `no-store`."
    headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // "If the EventSource object's last event ID string is not the empty
    // string, [...] set (`Last-Event-ID`, lastEventIDValue)."
    headers.remove("last-event-id");
    if !last_event_id.is_empty() {
        // "Let lastEventIDValue be the EventSource object's last event ID
        // string, encoded as UTF-8." `from_str` refuses non-ASCII since
        // http 1.6; the bytes are what the spec sends.
        match HeaderValue::from_bytes(last_event_id.as_bytes()) {
            Ok(value) => {
                headers.insert("last-event-id", value);
            }
            // The codec never yields NUL, CR or LF; other control bytes
            // cannot be sent in a header at all.
            Err(_) => tracing::warn!("last event ID is not a valid header value; not sent"),
        }
    }
}

async fn classify(config: &Config, response: Response<Incoming>, target: Target) -> Outcome {
    let status = response.status();
    // "if res's status is not 200, or if res's `Content-Type` is not
    // `text/event-stream`, then fail the connection."
    if status == StatusCode::OK {
        if is_event_stream(response.headers()) {
            return Outcome::Open(Box::new((response, target)));
        }
        return Outcome::Fail(refused(Kind::ContentType, response).await);
    }
    // A 204 is such a status: the connection fails (an error item, CLOSED,
    // no reconnection), with its own kind so it can be told apart.
    if status == StatusCode::NO_CONTENT {
        return Outcome::Fail(refused(Kind::NoContent, response).await);
    }
    let retry = config.policy.retries_status(status);
    let retry_after = if retry {
        config.policy.retry_after(response.headers())
    } else {
        None
    };
    let error = refused(Kind::Status, response).await;
    if retry {
        Outcome::Retry(error, retry_after)
    } else {
        Outcome::Fail(error)
    }
}

/// `text/event-stream`, with any parameters (`; charset=utf-8`), any case.
pub(crate) fn is_event_stream(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).is_some_and(|value| {
        let essence = value
            .as_bytes()
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default();
        essence
            .trim_ascii()
            .eq_ignore_ascii_case(b"text/event-stream")
    })
}

/// An error carrying the response's status, headers and first body bytes.
async fn refused(kind: Kind, response: Response<Incoming>) -> Error {
    let (parts, body) = response.into_parts();
    let head = tokio::time::timeout(BODY_HEAD_TIMEOUT, body_head(body))
        .await
        .unwrap_or_default();
    Error::new(kind).with_response(parts.status, parts.headers, head)
}

async fn body_head(mut body: Incoming) -> Bytes {
    let mut head = BytesMut::new();
    while head.len() < BODY_HEAD_LEN {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    let take = data.len().min(BODY_HEAD_LEN - head.len());
                    head.extend_from_slice(&data[..take]);
                }
            }
            _ => break,
        }
    }
    head.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let table = [
            ("text/event-stream", true),
            ("text/event-stream; charset=utf-8", true),
            ("Text/Event-Stream;charset=UTF-8", true),
            (" text/event-stream ", true),
            ("text/event-streams", false),
            ("text/plain", false),
            ("application/json", false),
            ("", false),
        ];
        for (value, expected) in table {
            let mut h = HeaderMap::new();
            h.insert(CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
            assert_eq!(is_event_stream(&h), expected, "{value:?}");
        }
        assert!(!is_event_stream(&HeaderMap::new()));
    }

    #[test]
    fn request_headers() {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, HeaderValue::from_static("application/json"));
        h.insert("last-event-id", HeaderValue::from_static("stale"));
        set_headers(&mut h, "");
        assert_eq!(h[ACCEPT], "text/event-stream");
        assert_eq!(h[CACHE_CONTROL], "no-cache");
        assert!(!h.contains_key("last-event-id"));
        set_headers(&mut h, "7");
        assert_eq!(h["last-event-id"], "7");
        set_headers(&mut h, "bad\u{1}id");
        assert!(!h.contains_key("last-event-id"));
        // Non-ASCII: its UTF-8 bytes.
        set_headers(&mut h, "a\u{2026}");
        assert_eq!(h["last-event-id"].as_bytes(), "a\u{2026}".as_bytes());
    }
}
