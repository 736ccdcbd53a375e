//! Relays one upstream Server-Sent Events response into a channel topic, so
//! that any number of clients can follow it, resume it with `Last-Event-ID`
//! on any node, and tell a finished answer from a cut connection.
//!
//! The commonest SSE traffic is LLM output: one paid request whose answer
//! must survive a reloaded tab or a dropped mobile connection. A [`Relay`]
//! makes **one** upstream request with `bourn-client` (one-shot: the
//! upstream is never asked again, unless it sent event ids and
//! [`resume`](Relay::resume) allows reconnecting with `Last-Event-ID`),
//! publishes each upstream event into the topic as it arrives, with the
//! durability of the channel's backend, and ends the topic with one
//! [`END_EVENT`] whose JSON data says how it ended:
//!
//! ```text
//! event: bourn-end
//! data: {"outcome":"completed","status":200,"events":2000,"requests":1}
//!
//! event: bourn-end
//! data: {"outcome":"failed","status":200,"events":12,"requests":1,"error":{"kind":"provider","message":"...","event":"error","data":"{...}"}}
//!
//! event: bourn-end
//! data: {"outcome":"aborted","status":200,"events":7,"requests":1}
//! ```
//!
//! A non-200 answer, a lost connection, an event over the decoder's limits
//! and a provider's own mid-stream error (Anthropic's `event: error`,
//! OpenAI's `response.failed`, an `{"error": …}` data object) all end the
//! run as `failed` with a typed [`Failure`]; [`AbortHandle::abort`] drops
//! the upstream connection at once and ends it as `aborted`.
//!
//! ```
//! use bourn_server::relay::{Outcome, Relay};
//! use bourn_server::Channel;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A stand-in for an LLM API: two tokens, then the end of the response.
//! let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("http://{}/v1/complete", upstream.local_addr()?);
//! tokio::spawn(async move {
//!     let (mut socket, _) = upstream.accept().await.unwrap();
//!     let mut request = vec![0; 4096];
//!     let _ = socket.read(&mut request).await;
//!     let reply = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n\
//!                  event: token\ndata: Hello\n\nevent: token\ndata: , world\n\n";
//!     let _ = socket.write_all(reply.as_bytes()).await;
//! });
//!
//! let channel = Channel::new();
//! let request = bourn_client::EventSource::builder(&url)
//!     .method(bourn_client::http::Method::POST)
//!     .body(r#"{"prompt":"hi"}"#);
//! let report = Relay::new(&channel, "run-1", request).run().await;
//! assert_eq!(report.outcome(), &Outcome::Completed);
//! assert_eq!(report.events(), 2);
//! // Every follower, now or later, replays `token`, `token`, `bourn-end`.
//! assert_eq!(channel.position("run-1").await?.seq(), 3);
//! # Ok(())
//! # }
//! ```
//!
//! In an axum app, spawn [`Relay::run`] from the handler that starts a run
//! and answer with the topic's name; followers subscribe with
//! [`Channel::respond`] and, to read the run from its start, a
//! `Last-Event-ID` of [`Relay::start_id`] when they send none.

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bourn_client::{ErrorKind, EventSource, Item};
use futures_core::Stream;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use crate::{Channel, Error, Event, EventId, EventType, LastEventId};

/// The type of the event that ends every relayed topic.
pub const END_EVENT: &str = "bourn-end";

/// Upstream event types that are a provider's report of a failed answer
/// after a `200`: Anthropic's `error`, OpenAI's `error` and
/// `response.failed` (Responses API).
pub const DEFAULT_ERROR_EVENTS: &[&str] = &["error", "response.failed"];

/// How long a publish into the topic is retried while the backend is
/// unavailable or its outcome unknown. Default: 30 s.
pub const DEFAULT_PUBLISH_DEADLINE: Duration = Duration::from_secs(30);

/// Reconnections with `Last-Event-ID` after a lost upstream connection,
/// when [`resume`](Relay::resume) is on. Default: 3.
pub const DEFAULT_MAX_RESUMES: u32 = 3;

/// Data of an upstream event past this many bytes is not kept in a
/// [`Failure`] (the event itself is published whole).
const FAILURE_DATA_LEN: usize = 4096;

/// Pipes one upstream SSE response into a channel topic; see the
/// [module docs](self).
#[must_use = "a relay does nothing until `run` is awaited"]
pub struct Relay {
    channel: Channel,
    topic: String,
    request: bourn_client::Builder,
    error_events: Vec<String>,
    error_data: bool,
    resume: bool,
    max_resumes: u32,
    publish_deadline: Duration,
    key_prefix: String,
    abort: AbortHandle,
}

impl fmt::Debug for Relay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay")
            .field("topic", &self.topic)
            .field("error_events", &self.error_events)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// A relay of the response to `request` into `topic` of `channel`.
    ///
    /// The request is sent in one-shot mode whatever the builder says
    /// (the end of the response is the end of the run, and a failed
    /// attempt is not retried: an LLM request is paid per call).
    pub fn new(
        channel: &Channel,
        topic: impl Into<String>,
        request: bourn_client::Builder,
    ) -> Relay {
        let topic = topic.into();
        Relay {
            channel: channel.clone(),
            key_prefix: format!("relay.{topic}"),
            topic,
            request,
            error_events: DEFAULT_ERROR_EVENTS
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
            error_data: true,
            resume: false,
            max_resumes: DEFAULT_MAX_RESUMES,
            publish_deadline: DEFAULT_PUBLISH_DEADLINE,
            abort: AbortHandle::default(),
        }
    }

    /// The upstream event types that end the run as a provider failure
    /// (the event is published first, so followers see it as sent).
    /// Default: [`DEFAULT_ERROR_EVENTS`].
    pub fn error_events<I, S>(mut self, types: I) -> Relay
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.error_events = types.into_iter().map(Into::into).collect();
        self
    }

    /// Whether a `message` event whose data is a JSON object with a
    /// top-level `"error"` member (OpenAI Chat Completions' mid-stream
    /// error) ends the run as a provider failure. Default: `true`.
    pub fn error_data(mut self, detect: bool) -> Relay {
        self.error_data = detect;
        self
    }

    /// Reconnect to the upstream after a lost connection, with
    /// `Last-Event-ID`, when it has sent event ids (an upstream that sends
    /// ids says it can resume; one that sends none is never asked twice).
    /// At most [`DEFAULT_MAX_RESUMES`] times unless
    /// [`max_resumes`](Relay::max_resumes) says otherwise. Default: off.
    pub fn resume(mut self, resume: bool) -> Relay {
        self.resume = resume;
        self
    }

    /// The most reconnections [`resume`](Relay::resume) makes.
    pub fn max_resumes(mut self, max: u32) -> Relay {
        self.max_resumes = max;
        self
    }

    /// How long one publish is retried while the backend is unavailable or
    /// did not answer (always with the same idempotency key, so a retry
    /// never publishes twice). Default: [`DEFAULT_PUBLISH_DEADLINE`].
    pub fn publish_deadline(mut self, deadline: Duration) -> Relay {
        self.publish_deadline = deadline;
        self
    }

    /// The prefix of the idempotency keys of this relay's publishes (the
    /// event's index is appended). Default: `relay.` and the topic name;
    /// give each run its own (the run id) when topics can be reused.
    pub fn idempotency_prefix(mut self, prefix: impl Into<String>) -> Relay {
        self.key_prefix = prefix.into();
        self
    }

    /// A handle that stops the relay from another task.
    pub fn abort_handle(&self) -> AbortHandle {
        self.abort.clone()
    }

    /// The `Last-Event-ID` that replays `topic` from its first event: what
    /// a follower that sends none should be subscribed with, so that it
    /// gets the whole run rather than only what comes next.
    pub async fn start_id(channel: &Channel, topic: &str) -> Result<LastEventId, Error> {
        let position = channel.position(topic).await?;
        Ok(LastEventId::from(EventId::new(position.epoch(), 0)))
    }

    /// Runs the relay to its end: makes the upstream request, publishes
    /// every upstream event, then the [`END_EVENT`]. Never fails: how it
    /// ended, and whether the end event was published, is in the
    /// [`Report`].
    pub async fn run(self) -> Report {
        let mut run = Run {
            relay: &self,
            report: Report {
                outcome: Outcome::Completed,
                status: None,
                events: 0,
                requests: 0,
                end: Err(EndError::NotPublished),
            },
        };
        let outcome = run.relay_upstream().await;
        run.report.outcome = outcome;
        let end = run.end_event();
        let key = format!("{}.end", self.key_prefix);
        run.report.end = match self.publish(&key, end).await {
            Ok(id) => Ok(id),
            Err(error) => Err(EndError::Publish(error)),
        };
        run.report
    }

    /// Publishes with retries while the outcome is unknown or the backend
    /// unavailable, up to the deadline; never retried after an abort.
    async fn publish(&self, key: &str, event: Event) -> Result<EventId, Error> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(20);
        loop {
            match self
                .channel
                .publish_idempotent(&self.topic, key, event.clone())
                .await
            {
                Ok(id) => return Ok(id),
                Err(error)
                    if (error.is_unavailable() || error.is_outcome_unknown())
                        && started.elapsed() + delay < self.publish_deadline =>
                {
                    tracing::debug!(topic = %self.topic, %error, "relay: publish retried");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn is_provider_error(&self, event: &bourn_client::MessageEvent) -> bool {
        let event_type = event.event_type();
        if self.error_events.iter().any(|t| t == event_type) {
            return true;
        }
        if !self.error_data || event_type != "message" {
            return false;
        }
        let data = event.data();
        data.trim_start().starts_with('{')
            && data.contains("\"error\"")
            && serde_json::from_str::<Map<String, Value>>(data)
                .is_ok_and(|object| object.get("error").is_some_and(|e| !e.is_null()))
    }
}

struct Run<'a> {
    relay: &'a Relay,
    report: Report,
}

impl Run<'_> {
    /// Reads the upstream until it ends, fails or the relay is aborted.
    async fn relay_upstream(&mut self) -> Outcome {
        let relay = self.relay;
        let mut last_id = String::new();
        let mut resumes = 0;
        'connections: loop {
            if relay.abort.is_aborted() {
                return Outcome::Aborted;
            }
            let mut request = relay.request.clone().one_shot(true);
            if !last_id.is_empty() {
                request = request.last_event_id(last_id.clone());
            }
            let mut source = match request.build() {
                Ok(source) => source,
                Err(error) => return Outcome::Failed(Failure::from_client(&error)),
            };
            self.report.requests += 1;
            loop {
                let item = tokio::select! {
                    biased;
                    () = relay.abort.aborted() => {
                        // Dropping the source closes the upstream connection now.
                        drop(source);
                        return Outcome::Aborted;
                    }
                    item = next(&mut source) => item,
                };
                match item {
                    None => return Outcome::Completed,
                    Some(Ok(Item::Open { status, .. })) => {
                        self.report.status = Some(status.as_u16())
                    }
                    Some(Ok(Item::Event(event))) => {
                        last_id = event.last_event_id().to_owned();
                        let provider_error = relay.is_provider_error(&event);
                        let key = format!("{}.{}", relay.key_prefix, self.report.events);
                        let published = relay.publish(&key, republished(&event)).await;
                        if let Err(error) = published {
                            return Outcome::Failed(Failure::publish(&error));
                        }
                        self.report.events += 1;
                        if provider_error {
                            return Outcome::Failed(Failure::provider(&event));
                        }
                        if relay.abort.is_aborted() {
                            return Outcome::Aborted;
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        let lost = matches!(
                            error.kind(),
                            ErrorKind::Disconnected | ErrorKind::IdleTimeout
                        );
                        if lost
                            && relay.resume
                            && !last_id.is_empty()
                            && resumes < relay.max_resumes
                        {
                            resumes += 1;
                            tracing::info!(topic = %relay.topic, %error, last_id, "relay: upstream lost, resuming");
                            continue 'connections;
                        }
                        return Outcome::Failed(Failure::from_client(&error));
                    }
                }
            }
        }
    }

    fn end_event(&self) -> Event {
        let report = &self.report;
        let mut data = Map::new();
        data.insert("outcome".into(), json!(report.outcome.as_str()));
        if let Some(status) = report.status {
            data.insert("status".into(), json!(status));
        }
        data.insert("events".into(), json!(report.events));
        data.insert("requests".into(), json!(report.requests));
        if let Outcome::Failed(failure) = &report.outcome {
            data.insert("error".into(), failure.to_json());
        }
        Event::builder()
            .event(EventType::from_static(END_EVENT))
            .data(Value::Object(data).to_string())
            .build()
    }
}

/// The upstream event as it is published: its type and data (the channel
/// gives it the topic's own id).
fn republished(event: &bourn_client::MessageEvent) -> Event {
    let builder = Event::builder().data(event.data_string());
    // A decoded type never holds a line break: `new` cannot refuse it.
    match EventType::new(event.event_type().to_owned()) {
        Ok(event_type) if event.event_type() != "message" => builder.event(event_type).build(),
        _ => builder.build(),
    }
}

async fn next(source: &mut EventSource) -> Option<Result<Item, bourn_client::Error>> {
    poll_fn(|cx| Pin::new(&mut *source).poll_next(cx)).await
}

/// How a relay ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The upstream ended its response (or sent the done sentinel).
    Completed,
    /// The upstream failed, or its events could not be published.
    Failed(Failure),
    /// [`AbortHandle::abort`] stopped it.
    Aborted,
}

impl Outcome {
    /// `completed`, `failed` or `aborted`: the `outcome` of the end event.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Failed(_) => "failed",
            Outcome::Aborted => "aborted",
        }
    }
}

/// What kind of [`Failure`] ended a relay: the `error.kind` of the end event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The upstream answered a status other than 200 (`status`).
    Status,
    /// A 200 that is not `text/event-stream` (`content_type`).
    ContentType,
    /// No connection, or no response head in time (`connect`).
    Connect,
    /// The open response was cut or went idle (`disconnected`).
    Disconnected,
    /// An upstream event was over the decoder's limits and dropped (`decode`).
    Decode,
    /// A redirect (they are not followed across hosts) (`redirect`).
    Redirect,
    /// The provider reported an error in the stream after its 200 (`provider`).
    Provider,
    /// An upstream event could not be published into the topic (`publish`).
    Publish,
    /// The request could not be made (`request`).
    Request,
}

impl FailureKind {
    /// The kind's name in the end event.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Status => "status",
            FailureKind::ContentType => "content_type",
            FailureKind::Connect => "connect",
            FailureKind::Disconnected => "disconnected",
            FailureKind::Decode => "decode",
            FailureKind::Redirect => "redirect",
            FailureKind::Provider => "provider",
            FailureKind::Publish => "publish",
            FailureKind::Request => "request",
        }
    }
}

/// Why a relay failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    kind: FailureKind,
    message: String,
    status: Option<u16>,
    event: Option<String>,
    data: Option<String>,
}

impl Failure {
    fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
            status: None,
            event: None,
            data: None,
        }
    }

    fn from_client(error: &bourn_client::Error) -> Failure {
        let kind = match error.kind() {
            ErrorKind::Status | ErrorKind::NoContent => FailureKind::Status,
            ErrorKind::ContentType => FailureKind::ContentType,
            ErrorKind::Connect | ErrorKind::ConnectTimeout | ErrorKind::Certificate => {
                FailureKind::Connect
            }
            ErrorKind::Disconnected | ErrorKind::IdleTimeout | ErrorKind::Eof => {
                FailureKind::Disconnected
            }
            ErrorKind::Decode => FailureKind::Decode,
            ErrorKind::Redirect => FailureKind::Redirect,
            _ => FailureKind::Request,
        };
        let mut message = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Failure {
            status: error.status().map(|s| s.as_u16()),
            data: error
                .body()
                .map(|body| truncated(&String::from_utf8_lossy(body))),
            ..Failure::new(kind, message)
        }
    }

    fn provider(event: &bourn_client::MessageEvent) -> Failure {
        let data = event.data();
        // The provider's own message where it has one: Anthropic's and
        // OpenAI's `{"error": {"message": …}}`, OpenAI's
        // `{"response": {"error": {"message": …}}}`.
        let message = serde_json::from_str::<Value>(data)
            .ok()
            .and_then(|value| {
                [
                    &value["error"]["message"],
                    &value["response"]["error"]["message"],
                    &value["message"],
                ]
                .into_iter()
                .find_map(|m| m.as_str().map(str::to_owned))
            })
            .unwrap_or_else(|| format!("the upstream sent a `{}` event", event.event_type()));
        Failure {
            event: Some(event.event_type().to_owned()),
            data: Some(truncated(data)),
            ..Failure::new(FailureKind::Provider, message)
        }
    }

    fn publish(error: &Error) -> Failure {
        let mut message = format!("an upstream event could not be published: {error}");
        if let Some(cause) = std::error::Error::source(error) {
            message.push_str(": ");
            message.push_str(&cause.to_string());
        }
        Failure::new(FailureKind::Publish, message)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// A one-line description, with the upstream's or provider's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The upstream's status, for [`FailureKind::Status`].
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The type of the provider's error event, for [`FailureKind::Provider`].
    pub fn event(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// The provider's error event data, or the first bytes of a refused
    /// response's body (up to 4 KiB).
    pub fn data(&self) -> Option<&str> {
        self.data.as_deref()
    }

    fn to_json(&self) -> Value {
        let mut error = Map::new();
        error.insert("kind".into(), json!(self.kind.as_str()));
        error.insert("message".into(), json!(self.message));
        if let Some(status) = self.status {
            error.insert("status".into(), json!(status));
        }
        if let Some(event) = &self.event {
            error.insert("event".into(), json!(event));
        }
        if let Some(data) = &self.data {
            error.insert("data".into(), json!(data));
        }
        Value::Object(error)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.kind.as_str())
    }
}

fn truncated(text: &str) -> String {
    if text.len() <= FAILURE_DATA_LEN {
        return text.to_owned();
    }
    let mut end = FAILURE_DATA_LEN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Why the end event is not known to be in the topic.
#[derive(Debug)]
#[non_exhaustive]
pub enum EndError {
    /// The relay ended before it tried (not returned by [`Relay::run`]).
    NotPublished,
    /// The publish failed: with [`Error::is_outcome_unknown`] it may still
    /// be in the topic; followers may see no end and should treat a long
    /// silence as unknown, not as finished.
    Publish(Error),
}

impl fmt::Display for EndError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndError::NotPublished => f.write_str("the end event was not published"),
            EndError::Publish(error) => write!(f, "the end event could not be published: {error}"),
        }
    }
}

impl std::error::Error for EndError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EndError::NotPublished => None,
            EndError::Publish(error) => Some(error),
        }
    }
}

/// How a relay went: [`Relay::run`]'s answer.
#[derive(Debug)]
pub struct Report {
    outcome: Outcome,
    status: Option<u16>,
    events: u64,
    requests: u32,
    end: Result<EventId, EndError>,
}

impl Report {
    /// How it ended.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// The upstream's status, once a response opened (always 200: any
    /// other is a [`FailureKind::Status`] failure, which carries it).
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// Upstream events published into the topic.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Upstream requests made: 1, or more after [`Relay::resume`]d losses.
    pub fn requests(&self) -> u32 {
        self.requests
    }

    /// The end event's id, or why it is not known to be published.
    pub fn end(&self) -> Result<EventId, &EndError> {
        self.end.as_ref().copied()
    }
}

/// Stops a [`Relay`] from another task: the upstream connection is closed
/// at once (or, during a publish, as soon as that publish returns), and the
/// topic ends with an `aborted` end event.
#[derive(Debug, Clone, Default)]
pub struct AbortHandle {
    inner: Arc<AbortInner>,
}

#[derive(Debug, Default)]
struct AbortInner {
    aborted: AtomicBool,
    notify: Notify,
}

impl AbortHandle {
    /// Aborts the relay. Idempotent; an ended relay is not affected.
    pub fn abort(&self) {
        self.inner.aborted.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether [`abort`](AbortHandle::abort) was called.
    pub fn is_aborted(&self) -> bool {
        self.inner.aborted.load(Ordering::SeqCst)
    }

    async fn aborted(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_aborted() {
                return;
            }
            notified.await;
        }
    }
}
