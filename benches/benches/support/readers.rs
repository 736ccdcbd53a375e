//! The two clients whose CPU per event the `client` bench compares, each
//! reading one stream to its end: shared by the bench and
//! `examples/profile-client.rs`, so the profile reads exactly what the
//! bench measures.

use std::hint::black_box;

use futures_util::StreamExt;

/// Reads the stream at `url` to its end with bourn-client (one-shot: no
/// reconnection); returns the events seen.
pub async fn bourn(url: &str) -> usize {
    let mut source = bourn_client::EventSource::builder(url)
        .one_shot(true)
        .build()
        .expect("bourn source");
    let mut events = 0;
    while let Some(item) = source.next().await {
        if let bourn_client::Item::Event(event) = item.expect("no error") {
            black_box(event.data());
            events += 1;
        }
    }
    events
}

/// Reads the stream at `url` to its end with LaunchDarkly's
/// `eventsource-client` on its hyper transport, reconnection off; returns
/// the events seen.
pub async fn launchdarkly(url: &str) -> usize {
    use eventsource_client::{Client, SSE};
    let mut stream = launchdarkly_client(url).stream();
    let mut events = 0;
    // Without reconnection the stream ends with an error at end of body.
    while let Some(Ok(item)) = stream.next().await {
        if let SSE::Event(event) = item {
            black_box(&event.data);
            events += 1;
        }
    }
    events
}

/// LaunchDarkly's `eventsource-client` for `url` on its hyper transport,
/// reconnection off (its stream then ends with an error at end of body).
pub fn launchdarkly_client(url: &str) -> impl eventsource_client::Client {
    use eventsource_client::{ClientBuilder, ReconnectOptions};
    let transport = launchdarkly_sdk_transport::HyperTransport::builder()
        .build_http()
        .expect("transport");
    ClientBuilder::for_url(url)
        .expect("url")
        .reconnect(ReconnectOptions::reconnect(false).build())
        .build_with_transport(transport)
}
