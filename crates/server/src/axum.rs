//! axum integration: `IntoResponse` for `Sse`, an extractor for `LastEventId`.
//!
//! Written against `axum-core`, whose traits axum re-exports: an axum app
//! uses them as its own, and the feature brings no router or server.

use std::convert::Infallible;

use axum_core::extract::OptionalFromRequestParts;
use axum_core::response::IntoResponse;
use futures_core::Stream;
use http::request::Parts;

use crate::encoded::IntoEncoded;
use crate::last_event_id::LastEventId;
use crate::sse::Sse;

impl<S> IntoResponse for Sse<S>
where
    S: Stream + Send + 'static,
    S::Item: IntoEncoded,
{
    /// [`Sse::into_http_response`] with axum's body type.
    fn into_response(self) -> axum_core::response::Response {
        Sse::into_http_response(self).map(axum_core::body::Body::new)
    }
}

/// Which query parameter the `Option<LastEventId>` extractor reads when the
/// `Last-Event-ID` header is absent. Install it as a request extension
/// (`.layer(axum::Extension(LastEventIdParam::new("since")))`); without it
/// the extractor reads [`LastEventId::DEFAULT_QUERY_PARAM`] (`lastEventId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastEventIdParam(Option<&'static str>);

impl LastEventIdParam {
    /// Read `param` from the query.
    pub fn new(param: &'static str) -> LastEventIdParam {
        LastEventIdParam(Some(param))
    }

    /// Read the header only.
    pub fn none() -> LastEventIdParam {
        LastEventIdParam(None)
    }
}

/// `Option<LastEventId>` as an axum extractor: the `Last-Event-ID` header,
/// else the query parameter (see [`LastEventIdParam`]). Never rejects:
/// invalid values are `None`.
impl<S: Send + Sync> OptionalFromRequestParts<S> for LastEventId {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<LastEventId>, Infallible> {
        let param = match parts.extensions.get::<LastEventIdParam>() {
            Some(LastEventIdParam(param)) => *param,
            None => Some(LastEventId::DEFAULT_QUERY_PARAM),
        };
        Ok(LastEventId::from_parts(&parts.headers, &parts.uri, param))
    }
}

#[cfg(test)]
mod tests {
    use bourn_codec::Event;
    use futures_util::stream;
    use http::Request;

    use super::*;

    #[tokio::test]
    async fn extractor_reads_header_then_configured_query() {
        let cases = [
            ("/?lastEventId=q", None, None, Some("q")),
            ("/?lastEventId=q", Some("h"), None, Some("h")),
            (
                "/?since=s",
                None,
                Some(LastEventIdParam::new("since")),
                Some("s"),
            ),
            (
                "/?lastEventId=q",
                None,
                Some(LastEventIdParam::none()),
                None,
            ),
        ];
        for (uri, header, param, expected) in cases {
            let mut request = Request::builder().uri(uri);
            if let Some(header) = header {
                request = request.header("last-event-id", header);
            }
            let (mut parts, ()) = request.body(()).unwrap().into_parts();
            if let Some(param) = param {
                parts.extensions.insert(param);
            }
            let got =
                <LastEventId as OptionalFromRequestParts<()>>::from_request_parts(&mut parts, &())
                    .await
                    .unwrap();
            assert_eq!(got.as_ref().map(LastEventId::as_str), expected, "{uri}");
        }
    }

    #[test]
    fn into_response_keeps_the_headers() {
        let sse = Sse::new(stream::empty::<Event>());
        let response = IntoResponse::into_response(sse);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert_eq!(response.headers()["x-accel-buffering"], "no");
    }
}
