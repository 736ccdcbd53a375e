//! The server writer over real HTTP: every encoder vector through an `Sse`
//! body and through a `Channel` topic, over hyper HTTP/1.1 and HTTP/2 on
//! loopback, read back by the spec-literal reference model; then the server
//! behaviour cases of `vectors/server.json`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bourn_codec::Event;
use bourn_conformance::codec::build;
use bourn_conformance::vectors::{self, EncoderCase, EncoderExpect, EventFrame, Frame};
use bourn_server::{Channel, EventId, KeepAlive, MemoryBackend, RESET_EVENT, Shutdown, Sse};
use futures_util::stream;
use http::Version;
use serde::Deserialize;

use crate::it::http::{Server, VERSIONS, boxed, events, get, within};

fn encoder_cases() -> Vec<(EncoderCase, Event, Vec<Frame>, String)> {
    let files = vectors::load_all().expect("vectors load");
    let mut cases = Vec::new();
    for case in files.into_iter().flat_map(|f| f.encoder_cases) {
        if let EncoderExpect::Bytes {
            decoded,
            final_last_event_id,
            ..
        } = &case.expect
        {
            let event = build(&case).unwrap_or_else(|e| panic!("{}: {e}", case.id));
            let (decoded, last) = (decoded.clone(), final_last_event_id.clone());
            cases.push((case, event, decoded, last));
        }
    }
    assert!(cases.len() >= 30, "{} encoder cases", cases.len());
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_encoder_vector_through_an_sse_body_over_http1_and_http2() {
    let cases = Arc::new(encoder_cases());
    let served = Arc::clone(&cases);
    // `x-case: <n>` picks the case the body writes.
    let server = Server::start(move |request| {
        let n: usize = request.headers()["x-case"].to_str().unwrap().parse().unwrap();
        let event = served[n].1.clone();
        boxed(
            Sse::new(stream::iter([event]))
                .no_keep_alive()
                .into_http_response(),
        )
    })
    .await;
    let mut failures = Vec::new();
    for version in VERSIONS {
        for (n, (case, _, decoded, last)) in cases.iter().enumerate() {
            let index = n.to_string();
            let (status, got_version, _, mut body) =
                get(server.addr, version, &[("x-case", &index)]).await;
            assert_eq!((status.as_u16(), got_version), (200, version));
            let out = body.to_end().await;
            if (&out.frames, &out.last_event_id) != (decoded, last) {
                failures.push(format!(
                    "{:?} {}: got {:?} / {:?}, want {:?} / {:?}",
                    version, case.id, out.frames, out.last_event_id, decoded, last
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The vector's frames as a channel delivers them: each event carries the
/// id the channel gave it (its own id, if any, is replaced).
fn as_published(decoded: &[Frame], id: &EventId) -> Vec<Frame> {
    decoded
        .iter()
        .map(|frame| match frame {
            Frame::Event(e) => Frame::Event(EventFrame {
                event_type: e.event_type.clone(),
                data: e.data.clone(),
                id: Some(id.to_string()),
                last_event_id: id.to_string(),
            }),
            other => other.clone(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_encoder_vector_through_a_channel_topic_over_http1_and_http2() {
    let cases = encoder_cases();
    let channel = Channel::builder().no_keep_alive().build().unwrap();
    let served = channel.clone();
    let server = Server::start(move |request| {
        let topic = request.headers()["x-topic"].to_str().unwrap().to_owned();
        boxed(served.respond_to(&topic, &request))
    })
    .await;
    let mut failures = Vec::new();
    for version in VERSIONS {
        for (case, event, decoded, _) in &cases {
            let topic = format!("{}-{version:?}", case.id);
            let (status, _, _, mut body) = get(server.addr, version, &[("x-topic", &topic)]).await;
            assert_eq!(status.as_u16(), 200);
            // Subscribed when the head is sent: the priming block first.
            let id = channel.publish(&topic, event.clone()).await.unwrap();
            let want = as_published(decoded, &id);
            // Read until the published block is in: its id is then the
            // last event ID (whether or not it dispatched an event).
            let want_last = id.to_string();
            let out = body.until_last_event_id(&want_last).await;
            if out.frames != want || out.last_event_id != want_last {
                failures.push(format!(
                    "{:?} {}: got {:?} / {:?}, want {:?} / {:?}",
                    version, case.id, out.frames, out.last_event_id, want, want_last
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
