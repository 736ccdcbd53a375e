//! The opt-in cookie store (the `cookies` feature): cookies the server sets
//! are sent again on later requests to the URLs they match, reconnections
//! included.

use http::HeaderMap;
use http::Uri;
#[cfg(feature = "cookies")]
use http::header::{COOKIE, HeaderValue, SET_COOKIE};

/// One source's cookies, shared by its attempts.
#[derive(Debug, Default)]
pub(crate) struct Jar {
    #[cfg(feature = "cookies")]
    store: std::sync::Mutex<cookie_store::CookieStore>,
}

impl Jar {
    /// Adds a `Cookie` line with the stored cookies matching `uri` (after
    /// any the caller set) and returns it; nothing when none match.
    #[cfg_attr(not(feature = "cookies"), allow(unused_variables))]
    pub(crate) fn add_request_cookies(
        &self,
        uri: &Uri,
        headers: &mut HeaderMap,
    ) -> Option<http::HeaderValue> {
        #[cfg(feature = "cookies")]
        {
            let url = to_url(uri)?;
            let store = self
                .store
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let pairs: Vec<String> = store
                .get_request_values(&url)
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            if pairs.is_empty() {
                return None;
            }
            let value = HeaderValue::from_str(&pairs.join("; ")).ok()?;
            headers.append(COOKIE, value.clone());
            Some(value)
        }
        #[cfg(not(feature = "cookies"))]
        None
    }

    /// Stores the `Set-Cookie` headers of a response to `uri`.
    #[cfg_attr(not(feature = "cookies"), allow(unused_variables))]
    pub(crate) fn store_response_cookies(&self, uri: &Uri, headers: &HeaderMap) {
        #[cfg(feature = "cookies")]
        {
            let Some(url) = to_url(uri) else { return };
            let mut store = self
                .store
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for value in headers.get_all(SET_COOKIE) {
                if let Ok(text) = value.to_str() {
                    // A cookie the store refuses (bad domain, ...) is skipped, as browsers do.
                    let _ = store.parse(text, &url);
                }
            }
        }
    }
}

#[cfg(feature = "cookies")]
fn to_url(uri: &Uri) -> Option<url::Url> {
    url::Url::parse(&uri.to_string()).ok()
}

#[cfg(all(test, feature = "cookies"))]
mod tests {
    use super::*;

    #[test]
    fn stores_and_matches_by_host_and_path() {
        let jar = Jar::default();
        let a: Uri = "http://a.test/api/stream".parse().unwrap();
        let mut response = HeaderMap::new();
        response.append(SET_COOKIE, HeaderValue::from_static("s=1; Path=/api"));
        response.append(SET_COOKIE, HeaderValue::from_static("t=2; Path=/"));
        // Refused: a domain the response's host cannot set.
        response.append(SET_COOKIE, HeaderValue::from_static("u=3; Domain=b.test"));
        jar.store_response_cookies(&a, &response);

        let mut h = HeaderMap::new();
        let added = jar.add_request_cookies(&a, &mut h).unwrap();
        let text = added.to_str().unwrap();
        assert!(text.contains("s=1") && text.contains("t=2") && !text.contains("u=3"));
        assert_eq!(h.get_all(COOKIE).iter().count(), 1);

        let other_path: Uri = "http://a.test/other".parse().unwrap();
        let mut h = HeaderMap::new();
        let text = jar.add_request_cookies(&other_path, &mut h).unwrap();
        assert_eq!(text, "t=2");

        let other_host: Uri = "http://b.test/api/stream".parse().unwrap();
        assert!(
            jar.add_request_cookies(&other_host, &mut HeaderMap::new())
                .is_none()
        );
    }
}
