//! When to reconnect, and after how long.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};
use rand::Rng;

/// Default for [`RetryPolicy::reconnect_time`]: 3 s, as browsers use.
pub const DEFAULT_RECONNECT_TIME: Duration = Duration::from_secs(3);
/// Default for [`RetryPolicy::min_backoff`]: 100 ms.
pub const DEFAULT_MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Default for [`RetryPolicy::max_delay`]: 30 s.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(30);
/// Default for [`RetryPolicy::reset_threshold`]: 60 s (LaunchDarkly's
/// clients call it `retryDelayResetThreshold`, with the same default).
pub const DEFAULT_RESET_THRESHOLD: Duration = Duration::from_secs(60);

/// How an [`EventSource`](crate::EventSource) waits between connections.
///
/// After a connection that opened is lost, the source waits the
/// *reconnection time*: [`reconnect_time`](RetryPolicy::reconnect_time)
/// until the server sends `retry:`, then the server's value (0 included:
/// reconnect at once). After each attempt that fails without opening, the
/// wait doubles from `max(reconnection time, min_backoff)`, is capped at
/// [`max_delay`](RetryPolicy::max_delay), and takes a random jitter of up to
/// half, but never drops below the reconnection time.
///
/// A connection that opens and closes again before the
/// [`reset_threshold`](RetryPolicy::reset_threshold) (Default: 60 s) counts
/// as a failure too: the first reconnection after it waits the
/// reconnection time exactly (a `retry: 2` server is reconnected to within
/// milliseconds, `retry: 0` at once), and each further one backs off as
/// above, so a server that accepts and closes in a loop sees fewer than 2
/// connections a second within 10 attempts. Only a connection that stays
/// open for the threshold resets the backoff.
///
/// ```
/// use std::time::Duration;
/// use bourn_client::RetryPolicy;
///
/// let policy = RetryPolicy::new()
///     .reconnect_time(Duration::from_secs(1))
///     .max_delay(Duration::from_secs(60))
///     .retry_http_errors(true) // 429 and 5xx, honouring Retry-After
///     .max_retries(Some(20));
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    reconnect_time: Duration,
    min_backoff: Duration,
    max_delay: Duration,
    reset_threshold: Duration,
    jitter: bool,
    retry_http_errors: bool,
    max_retries: Option<u32>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::new()
    }
}

impl RetryPolicy {
    /// The defaults: 3 s reconnection time, backoff from 100 ms up to 30 s
    /// with jitter, HTTP errors not retried, no limit on retries.
    pub const fn new() -> RetryPolicy {
        RetryPolicy {
            reconnect_time: DEFAULT_RECONNECT_TIME,
            min_backoff: DEFAULT_MIN_BACKOFF,
            max_delay: DEFAULT_MAX_DELAY,
            reset_threshold: DEFAULT_RESET_THRESHOLD,
            jitter: true,
            retry_http_errors: false,
            max_retries: None,
        }
    }

    /// The initial reconnection time; the server's `retry:` replaces it.
    /// Default: 3 s ([`DEFAULT_RECONNECT_TIME`]).
    pub const fn reconnect_time(mut self, time: Duration) -> RetryPolicy {
        self.reconnect_time = time;
        self
    }

    /// The first backoff wait after a failed attempt when the reconnection
    /// time is shorter (so `retry: 0` does not hammer a server that is down).
    /// Default: 100 ms ([`DEFAULT_MIN_BACKOFF`]).
    pub const fn min_backoff(mut self, time: Duration) -> RetryPolicy {
        self.min_backoff = time;
        self
    }

    /// The cap on the backoff and on a `Retry-After` wait. It does not
    /// shorten the server's own `retry:` time. Default: 30 s ([`DEFAULT_MAX_DELAY`]).
    pub const fn max_delay(mut self, time: Duration) -> RetryPolicy {
        self.max_delay = time;
        self
    }

    /// How long a connection must stay open for the backoff to start again
    /// from the reconnection time; shorter connections count as failed
    /// attempts. Default: 60 s ([`DEFAULT_RESET_THRESHOLD`]).
    pub const fn reset_threshold(mut self, time: Duration) -> RetryPolicy {
        self.reset_threshold = time;
        self
    }

    /// How long a connection must stay open to reset the backoff.
    pub(crate) const fn get_reset_threshold(&self) -> Duration {
        self.reset_threshold
    }

    /// Whether backoff waits take a random jitter (between half and all of
    /// the computed wait), so clients do not reconnect in herds. Default: `true`.
    pub const fn jitter(mut self, jitter: bool) -> RetryPolicy {
        self.jitter = jitter;
        self
    }

    /// Whether `429` and `5xx` responses are retried (with backoff, or after
    /// the `Retry-After` the response gives, capped at the max delay) instead
    /// of failing the source. Default: `false`, as the spec says.
    pub const fn retry_http_errors(mut self, retry: bool) -> RetryPolicy {
        self.retry_http_errors = retry;
        self
    }

    /// After this many consecutive attempts that fail without opening, the
    /// last error is fatal. Default: `None` (retry for ever).
    pub const fn max_retries(mut self, retries: Option<u32>) -> RetryPolicy {
        self.max_retries = retries;
        self
    }

    /// The initial reconnection time.
    pub(crate) const fn get_reconnect_time(&self) -> Duration {
        self.reconnect_time
    }

    /// Whether a failed response with this status is retried.
    pub(crate) fn retries_status(&self, status: StatusCode) -> bool {
        self.retry_http_errors
            && (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
    }

    /// Whether `failures` consecutive failed attempts exhaust the policy.
    pub(crate) fn exhausted(&self, failures: u32) -> bool {
        self.max_retries.is_some_and(|max| failures > max)
    }

    /// The wait before the next attempt, given the reconnection time in
    /// force and the number of consecutive failed attempts (0: the last
    /// connection opened).
    pub(crate) fn delay(&self, reconnect_time: Duration, failures: u32) -> Duration {
        // "Wait a delay equal to the reconnection time of the event source."
        if failures == 0 {
            return reconnect_time;
        }
        // "Optionally, wait some more. In particular, if the previous attempt
        // failed, then user agents might introduce an exponential backoff delay."
        let base = reconnect_time.max(self.min_backoff);
        let factor = 1u32 << (failures - 1).min(20);
        let capped = base.saturating_mul(factor).min(self.max_delay);
        let jittered = if self.jitter && !capped.is_zero() {
            let nanos = u64::try_from(capped.as_nanos()).unwrap_or(u64::MAX);
            Duration::from_nanos(rand::rng().random_range(nanos / 2..=nanos))
        } else {
            capped
        };
        jittered.max(reconnect_time)
    }

    /// The wait a retried `429`/`5xx` asks for with `Retry-After`, capped.
    pub(crate) fn retry_after(&self, headers: &HeaderMap) -> Option<Duration> {
        parse_retry_after(headers, SystemTime::now()).map(|d| d.min(self.max_delay))
    }
}

/// `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
pub(crate) fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn first_reconnect_waits_the_reconnection_time_exactly() {
        let p = RetryPolicy::new();
        assert_eq!(p.delay(Duration::ZERO, 0), Duration::ZERO);
        assert_eq!(p.delay(3000 * MS, 0), 3000 * MS);
        // The server's retry is never capped.
        assert_eq!(p.delay(Duration::from_secs(90), 0), Duration::from_secs(90));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_without_jitter() {
        let p = RetryPolicy::new().jitter(false).max_delay(1000 * MS);
        let waits: Vec<_> = (1..=6).map(|f| p.delay(Duration::ZERO, f)).collect();
        assert_eq!(
            waits,
            [100 * MS, 200 * MS, 400 * MS, 800 * MS, 1000 * MS, 1000 * MS]
        );
        let waits: Vec<_> = (1..=3).map(|f| p.delay(300 * MS, f)).collect();
        assert_eq!(waits, [300 * MS, 600 * MS, 1000 * MS]);
        // Huge failure counts neither overflow nor pass the cap.
        assert_eq!(p.delay(Duration::ZERO, u32::MAX), 1000 * MS);
        // The cap does not shorten the reconnection time itself.
        assert_eq!(p.delay(5000 * MS, 3), 5000 * MS);
    }

    #[test]
    fn jitter_stays_between_half_and_all() {
        let p = RetryPolicy::new().max_delay(Duration::from_secs(10));
        for failures in 1..8 {
            let full = (100 * MS * (1 << (failures - 1))).min(Duration::from_secs(10));
            for _ in 0..50 {
                let d = p.delay(Duration::ZERO, failures);
                assert!(d >= full / 2 && d <= full, "{d:?} vs {full:?}");
            }
        }
        // Never below the reconnection time.
        for _ in 0..50 {
            assert!(p.delay(150 * MS, 1) >= 150 * MS);
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        assert_eq!(parse_retry_after(&h, now), None);
        h.insert("retry-after", HeaderValue::from_static("120"));
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(120)));
        h.insert("retry-after", HeaderValue::from_static(" 7 "));
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(42));
        h.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(42)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(42));
        h.insert("retry-after", HeaderValue::from_str(&past).unwrap());
        assert_eq!(parse_retry_after(&h, now), Some(Duration::ZERO));
        for bad in ["", "-1", "+5", "soon", "1.5"] {
            h.insert("retry-after", HeaderValue::from_str(bad).unwrap());
            assert_eq!(parse_retry_after(&h, now), None, "{bad:?}");
        }
        let p = RetryPolicy::new().max_delay(Duration::from_secs(10));
        h.insert("retry-after", HeaderValue::from_static("3600"));
        assert_eq!(p.retry_after(&h), Some(Duration::from_secs(10)));
    }

    #[test]
    fn an_open_and_close_loop_slows_below_two_a_second_within_ten_attempts() {
        // What `connection_lost` does for connections shorter than the
        // threshold: wait delay(rt, n) with n = 0, 1, 2, ...
        let p = RetryPolicy::new();
        for rt in [Duration::ZERO, 2 * MS] {
            assert_eq!(p.delay(rt, 0), rt, "the first reconnection is exact");
            for _ in 0..50 {
                assert!(p.delay(rt, 9) >= Duration::from_millis(500));
            }
        }
        assert_eq!(p.get_reset_threshold(), Duration::from_secs(60));
    }

    #[test]
    fn statuses_and_exhaustion() {
        let p = RetryPolicy::new();
        assert!(!p.retries_status(StatusCode::SERVICE_UNAVAILABLE));
        let p = p.retry_http_errors(true).max_retries(Some(2));
        assert!(p.retries_status(StatusCode::SERVICE_UNAVAILABLE));
        assert!(p.retries_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(!p.retries_status(StatusCode::NOT_FOUND));
        assert!(!p.exhausted(2));
        assert!(p.exhausted(3));
        assert!(!RetryPolicy::new().exhausted(u32::MAX));
    }
}
