//! Helpers shared by the integration tests.

use std::time::Duration;

use bourn_client::{Builder, Error, ErrorKind, EventSource, Item, RetryPolicy};
use futures_util::StreamExt;

pub const MS: Duration = Duration::from_millis(1);

/// A policy with waits short enough for tests.
pub fn fast() -> RetryPolicy {
    RetryPolicy::new()
        .reconnect_time(5 * MS)
        .min_backoff(5 * MS)
        .max_delay(50 * MS)
}

pub fn builder(url: impl AsRef<str>) -> Builder {
    EventSource::builder(url).retry_policy(fast())
}

/// Every item until the stream ends, within 10 s.
pub async fn all(source: EventSource) -> Vec<Result<Item, Error>> {
    tokio::time::timeout(Duration::from_secs(10), source.collect::<Vec<_>>())
        .await
        .expect("the stream ends within 10 s")
}

/// The next `n` items, within 10 s.
pub async fn take(source: &mut EventSource, n: usize) -> Vec<Result<Item, Error>> {
    let mut out = Vec::new();
    while out.len() < n {
        let item = tokio::time::timeout(Duration::from_secs(10), source.next())
            .await
            .expect("an item within 10 s");
        match item {
            Some(item) => out.push(item),
            None => break,
        }
    }
    out
}

/// `(event type, data, last event id)` of every event.
pub fn events(items: &[Result<Item, Error>]) -> Vec<(String, String, String)> {
    items
        .iter()
        .filter_map(|i| i.as_ref().ok().and_then(Item::as_event))
        .map(|e| {
            (
                e.event_type().to_owned(),
                e.data().to_owned(),
                e.last_event_id().to_owned(),
            )
        })
        .collect()
}

/// The data of every event.
pub fn data(items: &[Result<Item, Error>]) -> Vec<String> {
    events(items).into_iter().map(|(_, d, _)| d).collect()
}

/// Every error but the `204` that the scripted server answers once its
/// replies are used up (that one is checked by `ends_with_no_content`).
pub fn errors(items: &[Result<Item, Error>]) -> Vec<&Error> {
    items
        .iter()
        .filter_map(|i| i.as_ref().err())
        .filter(|e| e.kind() != ErrorKind::NoContent)
        .collect()
}

/// Whether the stream ended on the scripted server's closing `204`: a
/// fatal error item saying so.
pub fn ends_with_no_content(items: &[Result<Item, Error>]) -> bool {
    matches!(items.last(), Some(Err(e)) if e.kind() == ErrorKind::NoContent && e.is_fatal())
}

pub fn opens(items: &[Result<Item, Error>]) -> usize {
    items
        .iter()
        .filter(|i| matches!(i, Ok(Item::Open { .. })))
        .count()
}
