//! The end-to-end property: arbitrary events published to a `Channel` topic
//! with a bounded replay log, served over HTTP/1.1 on loopback through a
//! proxy that re-chunks the response and cuts connections after arbitrary
//! byte counts, read by bourn-client: the client yields exactly the
//! published events, in order, none twice, with a `bourn-reset` only where
//! the log had been trimmed (judged by `bourn_conformance::e2e`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bourn_client::{EventSource, Item, RetryPolicy};
use bourn_codec::Event;
use bourn_conformance::codec::event_frame;
use bourn_conformance::e2e::{self, Published};
use bourn_conformance::reference;
use bourn_conformance::vectors::{EventFrame, Frame};
use bourn_server::{Channel, MemoryBackend};
use futures_util::StreamExt;
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::http::{Server, boxed};
use super::support::config;

/// One case's whole run (server, proxy, client) is bounded by this.
const CASE_TIMEOUT: Duration = Duration::from_secs(4);

#[derive(Debug, Clone)]
struct Case {
    /// Each event's type (`None`: `message`) and data.
    events: Vec<(Option<String>, String)>,
    /// Events published back to back before a pause (cycled).
    batches: Vec<usize>,
    /// The replay log's bound.
    max_events: usize,
    /// The subscriber queue's bound (a full queue disconnects).
    queue_len: usize,
    /// Connection `k` is cut after `cuts[k]` response bytes (head
    /// included); connections past the list are never cut.
    cuts: Vec<usize>,
    /// The proxy writes what it reads in pieces of these sizes (cycled).
    pieces: Vec<usize>,
    /// Publish everything before the client connects (its first request
    /// then resumes from the log), instead of while it reads.
    publish_first: bool,
}

/// Data over line breaks of every kind, colons, spaces, NUL and non-ASCII.
fn data() -> impl Strategy<Value = String> {
    let chars = prop::sample::select(&['a', ' ', ':', '\r', '\n', '\0', '\u{e9}', '\u{1F600}'][..]);
    prop::collection::vec(chars, 0..10).prop_map(|chars| chars.into_iter().collect())
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec((prop::option::weighted(0.3, "[a-z]{1,5}"), data()), 1..40),
        prop::collection::vec(1usize..8, 1..4),
        1usize..48,
        1usize..10,
        prop::collection::vec(0usize..600, 0..6),
        prop::collection::vec(1usize..64, 1..4),
        prop::bool::weighted(0.25),
    )
        .prop_map(
            |(events, batches, max_events, queue_len, cuts, pieces, publish_first)| Case {
                events,
                batches,
                max_events,
                queue_len,
                cuts,
                pieces,
                publish_first,
            },
        )
}

/// What the client must read back for one event: built with bourn-codec,
/// read by the spec-literal reference model.
fn published(event_type: Option<&str>, data: &str) -> (Event, Published) {
    let mut builder = Event::builder().data(data);
    if let Some(event_type) = event_type {
        builder =
            builder.event(bourn_server::EventType::new(event_type).expect("types are [a-z]+"));
    }
    let event = builder.build();
    let frames = reference::interpret(&event.to_bytes(), "").frames;
    let [Frame::Event(frame)] = frames.as_slice() else {
        panic!("one event encodes to one event: {frames:?}");
    };
    let want = Published {
        event_type: frame.event_type.clone(),
        data: frame.data.clone(),
    };
    (event, want)
}

/// A proxy on 127.0.0.1:0 in front of `upstream`: requests pass unchanged;
/// responses are written in `pieces`, and connection `k` is torn down (both
/// sides) once `cuts[k]` response bytes went through.
async fn proxy(
    upstream: std::net::SocketAddr,
    cuts: Vec<usize>,
    pieces: Vec<usize>,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(async move {
        let mut tasks = tokio::task::JoinSet::new();
        while let Ok((client, _)) = listener.accept().await {
            let k = connections.fetch_add(1, Ordering::Relaxed);
            let cut = cuts.get(k).copied();
            let pieces = pieces.clone();
            tasks.spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let requests = async {
                    let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                };
                let responses = async {
                    let mut buf = vec![0u8; 4096];
                    let (mut sent, mut piece) = (0usize, 0usize);
                    loop {
                        let Ok(n) = server_read.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        let mut rest = &buf[..n];
                        while !rest.is_empty() {
                            let mut size = pieces[piece % pieces.len()].min(rest.len());
                            piece += 1;
                            if let Some(cut) = cut {
                                size = size.min(cut - sent);
                            }
                            if client_write.write_all(&rest[..size]).await.is_err()
                                || client_write.flush().await.is_err()
                            {
                                return;
                            }
                            sent += size;
                            rest = &rest[size..];
                            if cut == Some(sent) {
                                return;
                            }
                        }
                    }
                };
                // Either side ending ends both: dropping the halves closes
                // the client's connection mid-body and the server's too.
                tokio::select! {
                    () = requests => {}
                    () = responses => {}
                }
            });
        }
    });
    (addr, task)
}

/// Runs one case; the events the client yielded, once judged.
async fn run(case: &Case) -> Result<Vec<EventFrame>, String> {
    let backend = MemoryBackend::new().max_events(case.max_events);
    let channel = Channel::builder()
        .backend(backend)
        .queue_len(case.queue_len)
        .no_keep_alive()
        .build()
        .map_err(|e| e.to_string())?;
    let serving = channel.clone();
    let server = Server::start(move |request| boxed(serving.respond_to("t", &request))).await;
    let (proxy_addr, proxy_task) = proxy(server.addr, case.cuts.clone(), case.pieces.clone()).await;
    let _stop_proxy = AbortOnDrop(proxy_task);

    // The client starts from the topic's position, so it is owed every
    // event published from now on however its first connections go.
    let start = channel.position("t").await.map_err(|e| e.to_string())?;
    let (events, want): (Vec<Event>, Vec<Published>) = case
        .events
        .iter()
        .map(|(event_type, data)| published(event_type.as_deref(), data))
        .unzip();
    let publisher = channel.clone();
    let batches = case.batches.clone();
    let publishing = tokio::spawn(async move {
        let mut ids = Vec::new();
        let mut events = events.into_iter().peekable();
        for batch in batches.iter().cycle() {
            for event in events.by_ref().take(*batch) {
                ids.push(publisher.publish("t", event).await);
            }
            if events.peek().is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        ids
    });
    let publishing = if case.publish_first {
        let ids = publishing.await.map_err(|e| e.to_string())?;
        tokio::spawn(async move { ids })
    } else {
        publishing
    };
    let policy = RetryPolicy::new()
        .reconnect_time(Duration::from_millis(1))
        .min_backoff(Duration::from_millis(1))
        .max_delay(Duration::from_millis(16))
        .jitter(false);
    let mut source = EventSource::builder(format!("http://{proxy_addr}/events"))
        .retry_policy(policy)
        .last_event_id(start.to_string())
        .build()
        .map_err(|e| e.to_string())?;

    let mut judge = e2e::Judge::new(&want, start.epoch(), start.seq(), case.max_events as u64);
    let mut delivered = Vec::new();
    // Judged as they come, so a violation ends the run at once.
    let read = tokio::time::timeout(CASE_TIMEOUT, async {
        while !judge.done() {
            match source.next().await {
                Some(Ok(Item::Event(event))) => {
                    delivered.push(event_frame(&event));
                    judge.push(&event_frame(&event))?;
                }
                Some(Ok(_)) => {}
                // Connection drops: the source reconnects by itself.
                Some(Err(error)) if !error.is_fatal() => {}
                Some(Err(error)) => return Err(format!("fatal: {error}")),
                None => return Err("the stream ended".to_owned()),
            }
        }
        Ok(())
    })
    .await;
    let ids = publishing.await.map_err(|e| e.to_string())?;
    for (n, id) in ids.into_iter().enumerate() {
        let id = id.map_err(|e| format!("publish {n}: {e}"))?;
        if (id.epoch(), id.seq()) != (start.epoch(), start.seq() + n as u64 + 1) {
            return Err(format!("publish {n} got id {id}, after {start}"));
        }
    }
    let verdict = match read {
        Err(_) => Err(format!(
            "timed out at last event ID {:?}; {}",
            source.last_event_id(),
            judge.finish().unwrap_err()
        )),
        Ok(result) => result.and_then(|()| judge.finish()),
    };
    verdict.map_err(|why| format!("{why}\ndelivered {delivered:?}"))?;
    Ok(delivered)
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: e2e::CASES,
        // Each case is a whole run over loopback: shrink a failure briefly.
        max_shrink_iters: 16,
        ..config("proptest-regressions/e2e.txt")
    })]

    #[test]
    fn channel_through_drops_to_client(case in case()) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let verdict = runtime.block_on(run(&case));
        prop_assert!(verdict.is_ok(), "{}", verdict.unwrap_err());
    }
}

/// The property's reset branch is reached: thirty events published before
/// the client connects, a log of two and a first connection cut in its
/// head. The client must get one `trimmed` reset to the top, nothing else
/// (a reset moves the client to the current position).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trimmed_log_gives_a_reset_and_the_rest() {
    let case = Case {
        events: (0..30).map(|n| (None, n.to_string())).collect(),
        batches: vec![30],
        max_events: 2,
        queue_len: 4,
        cuts: vec![40],
        pieces: vec![7],
        publish_first: true,
    };
    let delivered = run(&case).await.unwrap();
    let resets: Vec<_> = delivered
        .iter()
        .filter(|e| e.event_type == e2e::RESET_EVENT)
        .collect();
    assert_eq!(resets.len(), 1, "{delivered:?}");
    assert_eq!(resets[0].data, e2e::TRIMMED);
    let seq = resets[0]
        .id
        .as_deref()
        .and_then(e2e::parse_id)
        .map(|(_, seq)| seq);
    assert_eq!(seq, Some(30));
    assert_eq!(delivered.len(), 1, "{delivered:?}");
}

#[test]
fn reset_event_name_is_the_servers() {
    assert_eq!(e2e::RESET_EVENT, bourn_server::RESET_EVENT);
}
