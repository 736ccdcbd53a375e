//! The peer clients under bourn-conformance's client suite: a
//! `ClientUnderTest` adapter per peer, and the run that writes each one's
//! scores beside criterion's results (`<criterion dir>/client-conformance.json`)
//! for the report.
//!
//! Each adapter sets the peer up the way its documentation says to get the
//! case's setup (method, initial last event ID, reconnection time) and maps
//! what it yields onto the suite's items, and nothing more: no retry policy
//! of the adapter's own decides when the peer gives up. What a peer cannot
//! report (eventsource-client has no ready state and no per-event last
//! event ID) is left out of the comparison; a case needing a setup it cannot
//! express is "not applicable", never a pass.

use std::time::Duration;

use bourn_benches::report::ClientConformance;
use bourn_conformance::bourn_client::BournClient;
use bourn_conformance::client::{
    self, ClientCapabilities, ClientItem, ClientReport, ClientSession, ClientSetup,
    ClientUnderTest, NextItem, ReadyState, event,
};
use bourn_conformance::{client_cases, vectors};
use futures_util::StreamExt;

/// LaunchDarkly's `eventsource-client` 0.18 on its hyper transport.
struct LaunchDarkly;

impl ClientUnderTest for LaunchDarkly {
    fn name(&self) -> &str {
        "eventsource-client"
    }

    fn capabilities(&self) -> ClientCapabilities {
        ClientCapabilities {
            method: true,
            initial_last_event_id: true,
            ready_state: false,
            limits: false,
            // Its `Event::id` is the parser's last event ID (carried over
            // from earlier blocks), not the block's own `id` field.
            event_id: false,
            event_last_event_id: true,
            last_event_id: false,
        }
    }

    fn connect(&self, setup: &ClientSetup) -> Result<Box<dyn ClientSession>, String> {
        use eventsource_client::{Client, ClientBuilder, ReconnectOptions};
        let transport = launchdarkly_sdk_transport::HyperTransport::builder()
            .build_http()
            .map_err(|e| e.to_string())?;
        // Reconnect after `reconnect_time`, without growing the delay (the
        // spec's reconnection time; a `retry:` field replaces it).
        let reconnect = ReconnectOptions::reconnect(true)
            .delay(setup.reconnect_time)
            .backoff_factor(1)
            .delay_max(setup.reconnect_time.max(Duration::from_secs(1)))
            .build();
        let mut builder = ClientBuilder::for_url(&setup.url)
            .map_err(|e| e.to_string())?
            .reconnect(reconnect);
        if let Some(method) = &setup.method {
            builder = builder.method(method.clone());
        }
        if let Some(id) = &setup.last_event_id {
            builder = builder.last_event_id(id.clone());
        }
        let client = builder.build_with_transport(transport);
        let stream = client.stream();
        Ok(Box::new(LaunchDarklySession {
            stream: Some(stream),
            _client: Box::new(client),
        }))
    }
}

struct LaunchDarklySession {
    stream:
        Option<eventsource_client::BoxStream<eventsource_client::Result<eventsource_client::SSE>>>,
    _client: Box<dyn eventsource_client::Client>,
}

impl ClientSession for LaunchDarklySession {
    fn next(&mut self) -> NextItem<'_> {
        Box::pin(async move {
            use eventsource_client::{Error, SSE};
            let item = self.stream.as_mut()?.next().await?;
            Some(match item {
                Ok(SSE::Connected(_)) => ClientItem::Open,
                Ok(SSE::Event(e)) => {
                    event(&e.event_type, &e.data, None, e.id.as_deref().unwrap_or(""))
                }
                Ok(SSE::Comment(text)) => ClientItem::Comment(text),
                Err(Error::UnexpectedResponse(..)) => ClientItem::FailStatus,
                // The body ended or broke: it reconnects.
                Err(
                    Error::Eof | Error::UnexpectedEof | Error::HttpStream(_) | Error::Transport(_),
                ) => ClientItem::Disconnect,
                Err(other) => ClientItem::Error(other.to_string()),
            })
        })
    }

    fn ready_state(&self) -> Option<ReadyState> {
        None
    }

    fn last_event_id(&self) -> Option<String> {
        None
    }

    fn close(&mut self) {
        // Dropping the stream ends the source (no more requests).
        self.stream = None;
    }
}

/// `reqwest-eventsource` 0.6.
struct Reqwest;

impl ClientUnderTest for Reqwest {
    fn name(&self) -> &str {
        "reqwest-eventsource"
    }

    fn capabilities(&self) -> ClientCapabilities {
        ClientCapabilities {
            method: true,
            // No API for it: a `Last-Event-ID` header on the request builder
            // is sent, but the source's own last event ID starts empty.
            initial_last_event_id: false,
            ready_state: true,
            limits: false,
            // Its `MessageEvent::id` is the last event ID string.
            event_id: false,
            event_last_event_id: true,
            last_event_id: true,
        }
    }

    fn connect(&self, setup: &ClientSetup) -> Result<Box<dyn ClientSession>, String> {
        use reqwest_eventsource::{EventSource, retry::Constant};
        let method = match &setup.method {
            Some(method) => {
                reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?
            }
            None => reqwest::Method::GET,
        };
        let request = reqwest::Client::new().request(method, &setup.url);
        let mut source = EventSource::new(request).map_err(|e| e.to_string())?;
        // The library's constant policy at the reconnection time (`retry:`
        // replaces it), with no limit on retries: its default is
        // exponential backoff from 300 ms.
        source.set_retry_policy(Box::new(Constant::new(setup.reconnect_time, None)));
        Ok(Box::new(ReqwestSession(source)))
    }
}

struct ReqwestSession(reqwest_eventsource::EventSource);

impl ClientSession for ReqwestSession {
    fn next(&mut self) -> NextItem<'_> {
        Box::pin(async move {
            use reqwest_eventsource::{Error, Event};
            let item = self.0.next().await?;
            Some(match item {
                Ok(Event::Open) => ClientItem::Open,
                Ok(Event::Message(m)) => event(&m.event, &m.data, None, &m.id),
                Err(Error::InvalidStatusCode(..)) => ClientItem::FailStatus,
                Err(Error::InvalidContentType(..)) => ClientItem::FailContentType,
                Err(Error::StreamEnded | Error::Transport(_)) => ClientItem::Disconnect,
                Err(other) => ClientItem::Error(other.to_string()),
            })
        })
    }

    fn ready_state(&self) -> Option<ReadyState> {
        use reqwest_eventsource::ReadyState as R;
        Some(match self.0.ready_state() {
            R::Connecting => ReadyState::Connecting,
            R::Open => ReadyState::Open,
            R::Closed => ReadyState::Closed,
        })
    }

    fn last_event_id(&self) -> Option<String> {
        Some(self.0.last_event_id().to_owned())
    }

    fn close(&mut self) {
        self.0.close();
    }
}

fn summary(behaviour: &ClientReport, vectors: &ClientReport) -> ClientConformance {
    let failed = |report: &ClientReport| report.failures().map(|c| c.id.clone()).collect();
    ClientConformance {
        client: behaviour.client.clone(),
        behaviour_passed: behaviour.passed as u64,
        behaviour_failed: behaviour.failed as u64,
        behaviour_not_applicable: behaviour.not_applicable as u64,
        behaviour_failures: failed(behaviour),
        vectors_passed: vectors.passed as u64,
        vectors_failed: vectors.failed as u64,
        vectors_not_applicable: vectors.not_applicable as u64,
        vectors_failures: failed(vectors),
    }
}

/// Runs the client behaviour cases and the decoder vectors over HTTP
/// against bourn-client and each peer.
pub async fn run() -> Vec<ClientConformance> {
    let behaviour = client_cases::load().expect("client behaviour cases load");
    let files = vectors::load_all().expect("bourn-conformance vectors load");
    let clients: [&dyn ClientUnderTest; 3] = [&BournClient, &LaunchDarkly, &Reqwest];
    let mut results = Vec::new();
    for under_test in clients {
        let cases = client::run_behaviour(under_test, &behaviour).await;
        let vectors = client::run_vectors(under_test, &files).await;
        results.push(summary(&cases, &vectors));
    }
    results
}
