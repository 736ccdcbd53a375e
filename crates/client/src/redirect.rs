//! Following redirects: which statuses, where to, with which method.

use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, PROXY_AUTHORIZATION};
use http::{HeaderMap, Method, StatusCode, Uri};

/// Default for [`Builder::max_redirects`](crate::Builder::max_redirects): 10.
pub const DEFAULT_MAX_REDIRECTS: usize = 10;

/// 301, 302, 303, 307 and 308 are followed; others are answers.
pub(crate) fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// The request to send after a redirect.
#[derive(Debug)]
pub(crate) struct Hop {
    pub(crate) uri: Uri,
    pub(crate) method: Method,
    /// The body is dropped (303 to GET).
    pub(crate) drop_body: bool,
}

/// Where a redirect with this `Location` leads from `base`, or `None` when
/// the location is missing, empty or not a URI reference.
pub(crate) fn next_hop(
    status: StatusCode,
    method: &Method,
    base: &Uri,
    location: Option<&[u8]>,
) -> Option<Hop> {
    let location = location.filter(|l| !l.iter().all(u8::is_ascii_whitespace))?;
    // A raw UTF-8 `Location` is what servers send for non-ASCII paths.
    let location = std::str::from_utf8(location).ok()?.trim();
    let uri = resolve(base, location)?;
    // 303 See Other: "a user agent can perform a retrieval request targeting
    // that URI (a GET or HEAD request if using HTTP)". 301/302/307/308 keep
    // the method and body: an SSE POST (an LLM request) must stay a POST.
    let to_get = status == StatusCode::SEE_OTHER && *method != Method::HEAD;
    Some(Hop {
        uri,
        method: if to_get { Method::GET } else { method.clone() },
        drop_body: to_get,
    })
}

/// Headers not to carry to another origin, and body headers after a 303.
///
/// `Authorization` and `Cookie` never follow a redirect to another origin
/// (CVE-2022-1650 was exactly this); the cookie store adds the new
/// origin's own cookies afterwards.
pub(crate) fn adjust_headers(headers: &mut HeaderMap, from: &Uri, to: &Uri, drop_body: bool) {
    if !same_origin(from, to) {
        for name in [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE] {
            headers.remove(name);
        }
    }
    if drop_body {
        headers.remove(CONTENT_TYPE);
        headers.remove(CONTENT_LENGTH);
    }
}

/// Resolves a `Location` against the request's URL as a browser does
/// (the `url` crate: the WHATWG URL parser), so a non-ASCII location is
/// percent-encoded and dot segments are removed. Only `http` and `https`
/// results are followed; a fragment is dropped (it is never sent).
fn resolve(base: &Uri, reference: &str) -> Option<Uri> {
    let base = url::Url::parse(&base.to_string()).ok()?;
    let mut url = base.join(reference).ok()?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return None;
    }
    url.set_fragment(None);
    url.as_str().parse().ok()
}

/// Same scheme, host and port.
pub(crate) fn same_origin(a: &Uri, b: &Uri) -> bool {
    a.scheme() == b.scheme()
        && a.host().map(str::to_ascii_lowercase) == b.host().map(str::to_ascii_lowercase)
        && a.port_u16().or_else(|| default_port(a)) == b.port_u16().or_else(|| default_port(b))
}

fn default_port(uri: &Uri) -> Option<u16> {
    match uri.scheme_str() {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(base: &str, reference: &str) -> Option<String> {
        resolve(&base.parse().unwrap(), reference).map(|u| u.to_string())
    }

    #[test]
    fn resolves_references() {
        let base = "http://a.test/b/c/d?q";
        let table = [
            ("https://x.test/y", Some("https://x.test/y")),
            ("//x.test:8080/y?z", Some("http://x.test:8080/y?z")),
            ("/g", Some("http://a.test/g")),
            ("g", Some("http://a.test/b/c/g")),
            ("./g", Some("http://a.test/b/c/g")),
            ("../g", Some("http://a.test/b/g")),
            ("../../../g", Some("http://a.test/g")),
            ("g/", Some("http://a.test/b/c/g/")),
            ("..", Some("http://a.test/b/")),
            ("?y", Some("http://a.test/b/c/d?y")),
            ("g?y#frag", Some("http://a.test/b/c/g?y")),
            ("", Some("http://a.test/b/c/d?q")),
            // As a browser: spaces and non-ASCII are percent-encoded.
            ("a b", Some("http://a.test/b/c/a%20b")),
            (
                "/caf\u{e9}/\u{2026}",
                Some("http://a.test/caf%C3%A9/%E2%80%A6"),
            ),
            ("/x/./y/../z", Some("http://a.test/x/z")),
            ("/%2e%2E/z", Some("http://a.test/z")),
            ("mailto:x@y", None),
            ("ftp://x.test/", None),
        ];
        for (reference, expected) in table {
            assert_eq!(r(base, reference).as_deref(), expected, "{reference:?}");
        }
        assert_eq!(r("http://a.test", "g").as_deref(), Some("http://a.test/g"));
    }

    #[test]
    fn hops() {
        let base: Uri = "http://a.test/s".parse().unwrap();
        let hop = next_hop(StatusCode::SEE_OTHER, &Method::POST, &base, Some(b"/t")).unwrap();
        assert_eq!((hop.method, hop.drop_body), (Method::GET, true));
        for code in [301, 302, 307, 308] {
            let status = StatusCode::from_u16(code).unwrap();
            let hop = next_hop(status, &Method::POST, &base, Some(b"/t")).unwrap();
            assert_eq!((hop.method, hop.drop_body), (Method::POST, false));
            assert_eq!(hop.uri, "http://a.test/t");
        }
        assert!(next_hop(StatusCode::FOUND, &Method::GET, &base, None).is_none());
        assert!(next_hop(StatusCode::FOUND, &Method::GET, &base, Some(b"")).is_none());
        assert!(next_hop(StatusCode::FOUND, &Method::GET, &base, Some(b"\xff")).is_none());
        assert!(
            is_redirect(StatusCode::PERMANENT_REDIRECT) && !is_redirect(StatusCode::NOT_MODIFIED)
        );
    }

    #[test]
    fn origins() {
        let same = [
            ("http://a.test/x", "http://a.test:80/y"),
            ("https://A.test/", "https://a.test:443/"),
        ];
        for (a, b) in same {
            assert!(
                same_origin(&a.parse().unwrap(), &b.parse().unwrap()),
                "{a} {b}"
            );
        }
        let different = [
            ("http://a.test/", "https://a.test/"),
            ("http://a.test/", "http://a.test:8080/"),
            ("http://a.test/", "http://b.a.test/"),
        ];
        for (a, b) in different {
            assert!(
                !same_origin(&a.parse().unwrap(), &b.parse().unwrap()),
                "{a} {b}"
            );
        }
    }

    #[test]
    fn credentials_stay_on_their_origin() {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, "Bearer x".parse().unwrap());
        h.insert(CONTENT_TYPE, "application/json".parse().unwrap());
        let a: Uri = "http://a.test/".parse().unwrap();
        let a2: Uri = "http://a.test/other".parse().unwrap();
        let b: Uri = "http://b.test/".parse().unwrap();
        adjust_headers(&mut h, &a, &a2, false);
        assert!(h.contains_key(AUTHORIZATION) && h.contains_key(CONTENT_TYPE));
        adjust_headers(&mut h, &a, &b, true);
        assert!(!h.contains_key(AUTHORIZATION) && !h.contains_key(CONTENT_TYPE));
    }
}
