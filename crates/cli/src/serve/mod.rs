//! `bourn serve`: the hub.

mod auth;
mod config;
mod conn;
mod h2;
mod lean;
mod metrics;
mod routes;
mod run_routes;
mod runs;
mod stall;
mod store;
mod trust;

use std::io::Write;
use std::time::Duration;

use bourn_server::Shutdown;
use http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use self::config::{ServeArgs, environment_error};
use self::routes::App;
use crate::exit::{Code, Failure, Outcome};

/// The end of `bourn serve --help`: endpoints, statuses, what each store keeps.
pub const AFTER_HELP: &str = "\
Each option: a flag wins over its environment variable, which wins over the
--config file, which wins over the default.

Endpoints:
  GET  /                 a page: pick a topic, watch its events live, publish
  GET  /topics/NAME      subscribe (text/event-stream); resumes after the
                         Last-Event-ID header or ?lastEventId=ID
  POST /topics/NAME      publish: the body is the data; the type from
                         ?event=TYPE or the Bourn-Event header; or JSON
                         {\"event\": \"TYPE\", \"data\": \"…\"} with
                         Content-Type: application/json. Answers the id
                         (<epoch>.<seq>) as text, or {\"id\",\"topic\"} with
                         Accept: application/json
  GET  /topics           topics in use, with subscribers, last id and types
                         (the first 64 per topic), in name order, 100 a
                         page: ?limit=N (1-1000), ?after=NAME (the page's
                         \"next\"), ?name=NAME (that topic only)
  POST /runs             start a run (with --upstream): JSON {\"upstream\":
                         \"NAME\", \"body\": …, \"headers\": {…}}; one upstream
                         request, relayed into the run's topic; 201 with
                         {\"id\", \"url\", \"events\"}; publish token and rules
  GET  /runs/ID/events   follow a run from its start (or Last-Event-ID), on
                         any node; ends with a bourn-end event: {\"outcome\":
                         \"completed\"|\"failed\"|\"aborted\", \"error\": {kind…}}
  DELETE /runs/ID        abort (also POST /runs/ID/abort): 200 with the end,
                         409 if it had ended, 202 if no end within 2 s
  GET  /runs/ID          how a run is going; GET /runs: this node's runs
  GET  /runs/view        a page: start a run, follow it, reload, abort
  GET  /health           liveness: 200 ok while the process answers (it
                         does not look at the store)
  GET  /ready            readiness: 200 ready, or 503 with the reason while
                         shutting down, while the store reports itself
                         unhealthy, or at --max-subscribers
  GET  /metrics          Prometheus text: subscribers, published, delivered,
                         replayed, dropped for lag, resets, rejections;
                         connections open, refused at --max-connections,
                         closed idle (--header-timeout), closed stalled
                         (--write-timeout)

Statuses (each with a one-line reason in the body):
  400  invalid topic name (1-128 of A-Z a-z 0-9 . _ ~ -), invalid JSON,
       body not UTF-8, event type with a line break or over 256 bytes
  401  a token is needed and none was sent (WWW-Authenticate: Bearer)
  403  the token is wrong
  404  no such endpoint
  405  method not allowed on this endpoint
  408  publish body not received within --body-timeout
  413  body larger than --max-body (from Content-Length, before reading it;
       also instead of 100 Continue)
  429  a new topic beyond --max-topics; a run beyond --max-runs or
       --max-runs-per-client (Retry-After)
  200 `: busy` + retry (or 503 with Prefer: retry-after)  subscriber limit

History (--store), replayed to clients that resume with Last-Event-ID:
  (default)        the embedded store, one redb file in
                   $XDG_DATA_HOME/bourn/bourn.redb (else
                   ~/.local/share/bourn/bourn.redb): survives restarts, SIGKILL
                   and power loss with its epoch, so clients resume across
                   them with no reset. Per topic it keeps 100,000 events,
                   64 MiB and 24 h. One hub per file.
  --store PATH     the same in another file.
  --store memory   a ring per topic (--log-events, --log-bytes), lost when the
                   hub stops: a client resuming with an id from before the
                   restart gets a `bourn-reset` event (data: `epoch`) with the
                   new position, never a silent gap.
  --store redis://HOST:PORT  Redis Streams, shared by every hub on that Redis.
Durability of the embedded store (--durability):
  immediate        (default) a publish is answered after its event is on disk;
                   a crash loses no answered publish.
  batched[:MS]     answered once queued (window MS, default 10 ms): much more
                   throughput for few publishers; a crash can lose answered
                   publishes, all answered within one window (their ids go to
                   the next events). Either way subscribers only get events
                   that are on disk, so none ever sees an event a crash takes
                   back.
Ctrl-C or SIGTERM ends every stream (with a retry: hint), commits what the
embedded store has queued, and exits after --grace.

Examples:
  bourn serve                                  # then open http://127.0.0.1:8080/
  bourn serve --store memory                   # nothing written to disk
  bourn serve --store /var/lib/bourn/hub.redb --durability batched:5
  BOURN_PUBLISH_TOKEN=s3cret bourn serve --addr 0.0.0.0:8080
  bourn serve --config bourn.toml --cors-origin https://app.example";

/// What the access line says of runs: off, or the upstreams by name.
fn runs_note(runs: &runs::RunsConfig) -> String {
    if !runs.enabled() {
        return "off".to_owned();
    }
    let mut names: Vec<String> = runs.upstreams.keys().cloned().collect();
    names.extend(runs.url_prefixes.iter().map(|prefix| format!("{prefix}*")));
    format!(
        "to {} ({} addresses {}), by whoever may publish",
        names.join(", "),
        "private",
        if runs.allow_private {
            "allowed"
        } else {
            "refused"
        }
    )
}

/// How long shutdown waits for the embedded store's last commit.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the hub until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs, matches: &clap::ArgMatches) -> Outcome {
    let config = args.load(matches).map_err(Failure::error)?;
    let runs = config.runs().map_err(Failure::error)?;
    let shutdown = Shutdown::new().farewell(None, Some(config.retry_hint.0));
    let mut builder = store::builder(&config).await?;
    if let Some(ttl) = config.topic_ttl() {
        builder = builder.idle_topic_ttl(ttl);
    }
    let channel = builder
        .max_topics(config.max_topics)
        .max_subscribers(config.max_subscribers)
        .max_topic_subscribers(config.max_topic_subscribers())
        .queue_len(config.queue_len)
        .busy_retry(config.retry_hint.0)
        .build()
        .map_err(|error| Failure::error(format!("the store could not start: {error}")))?;
    let flush = channel.clone();
    let cors = cors_layer(&config.cors_origins)?;
    let addr = config.addr;
    let grace = config.grace.0;
    let fd_limit = conn::raise_fd_limit();
    let limits = conn::Limits {
        header_timeout: config.header_timeout.0,
        max_connections: conn::connection_cap(config.max_connections, fd_limit),
        write_timeout: config.write_timeout.0,
    };
    let auth_note = match (&config.publish_token, &config.subscribe_token) {
        (None, None) => "no tokens: anyone who can reach it can publish and subscribe",
        (Some(_), None) => "publishing needs the token; subscribing is open",
        (None, Some(_)) => "subscribing needs the token; publishing is open",
        (Some(_), Some(_)) => "publishing and subscribing need their tokens",
    };
    let origins = if config.cors_origins.is_empty() {
        "the hub's own page only".to_owned()
    } else {
        config.cors_origins.join(", ")
    };
    let hosts = if config.addr.ip().is_loopback() {
        let mut hosts = vec!["localhost".to_owned(), "loopback addresses".to_owned()];
        hosts.extend(config.allowed_hosts.iter().cloned());
        hosts.join(", ")
    } else {
        "any".to_owned()
    };
    let metrics_note = if config.metrics_token.is_some() {
        "needs a token"
    } else {
        "open"
    };
    // Once, at start: what is open, to whom (never the tokens themselves).
    tracing::info!(
        publish = if config.publish_token.is_some() { "token" } else { "anyone" },
        subscribe = if config.subscribe_token.is_some() { "token" } else { "anyone" },
        browser_origins = %origins,
        host_names = %hosts,
        metrics = metrics_note,
        runs = %runs_note(&runs),
        "access"
    );
    let app = App::new(channel, config, runs, shutdown.clone());
    let metrics = app.metrics();
    let runs_handle = std::sync::Arc::clone(app.runs());
    let mut router = app.router();
    if let Some(cors) = cors {
        router = router.layer(cors);
    }

    let signals = Signals::new()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| Failure::error(format!("cannot listen on {addr}: {error}")))?;
    let local = listener
        .local_addr()
        .map_err(|error| Failure::error(format!("cannot read the bound address: {error}")))?;
    announce(&format!(
        "bourn hub listening on http://{local}/ (open it in a browser; Ctrl-C stops)"
    ));
    tracing::info!(
        %local,
        auth = auth_note,
        max_connections = limits.max_connections,
        header_timeout = ?limits.header_timeout,
        "listening"
    );

    tokio::spawn(trigger_on_signal(signals, shutdown.clone(), runs_handle));
    let server = conn::serve(listener, router, shutdown.clone(), limits, metrics);
    let waited = async {
        shutdown.triggered().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        () = server => tracing::info!("stopped"),
        () = waited => tracing::warn!(?grace, "connections still open after the grace period; exiting"),
    }
    // The process exits without dropping the channel (open connections may
    // hold it): commit what the store acknowledged early first.
    match tokio::time::timeout(FLUSH_TIMEOUT, flush.flush()).await {
        Ok(Ok(())) => Ok(Code::Ok),
        Ok(Err(error)) => Err(Failure::error(format!(
            "the store could not flush: {error}"
        ))),
        Err(_) => Err(Failure::error(format!(
            "the store did not flush within {FLUSH_TIMEOUT:?}: events acknowledged early may be lost"
        ))),
    }
}

/// The first line on stdout: where to point a browser (tests read the port
/// from it when `--addr` has port 0).
fn announce(line: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout must not stop the hub.
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Ctrl-C (SIGINT) and SIGTERM, listened to from creation on: made before
/// the URL is printed, so a signal sent as soon as the hub says it is up is
/// never the default (killing) action.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Signals, Failure> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind: SignalKind, name: &str| {
                signal(kind)
                    .map_err(|error| Failure::error(format!("cannot listen for {name}: {error}")))
            };
            Ok(Signals {
                interrupt: listen(SignalKind::interrupt(), "SIGINT")?,
                terminate: listen(SignalKind::terminate(), "SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Completes at the first signal.
    async fn recv(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Triggers `shutdown` at the first of `signals`.
async fn trigger_on_signal(signals: Signals, shutdown: Shutdown, runs: std::sync::Arc<runs::Runs>) {
    signals.recv().await;
    // Runs first, while their followers' streams are still open: each gets
    // its `aborted` end event instead of a run that never ends.
    let stopped = runs.stop_all(RUNS_STOP_WAIT).await;
    if stopped > 0 {
        tracing::info!(stopped, "runs aborted for shutdown");
    }
    tracing::info!("shutting down: ending every stream");
    shutdown.trigger();
}

/// How long shutdown waits for aborted runs to publish their end events.
const RUNS_STOP_WAIT: Duration = Duration::from_secs(2);

/// CORS for the configured origins; `None` (no CORS headers: browsers
/// refuse cross-origin reads) when there are none.
fn cors_layer(origins: &[String]) -> Result<Option<CorsLayer>, Failure> {
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        let values = origins
            .iter()
            .map(|origin| {
                HeaderValue::from_str(origin.trim())
                    .map_err(|_| Failure::error(format!("invalid CORS origin `{origin}`")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(values)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                http::header::AUTHORIZATION,
                http::header::CONTENT_TYPE,
                http::header::ACCEPT,
                HeaderName::from_static("last-event-id"),
                HeaderName::from_static(routes::EVENT_HEADER),
            ]),
    ))
}
