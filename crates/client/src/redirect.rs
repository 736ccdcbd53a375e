//! Following redirects: which statuses, where to, with which method.

use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, PROXY_AUTHORIZATION};
use http::uri::{Authority, PathAndQuery, Scheme};
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
pub(crate) fn adjust_headers(headers: &mut HeaderMap, from: &Uri, to: &Uri, drop_body: bool) {
    if from.scheme() != to.scheme() || from.authority() != to.authority() {
        for name in [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE] {
            headers.remove(name);
        }
    }
    if drop_body {
        headers.remove(CONTENT_TYPE);
        headers.remove(CONTENT_LENGTH);
    }
}

/// Resolves a URI reference against an absolute `base` (RFC 3986 §5.2).
fn resolve(base: &Uri, reference: &str) -> Option<Uri> {
    if reference.is_empty()
        || reference
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return None;
    }
    // Drop a fragment: it is never sent.
    let reference = reference.split('#').next().unwrap_or_default();
    let has_scheme = reference.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            && !scheme.contains('/')
    });
    if has_scheme {
        let uri: Uri = reference.parse().ok()?;
        return (uri.scheme().is_some() && uri.authority().is_some()).then_some(uri);
    }
    let scheme = base.scheme()?.clone();
    if let Some(rest) = reference.strip_prefix("//") {
        let uri: Uri = format!("{scheme}://{rest}").parse().ok()?;
        return uri.authority().is_some().then_some(uri);
    }
    let authority = base.authority()?.clone();
    let base_path = base.path();
    let (path, query) = match reference.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (reference, None),
    };
    let merged = if path.is_empty() {
        // "?q" keeps the base path; "" alone was refused above.
        base_path.to_owned()
    } else if path.starts_with('/') {
        remove_dot_segments(path)
    } else {
        let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
        let dir = if dir.is_empty() { "/" } else { dir };
        remove_dot_segments(&format!("{dir}{path}"))
    };
    let path_and_query = match query {
        Some(q) => format!("{merged}?{q}"),
        None => merged,
    };
    build(scheme, authority, &path_and_query)
}

fn build(scheme: Scheme, authority: Authority, path_and_query: &str) -> Option<Uri> {
    let pq: PathAndQuery = path_and_query.parse().ok()?;
    Uri::builder()
        .scheme(scheme)
        .authority(authority)
        .path_and_query(pq)
        .build()
        .ok()
}

/// RFC 3986 §5.2.4, over '/'-separated segments.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
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
            ("", None),
            ("   ", None),
            ("a b", None),
            ("mailto:x@y", None),
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
