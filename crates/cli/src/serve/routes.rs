//! The hub's HTTP endpoints (axum).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Bound;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use bourn_codec::{Event, EventType};
use bourn_server::backend::Health;
use bourn_server::{Channel, KeepAlive, LastEventId, Shutdown, Sse, Subscription};
use bytes::Bytes;
use http::header::{ACCEPT, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Deserialize;
use serde_json::json;

use super::auth::{self, Denied};
use super::config::ServeArgs as Config;
use super::metrics::Metrics;
use super::run_routes;
use super::runs::{Runs, RunsConfig};
use super::trust;

/// The page served at `GET /`.
const PAGE: &str = include_str!("page.html");
/// The request header that can carry the event type of a publish.
pub const EVENT_HEADER: &str = "bourn-event";
/// The longest topic name, in bytes.
pub const MAX_TOPIC_LEN: usize = 128;
/// Event types remembered per topic for `GET /topics` (later ones are
/// published but not listed).
pub const MAX_TYPES_PER_TOPIC: usize = 64;
/// The longest event type a publish may set, in bytes.
pub const MAX_EVENT_TYPE_LEN: usize = 256;
/// Topics in one page of `GET /topics` unless `?limit=` says otherwise.
pub const DEFAULT_TOPICS_PAGE: usize = 100;
/// The most topics `?limit=` may ask for in one page.
pub const MAX_TOPICS_PAGE: usize = 1000;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct App {
    inner: Arc<AppInner>,
}

#[derive(Debug)]
struct AppInner {
    channel: Channel,
    config: Config,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
    runs: Arc<Runs>,
    /// Topics that were used, with the event types published to them (for
    /// the page, whose EventSource must name each type it listens to).
    topics: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

impl App {
    /// The hub's state over `channel`.
    pub fn new(channel: Channel, config: Config, runs: RunsConfig, shutdown: Shutdown) -> App {
        App {
            inner: Arc::new(AppInner {
                channel,
                runs: Arc::new(Runs::new(runs)),
                config,
                metrics: Arc::new(Metrics::default()),
                shutdown,
                topics: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    pub(super) fn channel(&self) -> &Channel {
        &self.inner.channel
    }

    pub(super) fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn runs(&self) -> &Arc<Runs> {
        &self.inner.runs
    }

    /// A subscriber's response: `subscription` with the hub's keep-alive,
    /// `retry` and shutdown.
    pub(super) fn stream(&self, subscription: Subscription) -> Response {
        let inner = &self.inner;
        inner.metrics.subscriptions.fetch_add(1, Ordering::Relaxed);
        let config = &inner.config;
        let sse = Sse::new(subscription)
            .keep_alive(KeepAlive::every(config.keep_alive.0))
            .retry(config.retry_hint.0)
            .shutdown(&inner.shutdown);
        IntoResponse::into_response(sse)
    }

    /// The body of a publish-like request, bounded in size (from
    /// `Content-Length` before reading, then while reading) and time, or
    /// the refusal to answer.
    pub(super) async fn bounded_body(
        &self,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Bytes, Response> {
        let config = &self.inner.config;
        // Refused from the announced length, before a byte of the body is read:
        // hyper answers `Expect: 100-continue` only once the body is polled, so
        // such a client gets this 413 instead of `100 Continue`.
        if content_length(headers).is_some_and(|length| length > config.max_body as u64) {
            return Err(self.too_large());
        }
        let read = tokio::time::timeout(config.body_timeout.0, read_body(body, config.max_body));
        let Ok(body) = read.await else {
            let mut response = self.reject(
                StatusCode::REQUEST_TIMEOUT,
                format_args!(
                    "the body did not arrive within {} (--body-timeout)",
                    humantime::format_duration(config.body_timeout.0)
                ),
            );
            // The rest of the body may still come: do not read it as a request.
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            return Err(response);
        };
        match body {
            Ok(body) => Ok(body),
            Err(BodyError::TooLarge) => Err(self.too_large()),
            Err(BodyError::Read(error)) => Err(self.reject(
                StatusCode::BAD_REQUEST,
                format_args!("could not read the body: {error}"),
            )),
        }
    }

    /// Publish-side checks (publishing, starting and aborting runs): the
    /// publish token, then the browser trust rules (CSRF). `what` names the
    /// action in a 401/403.
    pub(super) fn check_publisher(&self, headers: &HeaderMap, what: &str) -> Option<Response> {
        let config = &self.inner.config;
        if let Err(denied) = auth::check(config.publish_token.as_deref(), headers, None) {
            return Some(self.denied(denied, what));
        }
        trust::cross_site_publish(headers, &config.cors_origins)
            .map(|reason| self.reject(StatusCode::FORBIDDEN, reason))
    }

    /// The answer to a subscriber the channel refused: 429 beyond the
    /// topic limit, else the busy answer (never a 5xx a browser would give
    /// up on, unless the client asked for it).
    pub(super) fn turned_away(
        &self,
        topic: &str,
        error: &bourn_server::Error,
        headers: &HeaderMap,
    ) -> Response {
        if error.is_too_many_topics() {
            return self.too_many_topics();
        }
        tracing::debug!(%topic, %error, "subscriber turned away");
        Sse::<Subscription>::busy(headers, self.inner.config.retry_hint.0).into_response()
    }

    /// The answer to a channel error on a publish: 503 (nothing published),
    /// 504 (outcome unknown), 429 (too many topics).
    pub(super) fn publish_failed(&self, error: &bourn_server::Error) -> Response {
        if error.is_too_many_topics() {
            return self.too_many_topics();
        }
        if error.is_outcome_unknown() {
            return self.reject(
                StatusCode::GATEWAY_TIMEOUT,
                format_args!(
                    "outcome unknown: the hub's store did not answer ({}); the event may or may not have been published. Retry with the same Idempotency-Key header to publish it at most once",
                    cause(error)
                ),
            );
        }
        if error.is_unavailable() {
            return self.reject(
                StatusCode::SERVICE_UNAVAILABLE,
                format_args!(
                    "the hub's store cannot take events now ({}); nothing was published, retry later",
                    cause(error)
                ),
            );
        }
        self.reject(
            StatusCode::BAD_REQUEST,
            format_args!("invalid event: {error}"),
        )
    }

    /// The counters, shared with the accept loop.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.inner.metrics)
    }

    /// The routes.
    pub fn router(self) -> Router {
        Router::new()
            .route("/", get(page))
            .route("/health", get(health))
            .route("/ready", get(ready))
            .route("/metrics", get(metrics))
            .route("/topics", get(list_topics))
            .route("/topics/{topic}", get(subscribe).post(publish))
            .route("/runs", get(run_routes::list).post(run_routes::create))
            .route("/runs/view", get(run_routes::page))
            .route(
                "/runs/{id}",
                get(run_routes::describe).delete(run_routes::abort),
            )
            .route("/runs/{id}/abort", post(run_routes::abort))
            .route("/runs/{id}/events", get(run_routes::follow))
            .fallback(not_found)
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                check_host,
            ))
            .with_state(self)
    }

    fn topics(&self) -> MutexGuard<'_, BTreeMap<String, BTreeSet<String>>> {
        // A panic elsewhere cannot leave this map half-written.
        self.inner
            .topics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the hub can list one more topic: it lists at most
    /// --max-topics; topics the channel no longer knows (expired) leave.
    fn room_for(&self, topic: &str) -> bool {
        let mut topics = self.topics();
        if topics.contains_key(topic) || topics.len() < self.inner.config.max_topics {
            return true;
        }
        let known: BTreeSet<String> = self.inner.channel.topics().into_iter().collect();
        topics.retain(|name, _| known.contains(name));
        topics.len() < self.inner.config.max_topics
    }

    fn note_topic(&self, topic: &str, event_type: Option<&str>) {
        let mut topics = self.topics();
        if !topics.contains_key(topic) && topics.len() >= self.inner.config.max_topics {
            return;
        }
        let types = topics.entry(topic.to_owned()).or_default();
        if let Some(event_type) = event_type {
            if types.len() < MAX_TYPES_PER_TOPIC {
                types.insert(event_type.to_owned());
            }
        }
    }

    /// A refusal: `status`, a one-line plain-text reason, counted in the metrics.
    pub(super) fn reject(&self, status: StatusCode, message: impl fmt::Display) -> Response {
        self.inner.metrics.reject(status.as_u16());
        tracing::debug!(%status, %message, "request refused");
        let mut response = (status, format!("{message}\n")).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"bourn\""),
            );
        }
        response
    }

    pub(super) fn denied(&self, denied: Denied, what: &str) -> Response {
        match denied {
            Denied::Missing => self.reject(
                StatusCode::UNAUTHORIZED,
                format_args!("{what} needs a token: Authorization: Bearer <token>"),
            ),
            Denied::Wrong => self.reject(
                StatusCode::FORBIDDEN,
                format_args!("wrong token for {what}"),
            ),
        }
    }

    /// The refusal of an invalid topic name, if it is one.
    fn refuse_topic(&self, topic: &str) -> Option<Response> {
        if valid_topic(topic) {
            return None;
        }
        Some(self.reject(
            StatusCode::BAD_REQUEST,
            format_args!(
                "invalid topic name: use 1 to {MAX_TOPIC_LEN} characters among A-Z a-z 0-9 . _ ~ -"
            ),
        ))
    }

    pub(super) fn too_large(&self) -> Response {
        let mut response = self.reject(
            StatusCode::PAYLOAD_TOO_LARGE,
            format_args!(
                "the body is larger than the hub's limit of {} bytes (--max-body)",
                self.inner.config.max_body
            ),
        );
        // The body is left unread: the connection cannot carry another request.
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        response
    }

    pub(super) fn too_many_topics(&self) -> Response {
        self.reject(
            StatusCode::TOO_MANY_REQUESTS,
            format_args!(
                "the hub has its maximum of {} topics (--max-topics)",
                self.inner.config.max_topics
            ),
        )
    }
}

/// Whether `topic` is a valid topic name: 1 to 128 of `A-Za-z0-9._~-` (the
/// URL-safe characters, so a topic's URL never needs escaping).
pub fn valid_topic(topic: &str) -> bool {
    (1..=MAX_TOPIC_LEN).contains(&topic.len())
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'))
}

/// Query parameters the hub reads (others, such as `lastEventId`, are read
/// elsewhere or ignored).
#[derive(Debug, Deserialize)]
struct Params {
    token: Option<String>,
    event: Option<String>,
    /// `GET /topics`: the page size.
    limit: Option<usize>,
    /// `GET /topics`: the page starts after this name (the `next` of the
    /// previous page).
    after: Option<String>,
    /// `GET /topics`: only this topic.
    name: Option<String>,
}

/// Refuses requests whose `Host` a loopback-bound hub does not answer
/// (DNS rebinding), with 421 Misdirected Request.
async fn check_host(
    State(app): State<App>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let config = &app.inner.config;
    if trust::host_allowed(config.addr, request.headers(), &config.allowed_hosts) {
        return next.run(request).await;
    }
    app.reject(
        StatusCode::MISDIRECTED_REQUEST,
        "this hub listens on a loopback address and answers only loopback host names; allow another with --allowed-host",
    )
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// Liveness (Kubernetes' convention): the process is up and answering. It
/// does not look at the store, so an outage of a shared Redis does not get
/// every hub restarted; `/ready` says whether to send clients here.
async fn health() -> &'static str {
    "ok\n"
}

/// Readiness: 200 while the hub can take subscribers and publishes; 503
/// with the reason while it is shutting down, while the store reports
/// itself unhealthy (a silent Pub/Sub connection, a disk that refuses
/// commits), or at `--max-subscribers`.
async fn ready(State(app): State<App>) -> Response {
    let unavailable = |reason: String| (StatusCode::SERVICE_UNAVAILABLE, reason).into_response();
    if app.inner.shutdown.is_triggered() {
        return unavailable("shutting down\n".to_owned());
    }
    let stats = app.inner.channel.stats();
    if let Health::Unhealthy(reason) = stats.backend_health {
        return unavailable(format!("backend unhealthy: {reason}\n"));
    }
    let max = app.inner.config.max_subscribers;
    if stats.subscribers >= max {
        return unavailable(format!(
            "full: {} subscribers, the --max-subscribers limit is {max}\n",
            stats.subscribers
        ));
    }
    "ready\n".into_response()
}

async fn metrics(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(denied) = auth::check(app.inner.config.metrics_token.as_deref(), &headers, None) {
        return app.denied(denied, "reading /metrics");
    }
    let topics = app.topics().len();
    let mut text = app.inner.metrics.render(&app.inner.channel.stats(), topics);
    app.inner.runs.render(&mut text);
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response()
}

async fn not_found(State(app): State<App>, uri: Uri) -> Response {
    app.reject(
        StatusCode::NOT_FOUND,
        format_args!(
            "no such endpoint: {}; try GET /, GET|POST /topics/<name>, GET /topics, /health, /ready, /metrics",
            uri.path()
        ),
    )
}

async fn list_topics(
    State(app): State<App>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    let config = &app.inner.config;
    if let Err(denied) = auth::check(
        config.subscribe_token.as_deref(),
        &headers,
        params.token.as_deref(),
    ) {
        return app.denied(denied, "listing topics");
    }
    let limit = params.limit.unwrap_or(DEFAULT_TOPICS_PAGE);
    if !(1..=MAX_TOPICS_PAGE).contains(&limit) {
        return app.reject(
            StatusCode::BAD_REQUEST,
            format_args!("`limit` must be 1 to {MAX_TOPICS_PAGE}"),
        );
    }
    let channel = &app.inner.channel;
    // One page, in name order, and whether another follows.
    let (listed, more) = {
        let topics = app.topics();
        let mut page: Vec<(String, BTreeSet<String>)> = match (&params.name, &params.after) {
            (Some(name), _) => topics
                .get_key_value(name.as_str())
                .map(|(name, types)| (name.clone(), types.clone()))
                .into_iter()
                .collect(),
            (None, after) => {
                let start = match after {
                    Some(after) => Bound::Excluded(after.as_str()),
                    None => Bound::Unbounded,
                };
                topics
                    .range::<str, _>((start, Bound::Unbounded))
                    .take(limit + 1)
                    .map(|(name, types)| (name.clone(), types.clone()))
                    .collect()
            }
        };
        let more = page.len() > limit;
        page.truncate(limit);
        (page, more)
    };
    let next = more
        .then(|| listed.last().map(|(name, _)| name.clone()))
        .flatten();
    let mut topics = Vec::with_capacity(listed.len());
    for (name, types) in listed {
        let last_id = match channel.position(&name).await {
            Ok(position) => Some(position.to_string()),
            Err(error) => {
                tracing::debug!(topic = %name, %error, "position unavailable");
                None
            }
        };
        topics.push(json!({
            "name": name,
            "subscribers": channel.topic_subscriber_count(&name),
            "last_id": last_id,
            "types": types,
        }));
    }
    axum::Json(json!({ "topics": topics, "next": next })).into_response()
}

async fn subscribe(
    State(app): State<App>,
    Path(topic): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Some(response) = app.refuse_topic(&topic) {
        return response;
    }
    let inner = &app.inner;
    let config = &inner.config;
    if let Err(denied) = auth::check(
        config.subscribe_token.as_deref(),
        &headers,
        params.token.as_deref(),
    ) {
        return app.denied(denied, "subscribing");
    }
    if !app.room_for(&topic) {
        return app.too_many_topics();
    }
    let last_event_id =
        LastEventId::from_parts(&headers, &uri, Some(LastEventId::DEFAULT_QUERY_PARAM));
    let subscription = match inner.channel.subscribe(&topic, last_event_id.as_ref()) {
        Ok(subscription) => subscription,
        Err(error) => return app.turned_away(&topic, &error, &headers),
    };
    app.note_topic(&topic, None);
    app.stream(subscription)
}

/// `POST /topics/{topic}` with `Content-Type: application/json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishJson {
    /// The event type.
    event: Option<String>,
    /// The data: a string as is, any other JSON value as compact JSON text.
    data: serde_json::Value,
}

async fn publish(
    State(app): State<App>,
    Path(topic): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(response) = app.refuse_topic(&topic) {
        return response;
    }
    let inner = &app.inner;
    if let Some(response) = app.check_publisher(&headers, "publishing") {
        return response;
    }
    if !app.room_for(&topic) {
        return app.too_many_topics();
    }
    let body = match app.bounded_body(&headers, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let (event_type, data) = if is_json(&headers) {
        match serde_json::from_slice::<PublishJson>(&body) {
            Ok(PublishJson { event, data }) => {
                let data = match data {
                    serde_json::Value::String(text) => text,
                    other => other.to_string(),
                };
                (event, data)
            }
            Err(error) => {
                return app.reject(
                    StatusCode::BAD_REQUEST,
                    format_args!("invalid JSON body (expected {{\"event\": \"type\", \"data\": \"…\"}}): {error}"),
                );
            }
        }
    } else {
        let Ok(data) = String::from_utf8(body.to_vec()) else {
            return app.reject(StatusCode::BAD_REQUEST, "the body is not UTF-8 text");
        };
        let header = match headers.get(EVENT_HEADER).map(|value| value.to_str()) {
            None => None,
            Some(Ok(header)) => Some(header),
            Some(Err(_)) => {
                return app.reject(
                    StatusCode::BAD_REQUEST,
                    format_args!(
                        "the {EVENT_HEADER} header is not visible ASCII: send a non-ASCII event type as ?event= (percent-encoded UTF-8) or in a JSON body"
                    ),
                );
            }
        };
        let event_type = params.event.or_else(|| header.map(str::to_owned));
        (event_type, data)
    };
    let event_type = event_type.filter(|event_type| !event_type.is_empty());
    if let Some(reason) = event_type.as_deref().and_then(trust::refused_event_type) {
        return app.reject(StatusCode::BAD_REQUEST, reason);
    }
    if let Some(event_type) = &event_type {
        if event_type.len() > MAX_EVENT_TYPE_LEN {
            return app.reject(
                StatusCode::BAD_REQUEST,
                format_args!(
                    "the event type is {} bytes long; the hub's limit is {MAX_EVENT_TYPE_LEN}",
                    event_type.len()
                ),
            );
        }
    }
    let mut builder = Event::builder().data(data);
    if let Some(event_type) = &event_type {
        match EventType::new(event_type.as_str()) {
            Ok(event_type) => builder = builder.event(event_type),
            Err(error) => {
                return app.reject(
                    StatusCode::BAD_REQUEST,
                    format_args!("invalid event: {error}"),
                );
            }
        }
    }
    let event = builder.build();
    let key = match idempotency_key(&headers) {
        Ok(key) => key,
        Err(response) => return app.reject(StatusCode::BAD_REQUEST, response),
    };
    let published = match key {
        Some(key) => inner.channel.publish_idempotent(&topic, key, event).await,
        None => inner.channel.publish(&topic, event).await,
    };
    let id = match published {
        Ok(id) => id,
        Err(error) => return app.publish_failed(&error),
    };
    app.note_topic(&topic, event_type.as_deref());
    tracing::debug!(%topic, %id, "published");
    if accepts_json(&headers) {
        return axum::Json(json!({ "id": id.to_string(), "topic": topic })).into_response();
    }
    format!("{id}\n").into_response()
}

/// The request header carrying a publish's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// The longest idempotency key, in bytes.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 256;

/// The `Idempotency-Key` header, if any: 1 to 256 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, String> {
    let Some(value) = headers.get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|key| (1..=MAX_IDEMPOTENCY_KEY_LEN).contains(&key.len()))
        .filter(|key| key.bytes().all(|b| b.is_ascii_graphic()));
    match key {
        Some(key) => Ok(Some(key)),
        None => Err(format!(
            "invalid Idempotency-Key: use 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"
        )),
    }
}

/// The backend's reason behind a channel error, for a response.
fn cause(error: &bourn_server::Error) -> String {
    std::error::Error::source(error)
        .map(|source| {
            let mut text = source.to_string();
            let mut next = source.source();
            while let Some(inner) = next {
                text.push_str(": ");
                text.push_str(&inner.to_string());
                next = inner.source();
            }
            text
        })
        .unwrap_or_else(|| "unavailable".to_owned())
}

enum BodyError {
    TooLarge,
    Read(String),
}

/// The declared `Content-Length`, if any and valid (hyper refuses invalid
/// ones before the handler).
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The whole body, refused past `max` bytes while reading (a chunked body;
/// a declared `Content-Length` is checked before, by the caller).
async fn read_body(body: Body, max: usize) -> Result<Bytes, BodyError> {
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(BodyError::TooLarge)
        }
        Err(error) => Err(BodyError::Read(error.to_string())),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

fn accepts_json(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        let long = "a".repeat(MAX_TOPIC_LEN);
        let too_long = "a".repeat(MAX_TOPIC_LEN + 1);
        let cases = [
            ("news", true),
            ("a.b_c~d-E9", true),
            (long.as_str(), true),
            ("", false),
            (too_long.as_str(), false),
            ("a b", false),
            ("a/b", false),
            ("é", false),
            ("a%20", false),
        ];
        for (topic, valid) in cases {
            assert_eq!(valid_topic(topic), valid, "{topic:?}");
        }
    }
}
