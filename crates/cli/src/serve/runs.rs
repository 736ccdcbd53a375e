//! Resumable runs: `POST /runs` makes **one** upstream SSE request (an LLM
//! API, say) and relays its events into a topic of the hub's channel, which
//! any number of followers read with a plain `EventSource` at
//! `GET /runs/ID/events`, resuming with `Last-Event-ID` on any node, until a
//! `bourn-end` event says how the run ended. `DELETE /runs/ID` (or
//! `POST /runs/ID/abort`) stops it.
//!
//! An open relay would be a weapon, so: upstreams are configured by name
//! (`--upstream NAME=URL`, with the headers the hub adds itself:
//! `--upstream-header NAME=Header: value`); a raw URL only matches an
//! operator's `--run-url-prefix`; private, loopback and link-local
//! addresses are refused (checked on the connection's own resolution)
//! unless `--allow-private-upstreams`; redirects are not followed; only
//! the headers of `--run-forward-header` go upstream from the client (never
//! `Authorization` or `Cookie`); runs are bounded per client and in total.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bourn_codec::{Decoder, Event, EventType, Frame};
use bourn_server::relay::{AbortHandle, END_EVENT, Outcome, Relay, Report};
use bourn_server::{Channel, EventId, LastEventId};
use futures_util::StreamExt;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Uri};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::watch;

/// The type of the event that opens every run's topic (so that any node
/// can tell a run that exists from an unknown id before its first token).
pub const START_EVENT: &str = "bourn-run";
/// Concurrent runs on this hub. Default: 64.
pub const DEFAULT_MAX_RUNS: usize = 64;
/// Concurrent runs per client (its token, or its address when the hub has
/// no publish token). Default: 4.
pub const DEFAULT_MAX_RUNS_PER_CLIENT: usize = 4;
/// The request headers a run may forward upstream unless
/// `--run-forward-header` says otherwise.
pub const DEFAULT_FORWARD_HEADERS: &[&str] =
    &["anthropic-version", "anthropic-beta", "openai-beta"];
/// Headers that never go upstream from a client, whatever the allow-list.
const NEVER_FORWARDED: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "last-event-id",
    "te",
    "upgrade",
];
/// Ended runs the hub still answers `GET /runs/ID` for (older ones are
/// forgotten here; their topics live on with the topic ttl).
const MAX_ENDED: usize = 1024;
/// How long `DELETE /runs/ID` waits for the run's end event.
const ABORT_WAIT: Duration = Duration::from_secs(2);

/// One configured upstream.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Where runs of this upstream go.
    pub url: Uri,
    /// Headers the hub adds (the credential), over any the client sent.
    pub headers: HeaderMap,
    /// Reconnect with `Last-Event-ID` after a lost connection if the
    /// upstream sent ids (`--upstream-resume NAME`).
    pub resume: bool,
}

/// The runs options in force.
#[derive(Debug, Clone, Default)]
pub struct RunsConfig {
    pub upstreams: BTreeMap<String, Upstream>,
    /// Raw URLs a run may name: those that start with one of these.
    pub url_prefixes: Vec<String>,
    pub allow_private: bool,
    pub max_runs: usize,
    pub max_runs_per_client: usize,
    pub forward_headers: Vec<HeaderName>,
}

/// The runs options as given (flags, environment, file), parsed by
/// [`RunsConfig::parse`].
#[derive(Debug, Clone, Default)]
pub struct RunsOptions {
    /// `NAME=URL`.
    pub upstreams: Vec<String>,
    /// `NAME=Header-Name: value`; `${VAR}` in the value is read from the
    /// environment at start.
    pub upstream_headers: Vec<String>,
    /// Upstream names that may be resumed with `Last-Event-ID`.
    pub upstream_resume: Vec<String>,
    pub url_prefixes: Vec<String>,
    pub allow_private: bool,
    pub max_runs: Option<usize>,
    pub max_runs_per_client: Option<usize>,
    /// `None`: [`DEFAULT_FORWARD_HEADERS`].
    pub forward_headers: Option<Vec<String>>,
}

impl RunsConfig {
    /// Checks and parses `options`; `env` reads a variable (the process
    /// environment, or a table in tests).
    pub fn parse(
        options: &RunsOptions,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<RunsConfig, String> {
        let mut upstreams = BTreeMap::new();
        for spec in &options.upstreams {
            let (name, url) =
                split_upstream(spec).map_err(|error| format!("--upstream `{spec}`: {error}"))?;
            let upstream = Upstream {
                url,
                headers: HeaderMap::new(),
                resume: false,
            };
            if upstreams.insert(name.to_owned(), upstream).is_some() {
                return Err(format!("--upstream `{name}` is given twice"));
            }
        }
        for spec in &options.upstream_headers {
            let what = "--upstream-header";
            let (name, header) = spec
                .split_once('=')
                .ok_or_else(|| format!("{what}: expected NAME=Header-Name: value"))?;
            let upstream = upstreams
                .get_mut(name.trim())
                .ok_or_else(|| format!("{what}: no --upstream named `{}`", name.trim()))?;
            let (header, value) = header
                .split_once(':')
                .ok_or_else(|| format!("{what} for `{name}`: expected Header-Name: value"))?;
            let header = HeaderName::try_from(header.trim()).map_err(|_| {
                format!(
                    "{what} for `{name}`: `{}` is not a header name",
                    header.trim()
                )
            })?;
            let value = expand(value.trim(), &env)
                .map_err(|error| format!("{what} {header} for `{name}`: {error}"))?;
            let value = HeaderValue::try_from(value).map_err(|_| {
                format!("{what} {header} for `{name}`: the value is not a valid header value")
            })?;
            upstream.headers.append(header, value);
        }
        for name in &options.upstream_resume {
            upstreams
                .get_mut(name.trim())
                .ok_or_else(|| format!("--upstream-resume: no --upstream named `{}`", name.trim()))?
                .resume = true;
        }
        for prefix in &options.url_prefixes {
            check_url_prefix(prefix)
                .map_err(|error| format!("--run-url-prefix `{prefix}`: {error}"))?;
        }
        let mut forward_headers = Vec::new();
        let names: Vec<String> = match &options.forward_headers {
            Some(names) => names.clone(),
            None => DEFAULT_FORWARD_HEADERS
                .iter()
                .map(|n| (*n).to_owned())
                .collect(),
        };
        for name in names.iter().filter(|name| !name.is_empty()) {
            let header = HeaderName::try_from(name.trim())
                .map_err(|_| format!("--run-forward-header `{name}` is not a header name"))?;
            if NEVER_FORWARDED.contains(&header.as_str()) {
                return Err(format!(
                    "--run-forward-header `{name}`: the hub never forwards {header} from a client (give a credential with --upstream-header)"
                ));
            }
            forward_headers.push(header);
        }
        let max_runs = options.max_runs.unwrap_or(DEFAULT_MAX_RUNS);
        let max_runs_per_client = options
            .max_runs_per_client
            .unwrap_or(DEFAULT_MAX_RUNS_PER_CLIENT);
        if max_runs == 0 || max_runs_per_client == 0 {
            return Err("--max-runs and --max-runs-per-client must be at least 1".to_owned());
        }
        Ok(RunsConfig {
            upstreams,
            url_prefixes: options.url_prefixes.clone(),
            allow_private: options.allow_private,
            max_runs,
            max_runs_per_client,
            forward_headers,
        })
    }

    /// Whether runs are possible at all.
    pub fn enabled(&self) -> bool {
        !self.upstreams.is_empty() || !self.url_prefixes.is_empty()
    }
}

/// `--upstream`'s own check of one `NAME=URL` (so that a bad one in the
/// `--config` file is named with its line).
pub fn upstream_spec(spec: &str) -> Result<String, String> {
    split_upstream(spec).map(|_| spec.to_owned())
}

/// `--run-url-prefix`'s own check of one prefix.
pub fn url_prefix(prefix: &str) -> Result<String, String> {
    check_url_prefix(prefix).map(|()| prefix.to_owned())
}

/// A `NAME=URL`'s name and URL, checked.
fn split_upstream(spec: &str) -> Result<(&str, Uri), String> {
    let (name, url) = spec
        .split_once('=')
        .ok_or_else(|| "expected NAME=URL".to_owned())?;
    let name = name.trim();
    if !valid_name(name) {
        return Err("the name must be 1 to 64 of A-Z a-z 0-9 . _ -".to_owned());
    }
    Ok((name, parse_url(url.trim())?))
}

/// A raw-URL prefix must be a URL whose host is ended (by a path): one that
/// ends inside the host would let `https://api.example.com.evil.test` in.
fn check_url_prefix(prefix: &str) -> Result<(), String> {
    let url = parse_url(prefix)?;
    if url.path() == "/" && !prefix.ends_with('/') {
        return Err(format!(
            "end the host with a path (`{prefix}/`), or any host that starts the same way would match"
        ));
    }
    Ok(())
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn parse_url(text: &str) -> Result<Uri, String> {
    let url: Uri = text
        .parse()
        .map_err(|error| format!("not a URL ({error})"))?;
    match url.scheme_str() {
        Some("http" | "https") if url.host().is_some() => Ok(url),
        _ => Err("expected an http:// or https:// URL with a host".to_owned()),
    }
}

/// `${VAR}` replaced by the variable's value; a missing variable is an
/// error (a credential must not silently go out empty).
fn expand(value: &str, env: &impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "an unclosed `${` in the value".to_owned())?;
        let var = &after[..end];
        let found = env(var).ok_or_else(|| format!("the environment variable {var} is not set"))?;
        out.push_str(&found);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether a run may connect to `ip` without `--allow-private-upstreams`:
/// not loopback, private (RFC 1918, ULA), link-local, CGNAT, unspecified,
/// multicast, documentation or an IPv4-mapped form of one.
pub fn public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
                || (a == 198 && (b == 18 || b == 19))) // benchmarking 198.18/15
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
        }
    }
}

/// `POST /runs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// A configured upstream's name.
    pub upstream: Option<String>,
    /// A raw URL (only under a `--run-url-prefix`).
    pub url: Option<String>,
    /// Default: `POST`.
    pub method: Option<String>,
    /// A string is sent as is (`text/plain`), any other JSON value as JSON.
    pub body: Option<Value>,
    /// Request headers from the `--run-forward-header` allow-list.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// Why a run was not started: the status and a one-line reason.
#[derive(Debug)]
pub struct Refusal {
    pub status: http::StatusCode,
    pub message: String,
}

impl Refusal {
    fn bad(message: impl Into<String>) -> Refusal {
        Refusal {
            status: http::StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

/// How far a run is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    Running,
    /// `completed`, `failed` or `aborted`, with the end event's data.
    Ended {
        outcome: &'static str,
        end: Value,
    },
}

struct RunEntry {
    upstream: String,
    client: String,
    created: SystemTime,
    abort: AbortHandle,
    state: watch::Receiver<RunState>,
}

#[derive(Default)]
struct Registry {
    runs: HashMap<String, RunEntry>,
    /// Ended runs, oldest first, for forgetting.
    ended: VecDeque<String>,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct RunCounters {
    pub started: AtomicU64,
    pub completed: AtomicU64,
    pub failed: AtomicU64,
    pub aborted: AtomicU64,
    pub upstream_requests: AtomicU64,
    pub refused_limit: AtomicU64,
}

/// The hub's runs: the configuration, the runs this node drives.
pub struct Runs {
    config: RunsConfig,
    registry: Mutex<Registry>,
    pub counters: RunCounters,
}

impl std::fmt::Debug for Runs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runs")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The topic of run `id`: `/` is not allowed in public topic names, so no
/// publisher can write into a run, and no `/topics/…` URL reaches it.
pub fn topic(id: &str) -> String {
    format!("runs/{id}")
}

/// The control topic where an abort request for run `id` goes (any node's
/// `DELETE` reaches the node that drives the run).
fn control_topic(id: &str) -> String {
    format!("runs/{id}/abort")
}

/// Whether `id` looks like a run id (32 lowercase hex digits).
pub fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Runs {
    pub fn new(config: RunsConfig) -> Runs {
        Runs {
            config,
            registry: Mutex::new(Registry::default()),
            counters: RunCounters::default(),
        }
    }

    pub fn config(&self) -> &RunsConfig {
        &self.config
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The upstream request a run asks for, checked against the options.
    pub fn request(
        &self,
        run: &RunRequest,
    ) -> Result<(String, bourn_client::Builder, bool), Refusal> {
        let config = &self.config;
        let (label, url, extra, resume) = match (&run.upstream, &run.url) {
            (Some(name), None) => {
                let upstream = config.upstreams.get(name).ok_or_else(|| {
                    let names: Vec<&str> = config.upstreams.keys().map(String::as_str).collect();
                    Refusal::bad(format!(
                        "unknown upstream `{name}` (this hub has: {})",
                        if names.is_empty() {
                            "none".to_owned()
                        } else {
                            names.join(", ")
                        }
                    ))
                })?;
                (
                    name.clone(),
                    upstream.url.to_string(),
                    upstream.headers.clone(),
                    upstream.resume,
                )
            }
            (None, Some(url)) => {
                if !config
                    .url_prefixes
                    .iter()
                    .any(|prefix| url.starts_with(prefix.as_str()))
                {
                    return Err(Refusal {
                        status: http::StatusCode::FORBIDDEN,
                        message: "this URL is not under a --run-url-prefix of the hub: name a configured upstream instead".to_owned(),
                    });
                }
                parse_url(url).map_err(|error| Refusal::bad(format!("`url`: {error}")))?;
                ("url".to_owned(), url.clone(), HeaderMap::new(), false)
            }
            (Some(_), Some(_)) => {
                return Err(Refusal::bad("give either `upstream` or `url`, not both"));
            }
            (None, None) => return Err(Refusal::bad("a run needs an `upstream` (or a `url`)")),
        };
        let method = match run.method.as_deref() {
            None => Method::POST,
            Some(method) => Method::from_bytes(method.as_bytes())
                .map_err(|_| Refusal::bad(format!("`method`: `{method}` is not an HTTP method")))?,
        };
        let mut request = bourn_client::EventSource::builder(&url)
            .method(method)
            // Redirects are not followed: an upstream is one origin.
            .max_redirects(0)
            .no_proxy();
        for (name, value) in &run.headers {
            let header = HeaderName::try_from(name.as_str())
                .map_err(|_| Refusal::bad(format!("`headers`: `{name}` is not a header name")))?;
            if !config.forward_headers.contains(&header) {
                return Err(Refusal::bad(format!(
                    "`headers`: the hub does not forward {header} upstream (allowed: {})",
                    config
                        .forward_headers
                        .iter()
                        .map(HeaderName::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            let value = HeaderValue::try_from(value.as_str()).map_err(|_| {
                Refusal::bad(format!(
                    "`headers`: the value of {header} is not a valid header value"
                ))
            })?;
            request = request.header(header, value);
        }
        match &run.body {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) => {
                request = request
                    .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                    .body(text.clone());
            }
            Some(value) => {
                request = request
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(value.to_string());
            }
        }
        // The hub's own headers last: a client cannot replace the credential.
        for (name, value) in &extra {
            request = request.header(name.clone(), value.clone());
        }
        if !config.allow_private {
            request = request.address_filter(public_address);
        }
        Ok((label, request, resume))
    }

    /// Whether `client` may start one more run now.
    fn admit(&self, client: &str) -> Result<(), Refusal> {
        let registry = self.registry();
        let running = registry
            .runs
            .values()
            .filter(|run| *run.state.borrow() == RunState::Running);
        let (total, mine) = running.fold((0, 0), |(total, mine), run| {
            (total + 1, mine + usize::from(run.client == client))
        });
        let refusal = |message: String| Refusal {
            status: http::StatusCode::TOO_MANY_REQUESTS,
            message,
        };
        if total >= self.config.max_runs {
            return Err(refusal(format!(
                "the hub runs its maximum of {} runs (--max-runs); retry when one ends",
                self.config.max_runs
            )));
        }
        if mine >= self.config.max_runs_per_client {
            return Err(refusal(format!(
                "you have {mine} runs going, the most a client may have (--max-runs-per-client); retry when one ends"
            )));
        }
        Ok(())
    }

    /// Starts a run: publishes its start event, then relays the upstream
    /// in a task of its own. Returns the run's id.
    pub async fn start(
        self: &Arc<Self>,
        channel: &Channel,
        client: String,
        run: &RunRequest,
    ) -> Result<String, StartError> {
        let (label, request, resume) = self.request(run).map_err(StartError::Refused)?;
        if let Err(refusal) = self.admit(&client) {
            self.counters.refused_limit.fetch_add(1, Ordering::Relaxed);
            return Err(StartError::Refused(refusal));
        }
        let id = new_id();
        let topic = topic(&id);
        let start = Event::builder()
            .event(EventType::from_static(START_EVENT))
            .data(json!({ "id": id, "upstream": label }).to_string())
            .build();
        // Subscribed before the start event exists: an abort from any node
        // reaches this one from now on.
        let control = channel
            .subscribe(&control_topic(&id), None)
            .map_err(StartError::Publish)?;
        channel
            .publish_idempotent(&topic, &format!("{id}.start"), start)
            .await
            .map_err(StartError::Publish)?;
        let relay = Relay::new(channel, topic.clone(), request)
            .resume(resume)
            .idempotency_prefix(id.clone());
        let abort = relay.abort_handle();
        let (state_tx, state_rx) = watch::channel(RunState::Running);
        self.registry().runs.insert(
            id.clone(),
            RunEntry {
                upstream: label.clone(),
                client,
                created: SystemTime::now(),
                abort: abort.clone(),
                state: state_rx,
            },
        );
        self.counters.started.fetch_add(1, Ordering::Relaxed);
        tracing::info!(run = %id, upstream = %label, "run started");
        let runs = Arc::clone(self);
        let run_id = id.clone();
        tokio::spawn(async move {
            let watcher = tokio::spawn(abort_on_request(control, abort));
            let report = relay.run().await;
            watcher.abort();
            runs.ended(&run_id, &report, &state_tx);
        });
        Ok(id)
    }

    fn ended(&self, id: &str, report: &Report, state: &watch::Sender<RunState>) {
        let counters = &self.counters;
        let counter = match report.outcome() {
            Outcome::Completed => &counters.completed,
            Outcome::Failed(_) => &counters.failed,
            Outcome::Aborted => &counters.aborted,
            _ => &counters.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        counters
            .upstream_requests
            .fetch_add(u64::from(report.requests()), Ordering::Relaxed);
        let mut end = json!({
            "outcome": report.outcome().as_str(),
            "events": report.events(),
            "requests": report.requests(),
        });
        if let Outcome::Failed(failure) = report.outcome() {
            end["error"] = json!({ "kind": failure.kind().as_str(), "message": failure.message() });
        }
        match report.end() {
            Ok(id) => end["end_id"] = json!(id.to_string()),
            // The followers may never see an end: say so where it is known.
            Err(error) => {
                tracing::error!(run = %id, %error, "run ended, but its end event is not known to be published");
                end["end_event"] = json!(format!("unknown: {error}"));
            }
        }
        match report.outcome() {
            Outcome::Failed(failure) => {
                tracing::warn!(run = %id, events = report.events(), %failure, "run failed");
            }
            outcome => {
                tracing::info!(run = %id, events = report.events(), outcome = outcome.as_str(), "run ended")
            }
        }
        state.send_replace(RunState::Ended {
            outcome: report.outcome().as_str(),
            end,
        });
        let mut registry = self.registry();
        registry.ended.push_back(id.to_owned());
        while registry.ended.len() > MAX_ENDED {
            if let Some(old) = registry.ended.pop_front() {
                registry.runs.remove(&old);
            }
        }
    }

    /// Whether run `id` exists: driven here, or its topic has events (a
    /// run of another node, or one this node forgot).
    pub async fn exists(&self, channel: &Channel, id: &str) -> Result<bool, bourn_server::Error> {
        if self.registry().runs.contains_key(id) {
            return Ok(true);
        }
        Ok(channel.position(&topic(id)).await?.seq() > 0)
    }

    /// Where a follower of run `id` starts: after the `Last-Event-ID` it
    /// sent, or at the run's start; `None` when there is no such run (not
    /// driven here, and its topic has no events). The topic's position is
    /// read once at most.
    pub async fn follow_from(
        &self,
        channel: &Channel,
        id: &str,
        given: Option<LastEventId>,
    ) -> Result<Option<LastEventId>, bourn_server::Error> {
        let local = self.registry().runs.contains_key(id);
        if let (true, Some(given)) = (local, &given) {
            return Ok(Some(given.clone()));
        }
        let position = channel.position(&topic(id)).await?;
        if !local && position.seq() == 0 {
            return Ok(None);
        }
        // The start: replays the topic from its first event.
        Ok(Some(given.unwrap_or_else(|| {
            LastEventId::from(EventId::new(position.epoch(), 0))
        })))
    }

    /// What this node knows of run `id`.
    pub fn describe(&self, id: &str) -> Option<Value> {
        let registry = self.registry();
        let run = registry.runs.get(id)?;
        Some(describe(id, run))
    }

    /// The runs this node drives or drove (running first, then newest).
    pub fn list(&self) -> Vec<Value> {
        let registry = self.registry();
        let mut runs: Vec<(&String, &RunEntry)> = registry.runs.iter().collect();
        runs.sort_by_key(|(_, run)| {
            (
                *run.state.borrow() != RunState::Running,
                std::cmp::Reverse(run.created),
            )
        });
        runs.into_iter()
            .map(|(id, run)| describe(id, run))
            .collect()
    }

    /// Aborts run `id` and waits (a bounded time) for its end.
    pub async fn abort(
        &self,
        channel: &Channel,
        id: &str,
    ) -> Result<AbortAnswer, bourn_server::Error> {
        let local = {
            let registry = self.registry();
            registry
                .runs
                .get(id)
                .map(|run| (run.abort.clone(), run.state.clone()))
        };
        if let Some((abort, mut state)) = local {
            if let RunState::Ended { end, .. } = &*state.borrow() {
                return Ok(AbortAnswer::AlreadyEnded(end.clone()));
            }
            abort.abort();
            let ended =
                tokio::time::timeout(ABORT_WAIT, state.wait_for(|s| *s != RunState::Running)).await;
            return Ok(match ended {
                Ok(Ok(state)) => match &*state {
                    RunState::Ended { end, .. } => AbortAnswer::Ended(end.clone()),
                    RunState::Running => AbortAnswer::Pending,
                },
                _ => AbortAnswer::Pending,
            });
        }
        // Another node's run: ask it through the control topic, and watch
        // the run's own topic for its end.
        let start = Relay::start_id(channel, &topic(id)).await?;
        let mut run_events = channel.subscribe(&topic(id), Some(&start))?;
        // Any event in the control topic is an abort request.
        let request = Event::message("abort");
        let mut seen_end = None;
        let mut decoder = Decoder::new();
        // An end already in the topic answers at once.
        let watch_end = async {
            while let Some(encoded) = run_events.next().await {
                let mut bytes = bytes::BytesMut::from(&encoded.as_bytes()[..]);
                while let Ok(Some(frame)) = decoder.decode(&mut bytes) {
                    if let Frame::Event(event) = frame {
                        if event.event_type() == END_EVENT {
                            return serde_json::from_str::<Value>(event.data()).ok();
                        }
                    }
                }
            }
            None
        };
        tokio::pin!(watch_end);
        // Is it over already? Poll the replay briefly before publishing.
        if let Ok(Some(end)) = tokio::time::timeout(Duration::from_millis(50), &mut watch_end).await
        {
            return Ok(AbortAnswer::AlreadyEnded(end));
        }
        channel
            .publish_idempotent(&control_topic(id), &format!("{id}.abort"), request)
            .await?;
        if let Ok(end) = tokio::time::timeout(ABORT_WAIT, &mut watch_end).await {
            seen_end = end;
        }
        Ok(match seen_end {
            Some(end) => AbortAnswer::Ended(end),
            None => AbortAnswer::Pending,
        })
    }

    /// Aborts every run this node drives and waits (at most `wait`) for
    /// their end events: at shutdown, so that followers see each run end
    /// rather than wait for ever on one nobody drives. Returns how many
    /// runs were stopped.
    pub async fn stop_all(&self, wait: Duration) -> usize {
        let running: Vec<(AbortHandle, watch::Receiver<RunState>)> = self
            .registry()
            .runs
            .values()
            .filter(|run| *run.state.borrow() == RunState::Running)
            .map(|run| (run.abort.clone(), run.state.clone()))
            .collect();
        for (abort, _) in &running {
            abort.abort();
        }
        let ends = running.iter().map(|(_, state)| {
            let mut state = state.clone();
            async move {
                let _ = state.wait_for(|s| *s != RunState::Running).await;
            }
        });
        if tokio::time::timeout(wait, futures_util::future::join_all(ends))
            .await
            .is_err()
        {
            tracing::warn!(
                ?wait,
                "runs still ending at shutdown; their followers may see no end event"
            );
        }
        running.len()
    }

    /// Runs going now.
    pub fn active(&self) -> usize {
        self.registry()
            .runs
            .values()
            .filter(|run| *run.state.borrow() == RunState::Running)
            .count()
    }

    /// The `/metrics` lines of the runs.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write as _;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let c = &self.counters;
        let _ = write!(
            out,
            "# HELP bourn_runs_active Runs this hub is relaying now.\n# TYPE bourn_runs_active gauge\nbourn_runs_active {}\n\
             # HELP bourn_runs_started_total Runs started on this hub.\n# TYPE bourn_runs_started_total counter\nbourn_runs_started_total {}\n\
             # HELP bourn_runs_ended_total Runs ended on this hub, by outcome.\n# TYPE bourn_runs_ended_total counter\n\
             bourn_runs_ended_total{{outcome=\"completed\"}} {}\nbourn_runs_ended_total{{outcome=\"failed\"}} {}\nbourn_runs_ended_total{{outcome=\"aborted\"}} {}\n\
             # HELP bourn_run_upstream_requests_total Upstream requests made by runs.\n# TYPE bourn_run_upstream_requests_total counter\nbourn_run_upstream_requests_total {}\n\
             # HELP bourn_runs_refused_total Runs refused at --max-runs or --max-runs-per-client.\n# TYPE bourn_runs_refused_total counter\nbourn_runs_refused_total {}\n",
            self.active(),
            get(&c.started),
            get(&c.completed),
            get(&c.failed),
            get(&c.aborted),
            get(&c.upstream_requests),
            get(&c.refused_limit),
        );
    }
}

fn describe(id: &str, run: &RunEntry) -> Value {
    let created = run
        .created
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let mut value = json!({
        "id": id,
        "upstream": run.upstream,
        "created": created,
        "events": format!("/runs/{id}/events"),
    });
    match &*run.state.borrow() {
        RunState::Running => value["state"] = json!("running"),
        RunState::Ended { outcome, end } => {
            value["state"] = json!("ended");
            value["outcome"] = json!(outcome);
            value["end"] = end.clone();
        }
    }
    value
}

/// What an abort request got.
#[derive(Debug)]
pub enum AbortAnswer {
    /// The run ended (as `aborted`, or otherwise if it ended first).
    Ended(Value),
    /// It had ended before.
    AlreadyEnded(Value),
    /// Asked; no end seen within the wait.
    Pending,
}

/// Why `start` failed.
#[derive(Debug)]
pub enum StartError {
    Refused(Refusal),
    /// The start event could not be published (the store).
    Publish(bourn_server::Error),
}

/// Aborts the relay at the first event in the control topic (its first
/// block is the id-only position a fresh subscription starts with).
async fn abort_on_request(mut control: bourn_server::Subscription, abort: AbortHandle) {
    let mut decoder = Decoder::new();
    while let Some(encoded) = control.next().await {
        let mut bytes = bytes::BytesMut::from(&encoded.as_bytes()[..]);
        while let Ok(Some(frame)) = decoder.decode(&mut bytes) {
            // A reset (the topic was removed or trimmed) is no request.
            if matches!(frame, Frame::Event(ref event) if event.event_type() != bourn_server::RESET_EVENT)
            {
                tracing::info!("run abort requested through the control topic");
                abort.abort();
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(upstreams: &[&str]) -> RunsOptions {
        RunsOptions {
            upstreams: upstreams.iter().map(|s| (*s).to_owned()).collect(),
            ..RunsOptions::default()
        }
    }

    #[test]
    fn upstreams_headers_and_their_errors() {
        let mut opts = options(&[
            "openai=https://api.openai.com/v1/chat/completions",
            "local=http://127.0.0.1:9/sse",
        ]);
        opts.upstream_headers = vec!["openai=Authorization: Bearer ${KEY}".into()];
        opts.upstream_resume = vec!["local".into()];
        let env = |name: &str| (name == "KEY").then(|| "sk-1".to_owned());
        let config = RunsConfig::parse(&opts, env).unwrap();
        assert_eq!(
            config.upstreams["openai"].headers["authorization"],
            "Bearer sk-1"
        );
        assert!(config.upstreams["local"].resume && !config.upstreams["openai"].resume);
        assert!(config.enabled());

        let cases: [(RunsOptions, &str); 8] = [
            (options(&["openai"]), "NAME=URL"),
            (options(&["a b=https://x.test/"]), "name"),
            (options(&["x=ftp://x.test/"]), "http"),
            (
                options(&["x=https://a.test/", "x=https://b.test/"]),
                "twice",
            ),
            (
                RunsOptions {
                    upstream_headers: vec!["nope=A: b".into()],
                    ..options(&["x=https://a.test/"])
                },
                "no --upstream named `nope`",
            ),
            (
                RunsOptions {
                    upstream_headers: vec!["x=Authorization: ${MISSING}".into()],
                    ..options(&["x=https://a.test/"])
                },
                "MISSING is not set",
            ),
            (
                RunsOptions {
                    forward_headers: Some(vec!["Authorization".into()]),
                    ..options(&[])
                },
                "never forwards",
            ),
            (
                RunsOptions {
                    url_prefixes: vec!["https://api.example.com".into()],
                    ..options(&[])
                },
                "end the host",
            ),
        ];
        for (opts, expected) in cases {
            let error = RunsConfig::parse(&opts, |_| None).unwrap_err();
            assert!(error.contains(expected), "{error} (expected {expected:?})");
        }
    }

    #[test]
    fn private_addresses_are_refused() {
        let cases = [
            ("127.0.0.1", false),
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false), // cloud metadata
            ("100.64.0.1", false),
            ("0.0.0.0", false),
            ("::1", false),
            ("fd00::1", false),
            ("fe80::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.0.0.1", false),
            ("1.1.1.1", true),
            ("2606:4700::1111", true),
            ("::ffff:1.1.1.1", true),
        ];
        for (ip, public) in cases {
            assert_eq!(public_address(ip.parse().unwrap()), public, "{ip}");
        }
    }

    #[test]
    fn run_requests_are_checked() {
        let mut opts = options(&["m=http://127.0.0.1:9/sse"]);
        opts.url_prefixes = vec!["https://allowed.test/v1/".into()];
        let runs = Runs::new(RunsConfig::parse(&opts, |_| None).unwrap());
        let request = |json: &str| {
            runs.request(&serde_json::from_str(json).unwrap())
                .map(|(label, _, _)| label)
        };
        assert_eq!(
            request(r#"{"upstream":"m","body":{"prompt":"hi"}}"#).unwrap(),
            "m"
        );
        assert_eq!(
            request(r#"{"url":"https://allowed.test/v1/chat"}"#).unwrap(),
            "url"
        );
        let refused = [
            (
                r#"{"upstream":"x"}"#,
                400,
                "unknown upstream `x` (this hub has: m)",
            ),
            (
                r#"{"url":"https://allowed.test.evil/v1/"}"#,
                403,
                "--run-url-prefix",
            ),
            (r#"{"url":"https://other.test/"}"#, 403, "--run-url-prefix"),
            (
                r#"{"upstream":"m","url":"https://allowed.test/v1/"}"#,
                400,
                "not both",
            ),
            ("{}", 400, "needs an `upstream`"),
            (
                r#"{"upstream":"m","headers":{"Authorization":"Bearer x"}}"#,
                400,
                "does not forward authorization",
            ),
            (
                r#"{"upstream":"m","method":"GE T"}"#,
                400,
                "not an HTTP method",
            ),
        ];
        for (json, status, message) in refused {
            let refusal = request(json).unwrap_err();
            assert_eq!(refusal.status.as_u16(), status, "{json}");
            assert!(
                refusal.message.contains(message),
                "{json}: {}",
                refusal.message
            );
        }
        assert!(serde_json::from_str::<RunRequest>(r#"{"upstream":"m","extra":1}"#).is_err());
    }

    #[test]
    fn ids() {
        let id = new_id();
        assert!(valid_id(&id), "{id}");
        assert_ne!(id, new_id());
        assert!(!valid_id("../../etc") && !valid_id(&id.to_uppercase()) && !valid_id(&id[1..]));
    }
}
