//! Who may talk to the hub from a browser: cross-site publishes (CSRF),
//! DNS rebinding, and event types a publisher may not send.

use std::net::{IpAddr, SocketAddr};

use bourn_server::RESET_EVENT;
use http::HeaderMap;
use http::header::{HOST, ORIGIN};

/// Why a browser context may not publish: `None` when the request is not
/// from a browser (no `Origin`, no `Sec-Fetch-Site`: curl, `bourn publish`),
/// comes from the hub's own page, or from an allowed origin
/// (`--cors-origin`).
///
/// Any web page can send a "simple" cross-origin POST (`fetch(url, {mode:
/// 'no-cors'})` with a text body) without a preflight; the browser then
/// sends `Origin` (and `Sec-Fetch-Site: cross-site`), which is what this
/// reads.
pub fn cross_site_publish(headers: &HeaderMap, allowed: &[String]) -> Option<String> {
    let origin = headers
        .get(ORIGIN)
        .map(|value| value.to_str().unwrap_or(""));
    let site = headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok());
    match origin {
        Some(origin) => {
            if allowed
                .iter()
                .any(|allowed| allowed == "*" || allowed == origin)
                || same_origin(origin, headers)
            {
                None
            } else {
                Some(format!(
                    "cross-origin publishing from {origin:?} is refused: allow that origin with --cors-origin"
                ))
            }
        }
        None => match site {
            Some("cross-site" | "same-site") => Some(
                "cross-site publishing from a browser is refused (Sec-Fetch-Site without Origin)"
                    .to_owned(),
            ),
            _ => None,
        },
    }
}

/// Whether `origin` (`scheme://host[:port]`) is the host the request was
/// sent to (the hub's own page).
fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(HOST).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    authority.is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

/// Whether a request to a hub bound on `bind` may carry this `Host`: on a
/// loopback bind, only loopback names and addresses (`localhost`,
/// `*.localhost`, `127.0.0.0/8`, `[::1]`) or a host in `allowed`, so that a
/// DNS-rebound name of an attacker's page cannot reach it. Any host on other
/// binds (or any host at all with `*` in `allowed`).
pub fn host_allowed(bind: SocketAddr, headers: &HeaderMap, allowed: &[String]) -> bool {
    if !bind.ip().is_loopback() || allowed.iter().any(|host| host == "*") {
        return true;
    }
    let Some(host) = headers.get(HOST).and_then(|value| value.to_str().ok()) else {
        // HTTP/1.0 without Host, or HTTP/2 with :authority only: hyper puts
        // the authority in the URI; no header is not a foreign name.
        return true;
    };
    let name = strip_port(host);
    if allowed
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(name))
    {
        return true;
    }
    let name = name.to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `host` without its `:port` (IPv6 literals keep their brackets).
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Why an event type may not be published: the hub's own reset event, or
/// text that is not what the publisher meant (an unreadable header, a
/// replacement character from invalid UTF-8).
pub fn refused_event_type(event_type: &str) -> Option<String> {
    if event_type == RESET_EVENT {
        return Some(format!(
            "the event type {RESET_EVENT} is reserved for the hub's reset events"
        ));
    }
    if event_type.contains('\u{FFFD}') {
        return Some(
            "the event type is not valid UTF-8 (or holds U+FFFD): send it percent-encoded UTF-8"
                .to_owned(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn cross_site_publishes() {
        let allowed = vec!["https://app.example".to_owned()];
        let cases: [(&[(&str, &str)], bool); 8] = [
            (&[], true),
            (&[("host", "127.0.0.1:8080")], true),
            (
                &[
                    ("host", "127.0.0.1:8080"),
                    ("origin", "http://127.0.0.1:8080"),
                ],
                true,
            ),
            (
                &[
                    ("host", "localhost:8080"),
                    ("origin", "http://evil.example"),
                ],
                false,
            ),
            (&[("host", "localhost:8080"), ("origin", "null")], false),
            (
                &[
                    ("host", "localhost:8080"),
                    ("origin", "https://app.example"),
                ],
                true,
            ),
            (
                &[("host", "localhost:8080"), ("sec-fetch-site", "cross-site")],
                false,
            ),
            (
                &[
                    ("host", "localhost:8080"),
                    ("sec-fetch-site", "same-origin"),
                ],
                true,
            ),
        ];
        for (pairs, ok) in cases {
            assert_eq!(
                cross_site_publish(&headers(pairs), &allowed).is_none(),
                ok,
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn hosts_on_a_loopback_bind() {
        let loopback: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let public: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let allowed = vec!["hub.internal".to_owned()];
        let cases = [
            ("127.0.0.1:8080", true),
            ("localhost:8080", true),
            ("app.localhost", true),
            ("[::1]:8080", true),
            ("127.1.2.3", true),
            ("hub.internal:8080", true),
            ("evil.example:8080", false),
            ("192.168.1.5:8080", false),
        ];
        for (host, ok) in cases {
            let map = headers(&[("host", host)]);
            assert_eq!(host_allowed(loopback, &map, &allowed), ok, "{host}");
            assert!(host_allowed(public, &map, &[]), "{host} on a public bind");
        }
        assert!(host_allowed(loopback, &HeaderMap::new(), &[]));
    }

    #[test]
    fn reserved_and_mangled_event_types() {
        assert!(refused_event_type("bourn-reset").is_some());
        assert!(refused_event_type("bad\u{FFFD}").is_some());
        assert!(refused_event_type("price").is_none());
    }
}
