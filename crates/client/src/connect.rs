//! One connection attempt: request, redirects, and what the response means.

use std::sync::Arc;
use std::time::Duration;

use bourn_codec::ByteString;
use bytes::{Bytes, BytesMut};
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HeaderValue, LOCATION};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use crate::config::{BODY_HEAD_LEN, BODY_HEAD_TIMEOUT, Config};
use crate::error::{Error, Kind};
use crate::redirect;

/// What an attempt came to.
pub(crate) enum Outcome {
    /// `200` with `text/event-stream`: announce the connection.
    Open(Response<Incoming>),
    /// `204`: the server asks the client to stop; closed for good.
    NoContent,
    /// A failure worth another attempt, after the wait the server asked
    /// for (`Retry-After`), if any.
    Retry(Error, Option<Duration>),
    /// A failure that ends the source.
    Fail(Error),
}

/// Connects and classifies the response, within the connect timeout.
pub(crate) async fn attempt(config: Arc<Config>, last_event_id: ByteString) -> Outcome {
    let Some(timeout) = config.connect_timeout else {
        return follow(&config, &last_event_id).await;
    };
    match tokio::time::timeout(timeout, follow(&config, &last_event_id)).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Retry(Error::new(Kind::ConnectTimeout), None),
    }
}

async fn follow(config: &Config, last_event_id: &str) -> Outcome {
    let mut uri = config.uri.clone();
    let mut method = config.method.clone();
    let mut headers = config.headers.clone();
    let mut body = config.body.clone();
    set_headers(&mut headers, last_event_id);
    let mut redirects = 0;
    loop {
        let mut request = Request::new(Full::new(body.clone()));
        *request.method_mut() = method.clone();
        *request.uri_mut() = uri.clone();
        *request.headers_mut() = headers.clone();
        let response = match config.transport.0.send(request).await {
            Ok(response) => response,
            Err(e) => return Outcome::Retry(Error::new(Kind::Connect).with_source(e), None),
        };
        let status = response.status();
        if redirect::is_redirect(status) {
            if redirects == config.max_redirects {
                return Outcome::Fail(refused(Kind::TooManyRedirects, response).await);
            }
            let location = response.headers().get(LOCATION).map(HeaderValue::as_bytes);
            let Some(hop) = redirect::next_hop(status, &method, &uri, location) else {
                return Outcome::Fail(refused(Kind::BadLocation, response).await);
            };
            redirect::adjust_headers(&mut headers, &uri, &hop.uri, hop.drop_body);
            if hop.drop_body {
                body = Bytes::new();
            }
            uri = hop.uri;
            method = hop.method;
            redirects += 1;
            continue;
        }
        return classify(config, response).await;
    }
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
        match HeaderValue::from_str(last_event_id) {
            Ok(value) => {
                headers.insert("last-event-id", value);
            }
            // The codec never yields NUL, CR or LF; other control bytes
            // cannot be sent in a header at all.
            Err(_) => tracing::warn!("last event ID is not a valid header value; not sent"),
        }
    }
}

async fn classify(config: &Config, response: Response<Incoming>) -> Outcome {
    let status = response.status();
    // "if res's status is not 200, or if res's `Content-Type` is not
    // `text/event-stream`, then fail the connection."
    if status == StatusCode::OK {
        if is_event_stream(response.headers()) {
            return Outcome::Open(response);
        }
        return Outcome::Fail(refused(Kind::ContentType, response).await);
    }
    if status == StatusCode::NO_CONTENT {
        return Outcome::NoContent;
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
    }
}
