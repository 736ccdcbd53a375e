//! `bourn serve` options: flags, then environment variables, then a TOML
//! file, then the defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bourn_server_redb::{Durability, RedbBackend};
use clap::Args;
use serde::Deserialize;

use super::runs::{RunsConfig, RunsOptions};
use crate::cli::parse_duration;

/// Default `--addr`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Default `--max-body`: 1 MiB.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;
/// Default `--max-topics`: 1,024.
pub const DEFAULT_MAX_TOPICS: usize = 1024;
/// Default `--max-subscribers`: 10,000.
pub const DEFAULT_MAX_SUBSCRIBERS: usize = 10_000;
/// Default `--log-events`: 1,024 per topic.
pub const DEFAULT_LOG_EVENTS: usize = 1024;
/// Default `--log-bytes`: 1 MiB per topic.
pub const DEFAULT_LOG_BYTES: usize = 1024 * 1024;
/// Default `--queue-len`: 1,024 events.
pub const DEFAULT_QUEUE_LEN: usize = 1024;
/// Default `--keep-alive`: 15 s.
/// Default `--topic-ttl`: a day, the embedded store's default retention by age.
pub const DEFAULT_TOPIC_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Default `--keep-alive`.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Default `--retry-hint`: 1 s.
pub const DEFAULT_RETRY_HINT: Duration = Duration::from_secs(1);
/// Default `--grace`: 5 s.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// Default `--header-timeout`: 10 s.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `--body-timeout`: 10 s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `--write-timeout`: 30 s.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `--max-connections`: 16,384 (room for --max-subscribers and
/// publishers beside them).
pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;

/// Run an SSE hub.
///
/// Every option can also be set by its environment variable or in the TOML
/// file given with `--config`; a flag wins over the variable, which wins
/// over the file.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML file of options: the same names as the flags, without the
    /// dashes in front (`addr = "0.0.0.0:8080"`, `max-body = 65536`,
    /// `cors-origin = ["https://app.example"]`, `keep-alive = "15s"`,
    /// `store = "/var/lib/bourn/hub.redb"`, `durability = "batched:10"`).
    #[arg(long, env = "BOURN_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address to listen on. Port 0 picks a free port (the URL printed at
    /// start says which). [default: 127.0.0.1:8080]
    #[arg(long, env = "BOURN_ADDR", value_name = "HOST:PORT")]
    pub addr: Option<SocketAddr>,

    /// Publishing needs `Authorization: Bearer TOKEN`. Without it, anyone
    /// who can reach the address can publish. [default: none]
    #[arg(
        long,
        env = "BOURN_PUBLISH_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub publish_token: Option<String>,

    /// Subscribing (and `GET /topics`) needs `Authorization: Bearer TOKEN`,
    /// or `?token=TOKEN` in the URL for browsers, whose EventSource cannot
    /// send headers. [default: none]
    #[arg(
        long,
        env = "BOURN_SUBSCRIBE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub subscribe_token: Option<String>,

    /// Allow cross-origin requests from this origin (repeatable; the
    /// variable takes a comma-separated list; `*` allows any). [default:
    /// none: only pages served by the hub itself]
    #[arg(
        long = "cors-origin",
        env = "BOURN_CORS_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGIN"
    )]
    pub cors_origins: Vec<String>,

    /// Token that `GET /metrics` requires (`Authorization: Bearer TOKEN`).
    /// [default: none: open on a loopback address; on any other address the
    /// publish token guards /metrics when one is set]
    #[arg(
        long,
        env = "BOURN_METRICS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,

    /// On a loopback address, also answer requests whose `Host` is this name
    /// (repeat the flag; the variable takes a comma-separated list; `*`
    /// allows any). Other names are refused (421) so that a web page cannot
    /// reach the hub through DNS rebinding. [default: none: localhost,
    /// *.localhost and loopback addresses only]
    #[arg(
        long = "allowed-host",
        env = "BOURN_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_name = "HOST"
    )]
    pub allowed_hosts: Vec<String>,

    /// Largest publish request body, in bytes; larger ones get 413.
    /// [default: 1048576]
    #[arg(long, env = "BOURN_MAX_BODY", value_name = "BYTES")]
    pub max_body: Option<usize>,

    /// Most topics; publishing or subscribing to a new topic beyond it gets
    /// 429. Topics live as long as the process. [default: 1024]
    #[arg(long, env = "BOURN_MAX_TOPICS", value_name = "N")]
    pub max_topics: Option<usize>,

    /// Most subscribers over all topics. Beyond it a browser gets a 200
    /// stream with `: busy` and a `retry:` hint (so it comes back later); a
    /// client sending `Prefer: retry-after` gets 503 with `Retry-After`.
    /// [default: 10000]
    #[arg(long, env = "BOURN_MAX_SUBSCRIBERS", value_name = "N")]
    pub max_subscribers: Option<usize>,

    /// Most subscribers of one topic, answered as --max-subscribers.
    /// [default: the value of --max-subscribers]
    #[arg(long, env = "BOURN_MAX_TOPIC_SUBSCRIBERS", value_name = "N")]
    pub max_topic_subscribers: Option<usize>,

    /// With --store memory: events kept per topic for replay to clients
    /// that resume with Last-Event-ID. That log is lost when the hub stops,
    /// and clients resuming across a restart get a `bourn-reset` event.
    /// [default: 1024]
    #[arg(long, env = "BOURN_LOG_EVENTS", value_name = "N")]
    pub log_events: Option<usize>,

    /// With --store memory: bytes of encoded events kept per topic for
    /// replay. [default: 1048576]
    #[arg(long, env = "BOURN_LOG_BYTES", value_name = "BYTES")]
    pub log_bytes: Option<usize>,

    /// Where topics' history is kept: a file path (the embedded store, one
    /// redb file: survives restarts and SIGKILL with the same epoch, so
    /// clients resume across them; see --durability), `memory` (bounded by
    /// --log-events and --log-bytes, lost when the hub stops: clients
    /// resuming across a restart get a `bourn-reset` event), or
    /// `redis://host:port` (Redis Streams: several hubs share the topics
    /// and clients resume on any of them; as durable as that Redis).
    /// [default: the embedded store in $XDG_DATA_HOME/bourn/bourn.redb, else
    /// $HOME/.local/share/bourn/bourn.redb]
    #[arg(long, env = "BOURN_STORE", value_name = "STORE")]
    pub store: Option<String>,

    /// With the embedded store: when a publish is answered. `immediate`:
    /// after the event is on disk (fsync; publishes arriving together share
    /// one); a crash loses no answered publish. `batched[:MS]` (default
    /// window 10 ms): as soon as the event is queued; commits gather up to
    /// MS/2 ms; a crash (or a failed write) can lose answered publishes, all
    /// answered within one window of MS ms (once an answered event has waited MS ms
    /// unwritten, publishes wait for the disk until it catches up); their ids are
    /// then given to the next events. Subscribers only ever get events that are
    /// on disk, in both modes. [default: immediate]
    #[arg(long, env = "BOURN_DURABILITY", value_name = "MODE", value_parser = parse_durability)]
    pub durability: Option<Durability>,

    /// Events waiting for one slow subscriber before it is disconnected (it
    /// then resumes from the replay log). [default: 1024]
    #[arg(long, env = "BOURN_QUEUE_LEN", value_name = "N")]
    pub queue_len: Option<usize>,

    /// Remove a topic (its history too) once nobody published to it for this
    /// long and nobody is subscribed to it; `0` keeps topics as long as the
    /// store does. [default: 24h]
    #[arg(long, env = "BOURN_TOPIC_TTL", value_name = "DURATION", value_parser = parse_duration)]
    pub topic_ttl: Option<Duration>,

    /// Send a keep-alive comment after this long without traffic.
    /// [default: 15s]
    #[arg(long, env = "BOURN_KEEP_ALIVE", value_name = "DURATION", value_parser = parse_duration)]
    pub keep_alive: Option<Duration>,

    /// The `retry:` sent to subscribers: how long they wait before
    /// reconnecting (also sent when the hub shuts down). [default: 1s]
    #[arg(long, env = "BOURN_RETRY_HINT", value_name = "DURATION", value_parser = parse_duration)]
    pub retry_hint: Option<Duration>,

    /// On Ctrl-C or SIGTERM, how long to wait for connections to finish
    /// after every stream was ended. [default: 5s]
    #[arg(long, env = "BOURN_GRACE", value_name = "DURATION", value_parser = parse_duration)]
    pub grace: Option<Duration>,

    /// Close a connection that sends no request for this long, or whose
    /// request head (request line and headers) has not fully arrived this
    /// long after its first byte (HTTP/1.1; also the idle time allowed
    /// between requests on a kept-alive connection).
    /// [default: 10s]
    #[arg(long, env = "BOURN_HEADER_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub header_timeout: Option<Duration>,

    /// How long a publish body may take to arrive; a slower one gets 408.
    /// [default: 10s]
    #[arg(long, env = "BOURN_BODY_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub body_timeout: Option<Duration>,

    /// Most open connections. Beyond it new connections are closed as soon
    /// as they are accepted (logged at most once every 10 s); it is also
    /// kept below the open-file limit. [default: 16384]
    #[arg(long, env = "BOURN_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,

    /// Close a connection whose socket takes no bytes for this long while
    /// the hub has bytes for it (a subscriber that stopped reading); only
    /// bytes the socket accepts count, not keep-alives waiting behind them.
    /// Also the connection's TCP_USER_TIMEOUT (Linux), and its send buffer
    /// is capped at 256 KiB. [default: 30s]
    #[arg(long, env = "BOURN_WRITE_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub write_timeout: Option<Duration>,

    /// An upstream SSE endpoint that runs (`POST /runs`) may call, by name:
    /// `NAME=URL`. Repeat for several. Without one, runs are off.
    #[arg(long = "upstream", value_name = "NAME=URL")]
    pub upstreams: Vec<String>,

    /// A header the hub adds to every request to an upstream (its
    /// credential): `NAME=Header-Name: value`; `${VAR}` in the value is
    /// read from the environment at start. Repeatable.
    #[arg(long = "upstream-header", value_name = "NAME=HEADER: VALUE")]
    pub upstream_headers: Vec<String>,

    /// An upstream that supports `Last-Event-ID`: a run reconnects to it
    /// after a lost connection if it sent event ids. Repeatable.
    #[arg(long = "upstream-resume", value_name = "NAME")]
    pub upstream_resume: Vec<String>,

    /// Runs may name a raw URL that starts with this prefix (e.g.
    /// `https://api.example.com/v1/`). Repeatable. [default: none]
    #[arg(long = "run-url-prefix", value_name = "URL")]
    pub run_url_prefixes: Vec<String>,

    /// Let runs connect to loopback, private and link-local addresses
    /// (refused by default: a run must not reach the hub's own network).
    #[arg(long, env = "BOURN_ALLOW_PRIVATE_UPSTREAMS")]
    pub allow_private_upstreams: bool,

    /// Runs relayed at once by this hub. [default: 64]
    #[arg(long, env = "BOURN_MAX_RUNS", value_name = "N")]
    pub max_runs: Option<usize>,

    /// Runs at once per client (per bearer token; every anonymous client
    /// together). [default: 4]
    #[arg(long, env = "BOURN_MAX_RUNS_PER_CLIENT", value_name = "N")]
    pub max_runs_per_client: Option<usize>,

    /// A request header a run may forward upstream from the client.
    /// Repeatable; `Authorization` and `Cookie` never go.
    /// [default: anthropic-version, anthropic-beta, openai-beta]
    #[arg(long = "run-forward-header", value_name = "HEADER")]
    pub run_forward_headers: Vec<String>,
}

/// The `--config` file: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    addr: Option<SocketAddr>,
    publish_token: Option<String>,
    subscribe_token: Option<String>,
    cors_origin: Option<Vec<String>>,
    allowed_host: Option<Vec<String>>,
    metrics_token: Option<String>,
    max_body: Option<usize>,
    max_topics: Option<usize>,
    max_subscribers: Option<usize>,
    max_topic_subscribers: Option<usize>,
    log_events: Option<usize>,
    log_bytes: Option<usize>,
    store: Option<String>,
    durability: Option<String>,
    queue_len: Option<usize>,
    topic_ttl: Option<String>,
    keep_alive: Option<String>,
    retry_hint: Option<String>,
    grace: Option<String>,
    header_timeout: Option<String>,
    body_timeout: Option<String>,
    max_connections: Option<usize>,
    write_timeout: Option<String>,
    upstream: Option<Vec<String>>,
    upstream_header: Option<Vec<String>>,
    upstream_resume: Option<Vec<String>>,
    run_url_prefix: Option<Vec<String>>,
    allow_private_upstreams: Option<bool>,
    max_runs: Option<usize>,
    max_runs_per_client: Option<usize>,
    run_forward_header: Option<Vec<String>>,
}

/// The options in force.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub publish_token: Option<String>,
    pub subscribe_token: Option<String>,
    pub cors_origins: Vec<String>,
    pub allowed_hosts: Vec<String>,
    /// The token /metrics requires, if any (already resolved against the bind).
    pub metrics_token: Option<String>,
    pub max_body: usize,
    pub max_topics: usize,
    pub max_subscribers: usize,
    pub max_topic_subscribers: usize,
    pub log_events: usize,
    pub log_bytes: usize,
    /// `--store`, `None` for the default (the embedded store in the data
    /// directory).
    pub store: Option<String>,
    pub durability: Durability,
    pub queue_len: usize,
    /// `None`: topics do not expire.
    pub topic_ttl: Option<Duration>,
    pub keep_alive: Duration,
    pub retry_hint: Duration,
    pub grace: Duration,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
    pub write_timeout: Duration,
    pub runs: RunsConfig,
}

impl Config {
    /// Flags and environment (already merged by clap), then the file, then
    /// the defaults.
    pub fn load(args: ServeArgs) -> Result<Config, String> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let duration = |key: &str, text: Option<String>| -> Result<Option<Duration>, String> {
            text.map(|text| {
                parse_duration(&text).map_err(|error| format!("config `{key}`: {error}"))
            })
            .transpose()
        };
        let max_subscribers = args
            .max_subscribers
            .or(file.max_subscribers)
            .unwrap_or(DEFAULT_MAX_SUBSCRIBERS);
        let listed = |flags: &[String], file: Option<Vec<String>>| -> Vec<String> {
            if flags.is_empty() {
                file.unwrap_or_default()
            } else {
                flags.to_vec()
            }
        };
        let runs = RunsOptions {
            upstreams: listed(&args.upstreams, file.upstream.clone()),
            upstream_headers: listed(&args.upstream_headers, file.upstream_header.clone()),
            upstream_resume: listed(&args.upstream_resume, file.upstream_resume.clone()),
            url_prefixes: listed(&args.run_url_prefixes, file.run_url_prefix.clone()),
            allow_private: args.allow_private_upstreams
                || file.allow_private_upstreams.unwrap_or(false),
            max_runs: args.max_runs.or(file.max_runs),
            max_runs_per_client: args.max_runs_per_client.or(file.max_runs_per_client),
            forward_headers: if args.run_forward_headers.is_empty() {
                file.run_forward_header.clone()
            } else {
                Some(args.run_forward_headers.clone())
            },
        };
        let runs = RunsConfig::parse(&runs, |name| std::env::var(name).ok())?;
        let default_addr: SocketAddr = DEFAULT_ADDR
            .parse()
            .map_err(|_| "the default address does not parse".to_owned())?;
        let config = Config {
            addr: args.addr.or(file.addr).unwrap_or(default_addr),
            publish_token: non_empty(args.publish_token.or(file.publish_token)),
            subscribe_token: non_empty(args.subscribe_token.or(file.subscribe_token)),
            cors_origins: if args.cors_origins.is_empty() {
                file.cors_origin.unwrap_or_default()
            } else {
                args.cors_origins
            },
            metrics_token: None,
            allowed_hosts: if args.allowed_hosts.is_empty() {
                file.allowed_host.unwrap_or_default()
            } else {
                args.allowed_hosts
            },
            max_body: args.max_body.or(file.max_body).unwrap_or(DEFAULT_MAX_BODY),
            max_topics: args
                .max_topics
                .or(file.max_topics)
                .unwrap_or(DEFAULT_MAX_TOPICS),
            max_subscribers,
            max_topic_subscribers: args
                .max_topic_subscribers
                .or(file.max_topic_subscribers)
                .unwrap_or(max_subscribers),
            log_events: args
                .log_events
                .or(file.log_events)
                .unwrap_or(DEFAULT_LOG_EVENTS),
            log_bytes: args
                .log_bytes
                .or(file.log_bytes)
                .unwrap_or(DEFAULT_LOG_BYTES),
            // An empty value (e.g. `BOURN_STORE=`) means the default.
            store: args
                .store
                .filter(|store| !store.is_empty())
                .or(file.store.filter(|store| !store.is_empty())),
            durability: match args.durability {
                Some(durability) => durability,
                None => file
                    .durability
                    .map(|text| {
                        parse_durability(&text)
                            .map_err(|error| format!("config `durability`: {error}"))
                    })
                    .transpose()?
                    .unwrap_or(Durability::Immediate),
            },
            queue_len: args
                .queue_len
                .or(file.queue_len)
                .unwrap_or(DEFAULT_QUEUE_LEN),
            topic_ttl: Some(
                args.topic_ttl
                    .or(duration("topic-ttl", file.topic_ttl)?)
                    .unwrap_or(DEFAULT_TOPIC_TTL),
            )
            .filter(|ttl| !ttl.is_zero()),
            keep_alive: args
                .keep_alive
                .or(duration("keep-alive", file.keep_alive)?)
                .unwrap_or(DEFAULT_KEEP_ALIVE),
            retry_hint: args
                .retry_hint
                .or(duration("retry-hint", file.retry_hint)?)
                .unwrap_or(DEFAULT_RETRY_HINT),
            grace: args
                .grace
                .or(duration("grace", file.grace)?)
                .unwrap_or(DEFAULT_GRACE),
            header_timeout: args
                .header_timeout
                .or(duration("header-timeout", file.header_timeout)?)
                .unwrap_or(DEFAULT_HEADER_TIMEOUT),
            body_timeout: args
                .body_timeout
                .or(duration("body-timeout", file.body_timeout)?)
                .unwrap_or(DEFAULT_BODY_TIMEOUT),
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(DEFAULT_MAX_CONNECTIONS),
            write_timeout: args
                .write_timeout
                .or(duration("write-timeout", file.write_timeout)?)
                .unwrap_or(DEFAULT_WRITE_TIMEOUT),
            runs,
        };
        if config.keep_alive.is_zero() {
            return Err("--keep-alive must be more than 0".to_owned());
        }
        if config.header_timeout.is_zero()
            || config.body_timeout.is_zero()
            || config.write_timeout.is_zero()
        {
            return Err(
                "--header-timeout, --body-timeout and --write-timeout must be more than 0"
                    .to_owned(),
            );
        }
        if config.max_connections == 0 {
            return Err("--max-connections must be at least 1".to_owned());
        }
        let mut config = config;
        config.metrics_token = non_empty(args.metrics_token.or(file.metrics_token)).or_else(|| {
            // Off the loopback interface, /metrics is not for anyone who can
            // reach the hub: the publish token guards it when set.
            (!config.addr.ip().is_loopback())
                .then(|| config.publish_token.clone())
                .flatten()
        });
        Ok(config)
    }
}

/// `immediate`, `batched` (a 10 ms window) or `batched:MS` (`MS` in
/// milliseconds, or a duration such as `250ms`).
pub fn parse_durability(text: &str) -> Result<Durability, String> {
    let expected = "expected `immediate`, `batched` or `batched:MS` (e.g. batched:10)";
    let text = text.trim();
    if text == "immediate" {
        return Ok(Durability::Immediate);
    }
    let window = match text.strip_prefix("batched") {
        Some("") => RedbBackend::DEFAULT_BATCH_WINDOW,
        Some(rest) => {
            let value = rest
                .strip_prefix(':')
                .ok_or_else(|| format!("`{text}`: {expected}"))?;
            if value.bytes().all(|b| b.is_ascii_digit()) {
                let ms = value.parse().map_err(|_| format!("`{text}`: {expected}"))?;
                Duration::from_millis(ms)
            } else {
                parse_duration(value).map_err(|error| format!("`{text}`: {error}"))?
            }
        }
        None => return Err(format!("`{text}`: {expected}")),
    };
    if window.is_zero() {
        return Err(format!(
            "`{text}`: the batching window must be more than 0 (or use `immediate`)"
        ));
    }
    Ok(Durability::Batched(window))
}

/// An empty token would let anyone in while looking set: treat it as unset.
fn non_empty(token: Option<String>) -> Option<String> {
    token.filter(|token| !token.is_empty())
}

fn read_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("config file {}: {error}", path.display()))?;
    toml::from_str(&text).map_err(|error| format!("config file {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(file: Option<&Path>) -> ServeArgs {
        ServeArgs {
            config: file.map(Path::to_path_buf),
            addr: None,
            publish_token: None,
            subscribe_token: None,
            cors_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            metrics_token: None,
            max_body: None,
            max_topics: None,
            max_subscribers: None,
            max_topic_subscribers: None,
            log_events: None,
            log_bytes: None,
            store: None,
            durability: None,
            queue_len: None,
            topic_ttl: None,
            keep_alive: None,
            retry_hint: None,
            grace: None,
            header_timeout: None,
            body_timeout: None,
            max_connections: None,
            write_timeout: None,
            upstreams: Vec::new(),
            upstream_headers: Vec::new(),
            upstream_resume: Vec::new(),
            run_url_prefixes: Vec::new(),
            allow_private_upstreams: false,
            max_runs: None,
            max_runs_per_client: None,
            run_forward_headers: Vec::new(),
        }
    }

    #[test]
    fn defaults() {
        let config = Config::load(args(None)).unwrap();
        assert_eq!(config.addr.to_string(), DEFAULT_ADDR);
        assert_eq!(config.max_body, DEFAULT_MAX_BODY);
        assert_eq!(config.max_topic_subscribers, DEFAULT_MAX_SUBSCRIBERS);
        assert!(config.publish_token.is_none() && config.cors_origins.is_empty());
        assert_eq!(
            config.store, None,
            "the embedded store in the data directory"
        );
        assert_eq!(config.durability, Durability::Immediate);
        assert_eq!(config.header_timeout, DEFAULT_HEADER_TIMEOUT);
        assert_eq!(config.body_timeout, DEFAULT_BODY_TIMEOUT);
        assert_eq!(config.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(config.write_timeout, DEFAULT_WRITE_TIMEOUT);
    }

    #[test]
    fn durability_values() {
        let ms = Duration::from_millis;
        let cases: [(&str, Option<Durability>); 9] = [
            ("immediate", Some(Durability::Immediate)),
            ("batched", Some(Durability::Batched(ms(10)))),
            ("batched:25", Some(Durability::Batched(ms(25)))),
            ("batched:250ms", Some(Durability::Batched(ms(250)))),
            ("batched:1s", Some(Durability::Batched(ms(1000)))),
            ("batched:0", None),
            ("batched25", None),
            ("batched:", None),
            ("eventually", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_durability(text).ok(), expected, "{text}");
        }
    }

    #[test]
    fn store_and_durability_from_the_file_flags_and_environment() {
        let dir = std::env::temp_dir().join(format!("bourn-config-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bourn.toml");
        std::fs::write(
            &path,
            "store = \"/var/lib/bourn/hub.redb\"\ndurability = \"batched:20\"\n",
        )
        .unwrap();
        let config = Config::load(args(Some(&path))).unwrap();
        assert_eq!(config.store.as_deref(), Some("/var/lib/bourn/hub.redb"));
        assert_eq!(
            config.durability,
            Durability::Batched(Duration::from_millis(20))
        );

        // A flag (or its variable, merged by clap) wins over the file.
        let mut flags = args(Some(&path));
        flags.store = Some("memory".into());
        flags.durability = Some(Durability::Immediate);
        let config = Config::load(flags).unwrap();
        assert_eq!(config.store.as_deref(), Some("memory"));
        assert_eq!(config.durability, Durability::Immediate);

        // An empty value is the default, not a file named "".
        std::fs::write(&path, "store = \"\"\n").unwrap();
        assert_eq!(Config::load(args(Some(&path))).unwrap().store, None);

        std::fs::write(&path, "durability = \"sometimes\"\n").unwrap();
        let error = Config::load(args(Some(&path))).unwrap_err();
        assert!(
            error.contains("durability") && error.contains("sometimes"),
            "{error}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn flags_win_over_the_file_which_wins_over_defaults() {
        let dir = std::env::temp_dir().join(format!("bourn-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bourn.toml");
        std::fs::write(
            &path,
            "addr = \"127.0.0.1:9\"\nmax-body = 10\nmax-topics = 3\nkeep-alive = \"2s\"\ncors-origin = [\"https://a.example\"]\npublish-token = \"\"\nheader-timeout = \"3s\"\nmax-connections = 7\n",
        )
        .unwrap();
        let mut flags = args(Some(&path));
        flags.max_body = Some(20);
        let config = Config::load(flags).unwrap();
        assert_eq!(config.addr.to_string(), "127.0.0.1:9");
        assert_eq!(config.max_body, 20);
        assert_eq!(config.max_topics, 3);
        assert_eq!(config.keep_alive, Duration::from_secs(2));
        assert_eq!(config.cors_origins, ["https://a.example"]);
        assert_eq!(config.publish_token, None);
        assert_eq!(config.header_timeout, Duration::from_secs(3));
        assert_eq!(config.max_connections, 7);

        std::fs::write(&path, "max-bodyy = 1\n").unwrap();
        let error = Config::load(args(Some(&path))).unwrap_err();
        assert!(error.contains("max-bodyy"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
