//! `LastEventId`: where a reconnecting client says it left off.

use std::fmt;

use bourn_codec::ByteString;
use http::header::HeaderMap;
use http::{Request, Uri};

/// The id of the last event a client received, from its `Last-Event-ID`
/// request header or, for pages that reconnect with a new URL (a new
/// `EventSource` after a page load), from a query parameter.
///
/// > When the user agent is to reestablish the connection, ... if the
/// > EventSource object's last event ID string is not the empty string, set
/// > `Last-Event-ID` to the last event ID string, encoded as UTF-8.
///
/// Invalid values are ignored (the result is `None`), never an error or a
/// panic: an empty value, one that is not UTF-8 (after percent-decoding, for
/// the query), one holding CR, LF or NUL (which no event id can hold), or one
/// longer than [`LastEventId::MAX_LEN`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LastEventId(ByteString);

impl LastEventId {
    /// The request header a browser sends on reconnection.
    pub const HEADER: &'static str = "last-event-id";

    /// The default query parameter: `lastEventId`.
    pub const DEFAULT_QUERY_PARAM: &'static str = "lastEventId";

    /// The longest accepted value, in bytes. Default (and only): 1 KiB.
    pub const MAX_LEN: usize = 1024;

    /// A valid id, or `None` (see the type's docs for what is invalid).
    pub fn new(value: impl Into<ByteString>) -> Option<LastEventId> {
        let value = value.into();
        let valid = !value.is_empty()
            && value.len() <= LastEventId::MAX_LEN
            && !value.bytes().any(|b| matches!(b, b'\r' | b'\n' | b'\0'));
        valid.then_some(LastEventId(value))
    }

    /// From the `Last-Event-ID` header (the first one, if repeated).
    pub fn from_headers(headers: &HeaderMap) -> Option<LastEventId> {
        let value = headers.get(LastEventId::HEADER)?;
        let text = std::str::from_utf8(value.as_bytes()).ok()?;
        LastEventId::new(text.to_owned())
    }

    /// From the query parameter `param` of `uri` (percent-decoded; `+` is a
    /// space, as in form encoding). The first occurrence counts.
    pub fn from_query(uri: &Uri, param: &str) -> Option<LastEventId> {
        let query = uri.query()?;
        let raw = query.split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name.as_bytes())? == param.as_bytes()).then_some(value)
        })?;
        let value = String::from_utf8(percent_decode(raw.as_bytes())?).ok()?;
        LastEventId::new(value)
    }

    /// From a request: the header first (a browser's own reconnection sends
    /// the newest id there), then the query parameter `query_param`, if one
    /// is given (usually [`DEFAULT_QUERY_PARAM`](LastEventId::DEFAULT_QUERY_PARAM)).
    pub fn from_request<B>(request: &Request<B>, query_param: Option<&str>) -> Option<LastEventId> {
        LastEventId::from_parts(request.headers(), request.uri(), query_param)
    }

    /// [`from_request`](LastEventId::from_request) from the request's
    /// headers and URI.
    pub fn from_parts(
        headers: &HeaderMap,
        uri: &Uri,
        query_param: Option<&str>,
    ) -> Option<LastEventId> {
        LastEventId::from_headers(headers)
            .or_else(|| query_param.and_then(|param| LastEventId::from_query(uri, param)))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The `Last-Event-ID` that resumes after `id`: a channel subscribed with
/// it replays the events after `id` (with `seq` 0: the topic from its first
/// event).
impl From<crate::EventId> for LastEventId {
    fn from(id: crate::EventId) -> LastEventId {
        // "hex.decimal": never empty, never longer than 41 bytes, no line
        // break or NUL.
        LastEventId(ByteString::from(id.to_string()))
    }
}

impl fmt::Debug for LastEventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LastEventId").field(&self.as_str()).finish()
    }
}

impl fmt::Display for LastEventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Decodes `%XX` escapes and `+`; `None` on a malformed escape.
fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.iter();
    while let Some(&byte) = bytes.next() {
        out.push(match byte {
            b'+' => b' ',
            b'%' => {
                let hi = hex(*bytes.next()?)?;
                let lo = hex(*bytes.next()?)?;
                hi << 4 | lo
            }
            other => other,
        });
    }
    Some(out)
}

fn hex(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn header_values() {
        let long = "x".repeat(LastEventId::MAX_LEN + 1);
        let cases: [(&[u8], Option<&str>); 6] = [
            (b"abc.12", Some("abc.12")),
            (b"", None),
            (b"\xff\xfe", None),
            (b"a\tb", Some("a\tb")),
            (long.as_bytes(), None),
            ("é".as_bytes(), Some("é")),
        ];
        for (value, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert("Last-Event-ID", HeaderValue::from_bytes(value).unwrap());
            let got = LastEventId::from_headers(&headers);
            assert_eq!(got.as_ref().map(LastEventId::as_str), expected, "{value:?}");
        }
        assert_eq!(LastEventId::from_headers(&HeaderMap::new()), None);
        assert_eq!(LastEventId::new("a\nb"), None);
        assert_eq!(LastEventId::new("a\0b"), None);
    }

    #[test]
    fn query_values() {
        let cases = [
            ("/e?lastEventId=ab.3", "lastEventId", Some("ab.3")),
            (
                "/e?x=1&lastEventId=a%2Eb+c&lastEventId=z",
                "lastEventId",
                Some("a.b c"),
            ),
            ("/e?since=7", "since", Some("7")),
            ("/e?lastEventId=", "lastEventId", None),
            ("/e?lastEventId=%zz", "lastEventId", None),
            ("/e?lastEventId=%ff", "lastEventId", None),
            ("/e?lastEventId=%0a", "lastEventId", None),
            ("/e?lastEventId=%4", "lastEventId", None),
            ("/e", "lastEventId", None),
            ("/e?lastEventIdX=1", "lastEventId", None),
        ];
        for (uri, param, expected) in cases {
            let uri: Uri = uri.parse().unwrap();
            let got = LastEventId::from_query(&uri, param);
            assert_eq!(got.as_ref().map(LastEventId::as_str), expected, "{uri}");
        }
    }

    #[test]
    fn header_wins_over_query() {
        let request = Request::builder()
            .uri("/e?lastEventId=old")
            .header("last-event-id", "new")
            .body(())
            .unwrap();
        let id = LastEventId::from_request(&request, Some(LastEventId::DEFAULT_QUERY_PARAM));
        assert_eq!(id.unwrap().as_str(), "new");
        let request = Request::builder()
            .uri("/e?lastEventId=old")
            .body(())
            .unwrap();
        assert_eq!(LastEventId::from_request(&request, None), None);
        let id = LastEventId::from_request(&request, Some("lastEventId"));
        assert_eq!(id.unwrap().to_string(), "old");
    }
}
