//! Bearer tokens, compared in constant time.

use http::HeaderMap;
use http::header::AUTHORIZATION;
use subtle::ConstantTimeEq;

/// Why a request was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No token was sent: 401.
    Missing,
    /// A token was sent and is not the right one: 403.
    Wrong,
}

/// Checks `expected` (if any) against the `Authorization: Bearer` header or,
/// when `query_token` is given (subscribers: a browser's EventSource cannot
/// send headers), the `token` query parameter.
pub fn check(
    expected: Option<&str>,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<(), Denied> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let presented = bearer(headers).or(query_token).ok_or(Denied::Missing)?;
    // `ct_eq` compares every byte whatever the first difference; only the
    // length can show through, and it says nothing about the content.
    if bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(Denied::Wrong)
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme
/// case-insensitive, as RFC 9110 says).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let header = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, value.parse().unwrap());
            headers
        };
        let none = HeaderMap::new();
        let cases = [
            (None, none.clone(), None, Ok(())),
            (Some("s3"), none.clone(), None, Err(Denied::Missing)),
            (Some("s3"), header("Bearer s3"), None, Ok(())),
            (Some("s3"), header("bearer  s3 "), None, Ok(())),
            (Some("s3"), header("Bearer s4"), None, Err(Denied::Wrong)),
            (Some("s3"), header("Bearer s33"), None, Err(Denied::Wrong)),
            (Some("s3"), header("Basic s3"), None, Err(Denied::Missing)),
            (Some("s3"), none.clone(), Some("s3"), Ok(())),
            (Some("s3"), none, Some("x"), Err(Denied::Wrong)),
            (Some("s3"), header("Bearer s3"), Some("x"), Ok(())),
        ];
        for (expected, headers, query, result) in cases {
            assert_eq!(
                check(expected, &headers, query),
                result,
                "{expected:?} {headers:?} {query:?}"
            );
        }
    }
}
