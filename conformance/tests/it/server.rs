//! The server writer over real HTTP: every encoder vector through an `Sse`
//! body and through a `Channel` topic, over hyper HTTP/1.1 and HTTP/2 on
//! loopback, read back by the spec-literal reference model; then the server
//! behaviour cases of `vectors/server.json`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bourn_codec::Event;
use bourn_conformance::codec::build;
use bourn_conformance::vectors::{self, EncoderCase, EncoderExpect, EventFrame, Frame};
use bourn_server::{Channel, EventId, KeepAlive, MemoryBackend, RESET_EVENT, Shutdown, Sse};
use futures_util::stream;
use http::{HeaderMap, Version};
use serde::Deserialize;

use crate::it::http::{Server, VERSIONS, boxed, events, get};

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
        let n: usize = request.headers()["x-case"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
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
            let out = body.read_to_end().await;
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BehaviourFile {
    #[allow(dead_code)]
    description: String,
    cases: Vec<BehaviourCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BehaviourCase {
    id: String,
    #[allow(dead_code)]
    description: String,
    check: Check,
    #[serde(default)]
    expected_failure: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Check {
    Headers {
        present: BTreeMap<String, String>,
        absent: Vec<String>,
        #[serde(default)]
        absent_h2: Vec<String>,
    },
    RetryOnConnect {
        retry_ms: u64,
    },
    NoRetryByDefault,
    KeepAliveIdle {
        interval_ms: u64,
        within_ms: u64,
    },
    KeepAliveBusy {
        interval_ms: u64,
        publish_every_ms: u64,
        for_ms: u64,
    },
    Resume {
        publish: usize,
        last_event_id: IdRef,
        expect_data: Vec<String>,
    },
    Reset {
        #[serde(default)]
        max_events: Option<usize>,
        publish: usize,
        last_event_id: IdRef,
        reason: String,
    },
    Shutdown {
        farewell_retry_ms: u64,
    },
    SseEnds,
    Priming,
    SseRetry {
        retry_ms: u64,
    },
    Busy {
        retry_ms: u64,
        prefer_retry_after: bool,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum IdRef {
    Published(usize),
    OtherEpoch(u64),
    Literal(String),
    Ahead(u64),
}

pub fn behaviour_path(name: &str) -> std::path::PathBuf {
    vectors::dir().join("behaviour").join(name)
}

fn server_cases() -> Vec<BehaviourCase> {
    let path = behaviour_path("server.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let file: BehaviourFile = serde_json::from_str(&text).unwrap();
    file.cases
}

async fn channel_server(channel: &Channel) -> Server {
    let channel = channel.clone();
    Server::start(move |request| boxed(channel.respond_to("t", &request))).await
}

async fn publish_n(channel: &Channel, n: usize) -> Vec<EventId> {
    let mut ids = Vec::new();
    for k in 1..=n {
        ids.push(
            channel
                .publish("t", Event::message(k.to_string()))
                .await
                .unwrap(),
        );
    }
    ids
}

fn resolve(id: &IdRef, ids: &[EventId], position: &EventId) -> String {
    match id {
        IdRef::Published(n) => ids[*n].to_string(),
        IdRef::OtherEpoch(seq) => EventId::new(position.epoch().wrapping_add(1), *seq).to_string(),
        IdRef::Literal(text) => text.clone(),
        IdRef::Ahead(seq) => EventId::new(position.epoch(), *seq).to_string(),
    }
}

fn comments(frames: &[Frame]) -> usize {
    frames
        .iter()
        .filter(|f| matches!(f, Frame::Comment(_)))
        .count()
}

/// Runs one behaviour case on one HTTP version; `Err` says what differed.
async fn run_server_case(check: &Check, version: Version) -> Result<(), String> {
    match check {
        Check::Headers {
            present,
            absent,
            absent_h2,
        } => {
            let channel = Channel::new();
            let server = channel_server(&channel).await;
            let (status, got, headers, _body) = get(server.addr, version, &[]).await;
            if status.as_u16() != 200 || got != version {
                return Err(format!("{status} {got:?}"));
            }
            let header = |h: &HeaderMap, name: &str| {
                h.get(name).map(|v| v.to_str().unwrap_or("?").to_owned())
            };
            for (name, value) in present {
                if header(&headers, name).as_deref() != Some(value) {
                    return Err(format!(
                        "{name}: {:?}, want {value:?}",
                        header(&headers, name)
                    ));
                }
            }
            let h2 = if version == Version::HTTP_2 {
                &absent_h2[..]
            } else {
                &[]
            };
            for name in absent.iter().chain(h2) {
                if let Some(value) = header(&headers, name) {
                    return Err(format!("{name}: {value:?} must be absent"));
                }
            }
            Ok(())
        }
        Check::RetryOnConnect { retry_ms } => {
            let channel = Channel::builder()
                .retry(Duration::from_millis(*retry_ms))
                .build()
                .unwrap();
            let server = channel_server(&channel).await;
            let (_, _, _, mut body) = get(server.addr, version, &[]).await;
            // The priming block follows whatever comes first on connect.
            let position = channel.position("t").await.unwrap().to_string();
            let out = body.until_last_event_id(&position).await;
            match out.frames.first() {
                Some(Frame::Retry(ms)) if ms == retry_ms => Ok(()),
                other => Err(format!("first frame {other:?}, want retry {retry_ms}")),
            }
        }
        Check::NoRetryByDefault => {
            let channel = Channel::new();
            let server = channel_server(&channel).await;
            let (_, _, _, mut body) = get(server.addr, version, &[]).await;
            let position = channel.position("t").await.unwrap().to_string();
            let out = body.until_last_event_id(&position).await;
            let out = if out.frames.is_empty() {
                body.frames_for(Duration::from_millis(50)).await
            } else {
                out
            };
            if out.frames.is_empty() {
                Ok(())
            } else {
                Err(format!("{:?}", out.frames))
            }
        }
        Check::KeepAliveIdle {
            interval_ms,
            within_ms,
        } => {
            let channel = Channel::builder()
                .keep_alive(KeepAlive::every(Duration::from_millis(*interval_ms)))
                .build()
                .unwrap();
            let server = channel_server(&channel).await;
            let (_, _, _, mut body) = get(server.addr, version, &[]).await;
            let wait = Duration::from_millis(*within_ms);
            let found = tokio::time::timeout(wait, async {
                loop {
                    if comments(&body.interpret().frames) > 0 || !body.read().await {
                        return;
                    }
                }
            })
            .await;
            match (found, comments(&body.interpret().frames)) {
                (Ok(()), n) if n > 0 => Ok(()),
                _ => Err(format!(
                    "no comment within {within_ms} ms: {:?}",
                    body.interpret().frames
                )),
            }
        }
        Check::KeepAliveBusy {
            interval_ms,
            publish_every_ms,
            for_ms,
        } => {
            let channel = Channel::builder()
                .keep_alive(KeepAlive::every(Duration::from_millis(*interval_ms)))
                .build()
                .unwrap();
            let server = channel_server(&channel).await;
            let (_, _, _, mut body) = get(server.addr, version, &[]).await;
            let publisher = channel.clone();
            let (every, rounds) = (*publish_every_ms, for_ms / publish_every_ms);
            let publishing = tokio::spawn(async move {
                for n in 0..rounds {
                    publisher
                        .publish("t", Event::message(n.to_string()))
                        .await
                        .unwrap();
                    tokio::time::sleep(Duration::from_millis(every)).await;
                }
            });
            let out = body.frames_for(Duration::from_millis(*for_ms)).await;
            publishing.abort();
            let n = events(&out.frames).len();
            if n < 2 {
                return Err(format!("only {n} events flowed"));
            }
            match comments(&out.frames) {
                0 => Ok(()),
                c => Err(format!(
                    "{c} keep-alive comments while busy: {:?}",
                    out.frames
                )),
            }
        }
        Check::Resume {
            publish,
            last_event_id,
            expect_data,
        } => {
            let channel = Channel::new();
            let ids = publish_n(&channel, *publish).await;
            let position = channel.position("t").await.unwrap();
            let sent = resolve(last_event_id, &ids, &position);
            let server = channel_server(&channel).await;
            let (_, _, _, mut body) = get(server.addr, version, &[("last-event-id", &sent)]).await;
            let live = channel.publish("t", Event::message("live")).await.unwrap();
            let out = body.until_last_event_id(&live.to_string()).await;
            let got = events(&out.frames);
            let data: Vec<&str> = got.iter().map(|e| e.1.as_str()).collect();
            if data != *expect_data {
                return Err(format!("events {got:?}, want data {expect_data:?}"));
            }
            if got.iter().any(|e| e.0 != "message") {
                return Err(format!("a reset or typed event: {got:?}"));
            }
            Ok(())
        }
        Check::Reset {
            max_events,
            publish,
            last_event_id,
            reason,
        } => {
            let mut backend = MemoryBackend::new();
            if let Some(max) = max_events {
                backend = backend.max_events(*max);
            }
            let channel = Channel::builder().backend(backend).build().unwrap();
            let ids = publish_n(&channel, *publish).await;
            let position = channel.position("t").await.unwrap();
            let sent = resolve(last_event_id, &ids, &position);
            let server = channel_server(&channel).await;
            let (_, _, _, mut body) = get(server.addr, version, &[("last-event-id", &sent)]).await;
            let live = channel.publish("t", Event::message("live")).await.unwrap();
            let out = body.until_last_event_id(&live.to_string()).await;
            let got = events(&out.frames);
            let newest = ids.last().unwrap().to_string();
            let want = vec![
                (RESET_EVENT.to_owned(), reason.clone(), Some(newest)),
                (
                    "message".to_owned(),
                    "live".to_owned(),
                    Some(live.to_string()),
                ),
            ];
            if got == want {
                Ok(())
            } else {
                Err(format!("events {got:?}, want {want:?}"))
            }
        }
        Check::Shutdown { farewell_retry_ms } => {
            let shutdown =
                Shutdown::new().farewell(None, Some(Duration::from_millis(*farewell_retry_ms)));
            let channel = Channel::builder().shutdown(&shutdown).build().unwrap();
            let server = channel_server(&channel).await;
            let (_, _, _, mut body) = get(server.addr, version, &[]).await;
            let id = channel
                .publish("t", Event::message("before"))
                .await
                .unwrap();
            body.until_last_event_id(&id.to_string()).await;
            shutdown.trigger();
            let out = body.read_to_end().await;
            let last = out.frames.last();
            if !body.ended || last != Some(&Frame::Retry(*farewell_retry_ms)) {
                return Err(format!("ended {}: {:?}", body.ended, out.frames));
            }
            Ok(())
        }
        Check::Priming => {
            let channel = Channel::new();
            let ids = publish_n(&channel, 2).await;
            let server = channel_server(&channel).await;
            let (_, _, _, mut body) = get(server.addr, version, &[]).await;
            let position = ids[1].to_string();
            let out = body.until_last_event_id(&position).await;
            if out.last_event_id == position && out.frames.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{:?} / {:?}, want no frame / {position:?}",
                    out.frames, out.last_event_id
                ))
            }
        }
        Check::SseRetry { retry_ms } => {
            let retry = Duration::from_millis(*retry_ms);
            let server = Server::start(move |_| {
                boxed(
                    Sse::new(stream::iter([Event::message("a")]))
                        .retry(retry)
                        .into_http_response(),
                )
            })
            .await;
            let (_, _, _, mut body) = get(server.addr, version, &[]).await;
            let out = body.read_to_end().await;
            match &out.frames[..] {
                [Frame::Retry(ms), Frame::Event(e)] if ms == retry_ms && e.data == "a" => Ok(()),
                other => Err(format!("{other:?}, want retry {retry_ms} then the event")),
            }
        }
        Check::Busy {
            retry_ms,
            prefer_retry_after,
        } => {
            let channel = Channel::builder()
                .max_subscribers(1)
                .busy_retry(Duration::from_millis(*retry_ms))
                .build()
                .unwrap();
            let server = channel_server(&channel).await;
            let (_, _, _, _first) = get(server.addr, version, &[]).await;
            let headers: &[(&str, &str)] = if *prefer_retry_after {
                &[("prefer", "retry-after")]
            } else {
                &[]
            };
            let (status, _, headers, mut body) = get(server.addr, version, headers).await;
            let out = body.read_to_end().await;
            if *prefer_retry_after {
                let seconds: Option<u64> = headers
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok());
                let max = (retry_ms * 3).div_ceil(2000);
                return match (status.as_u16(), seconds) {
                    (503, Some(s))
                        if s >= retry_ms.div_ceil(1000) && s <= max && body.bytes.is_empty() =>
                    {
                        Ok(())
                    }
                    other => Err(format!("{other:?}, body {:?}", body.bytes)),
                };
            }
            let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
            match (status.as_u16(), content_type, &out.frames[..]) {
                (200, Some("text/event-stream"), [Frame::Comment(c), Frame::Retry(ms)])
                    if c == "busy" && *ms >= *retry_ms && *ms <= retry_ms * 3 / 2 =>
                {
                    Ok(())
                }
                (status, content_type, frames) => {
                    Err(format!("{status} {content_type:?} {frames:?}"))
                }
            }
        }
        Check::SseEnds => {
            let server = Server::start(|_| {
                boxed(Sse::new(stream::iter([Event::message("only")])).into_http_response())
            })
            .await;
            let (_, _, _, mut body) = get(server.addr, version, &[]).await;
            let out = body.read_to_end().await;
            let got = events(&out.frames);
            if body.ended && got.len() == 1 {
                Ok(())
            } else {
                Err(format!("{got:?}"))
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_behaviour_cases_over_http1_and_http2() {
    let cases = server_cases();
    assert!(cases.len() >= 10, "{} server cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        for version in VERSIONS {
            let result = tokio::time::timeout(
                Duration::from_secs(15),
                run_server_case(&case.check, version),
            )
            .await
            .unwrap_or_else(|_| Err("timed out".to_owned()));
            match (result, &case.expected_failure) {
                (Ok(()), None) | (Err(_), Some(_)) => {}
                (Err(error), None) => failures.push(format!("{} {version:?}: {error}", case.id)),
                (Ok(()), Some(reason)) => failures.push(format!(
                    "{} {version:?}: passes now, drop its expected failure ({reason})",
                    case.id
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
