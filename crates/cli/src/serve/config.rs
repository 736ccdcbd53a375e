//! `bourn serve` options: flags, then environment variables, then a TOML
//! file, then the defaults — each option written once.
//!
//! The clap derive on [`ServeArgs`] is the only list of options. Each field
//! gives its flag, its environment variable (clap reads both), its value
//! parser and its default (a constant of the library or of the hub, so the
//! `[default: …]` in `--help` is the value in force). The `--config` file is
//! a third layer built from the same definitions: a key is a flag's long name,
//! its value goes through that flag's own parser, and it applies only where
//! neither the flag nor the variable was given. Adding an option is adding a
//! field: a repeated option (`Vec<T>`, `ArgAction::Append`) takes a TOML
//! array, a map-like one (a repeated option whose value name has `=`, such
//! as `NAME=URL`) also takes a TOML table (`[upstream]` then `name = "url"`),
//! and nothing else changes.
//!
//! Why not figment (or a serde struct beside clap): the file would then be a
//! second schema whose keys, types and defaults must be kept in line with
//! the flags by hand, and its errors name neither the line nor the flag's
//! parser. Going through clap's own definitions gives one parser per option
//! and errors with the key and where it came from: `--max-body` (flag),
//! `BOURN_MAX_BODY` (variable) or `bourn.toml:3` (file and line).

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use bourn_server::{ChannelBuilder, KeepAlive, MemoryBackend};
use bourn_server_redb::{Durability, RedbBackend};
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Args, FromArgMatches};
use toml::Spanned;

use super::runs::{self, RunsConfig, RunsOptions};
use crate::cli::parse_duration;

/// Default `--addr`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Default `--max-body`: 1 MiB.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;
/// Default `--max-topics`: 1,024 (the library allows 65,536; a hub open to
/// anonymous clients keeps fewer).
pub const DEFAULT_MAX_TOPICS: usize = 1024;
/// Default `--max-subscribers`: 10,000.
pub const DEFAULT_MAX_SUBSCRIBERS: usize = 10_000;
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
/// over the file. Once [`ServeArgs::load`] has run, the struct holds the
/// options in force.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// A TOML file of options: the same names as the flags, without the
    /// dashes in front (`addr = "0.0.0.0:8080"`, `max-body = 65536`,
    /// `cors-origin = ["https://app.example"]`, `keep-alive = "1m30s"`,
    /// `store = "/var/lib/bourn/hub.redb"`, `durability = "batched:10"`).
    #[arg(long, env = "BOURN_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address to listen on. Port 0 picks a free port (the URL printed at
    /// start says which).
    #[arg(long, env = "BOURN_ADDR", value_name = "HOST:PORT", default_value = DEFAULT_ADDR)]
    pub addr: SocketAddr,

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
    #[arg(long, env = "BOURN_MAX_BODY", value_name = "BYTES", default_value_t = DEFAULT_MAX_BODY)]
    pub max_body: usize,

    /// Most topics; publishing to a new topic beyond it gets 429.
    #[arg(long, env = "BOURN_MAX_TOPICS", value_name = "N", default_value_t = DEFAULT_MAX_TOPICS)]
    pub max_topics: usize,

    /// Most subscribers over all topics. Beyond it a browser gets a 200
    /// stream with `: busy` and a `retry:` hint (so it comes back later); a
    /// client sending `Prefer: retry-after` gets 503 with `Retry-After`.
    #[arg(long, env = "BOURN_MAX_SUBSCRIBERS", value_name = "N", default_value_t = DEFAULT_MAX_SUBSCRIBERS)]
    pub max_subscribers: usize,

    /// Most subscribers of one topic, answered as --max-subscribers.
    /// [default: the value of --max-subscribers]
    #[arg(long, env = "BOURN_MAX_TOPIC_SUBSCRIBERS", value_name = "N")]
    pub max_topic_subscribers: Option<usize>,

    /// With --store memory: events kept per topic for replay to clients
    /// that resume with Last-Event-ID. That log is lost when the hub stops,
    /// and clients resuming across a restart get a `bourn-reset` event.
    #[arg(long, env = "BOURN_LOG_EVENTS", value_name = "N", default_value_t = MemoryBackend::DEFAULT_MAX_EVENTS)]
    pub log_events: usize,

    /// With --store memory: bytes of encoded events kept per topic for
    /// replay.
    #[arg(long, env = "BOURN_LOG_BYTES", value_name = "BYTES", default_value_t = MemoryBackend::DEFAULT_MAX_BYTES)]
    pub log_bytes: usize,

    /// Where topics' history is kept: a file path (the embedded store, one
    /// redb file: survives restarts and SIGKILL with the same epoch, so
    /// clients resume across them; see --durability), `memory` (bounded by
    /// --log-events and --log-bytes, lost when the hub stops: clients
    /// resuming across a restart get a `bourn-reset` event), or
    /// `redis://host:port` (Redis Streams: several hubs share the topics
    /// and clients resume on any of them; as durable as that Redis).
    /// [default: the embedded store in $XDG_DATA_HOME/bourn/bourn.redb, else
    /// $HOME/.local/share/bourn/bourn.redb]
    #[arg(
        long,
        env = "BOURN_STORE",
        value_name = "STORE",
        default_value = "",
        hide_default_value = true
    )]
    pub store: Store,

    /// With the embedded store: when a publish is answered. `immediate`:
    /// after the event is on disk (fsync; publishes arriving together share
    /// one); a crash loses no answered publish. `batched[:MS]` (default
    /// window 10 ms): as soon as the event is queued; commits gather up to
    /// MS/2 ms; a crash (or a failed write) can lose answered publishes, all
    /// answered within one window of MS ms (once an answered event has waited MS ms
    /// unwritten, publishes wait for the disk until it catches up); their ids are
    /// then given to the next events. Subscribers only ever get events that are
    /// on disk, in both modes.
    #[arg(
        long,
        env = "BOURN_DURABILITY",
        value_name = "MODE",
        value_parser = parse_durability,
        default_value = "immediate"
    )]
    pub durability: Durability,

    /// Events waiting for one slow subscriber before it is disconnected (it
    /// then resumes from the replay log).
    #[arg(long, env = "BOURN_QUEUE_LEN", value_name = "N", default_value_t = ChannelBuilder::DEFAULT_QUEUE_LEN)]
    pub queue_len: usize,

    /// Remove a topic (its history too) once nobody published to it for this
    /// long and nobody is subscribed to it; `0` keeps topics as long as the
    /// store does. The default is the embedded store's retention by age.
    #[arg(long, env = "BOURN_TOPIC_TTL", value_name = "DURATION", default_value_t = Span(RedbBackend::DEFAULT_MAX_AGE))]
    pub topic_ttl: Span,

    /// Send a keep-alive comment after this long without traffic.
    #[arg(long, env = "BOURN_KEEP_ALIVE", value_name = "DURATION", value_parser = positive_span, default_value_t = Span(KeepAlive::DEFAULT_INTERVAL))]
    pub keep_alive: Span,

    /// The `retry:` sent to subscribers: how long they wait before
    /// reconnecting (also sent when the hub shuts down).
    #[arg(long, env = "BOURN_RETRY_HINT", value_name = "DURATION", default_value_t = Span(DEFAULT_RETRY_HINT))]
    pub retry_hint: Span,

    /// On Ctrl-C or SIGTERM, how long to wait for connections to finish
    /// after every stream was ended.
    #[arg(long, env = "BOURN_GRACE", value_name = "DURATION", default_value_t = Span(DEFAULT_GRACE))]
    pub grace: Span,

    /// Close a connection that sends no request for this long, or whose
    /// request head (request line and headers) has not fully arrived this
    /// long after its first byte (HTTP/1.1; also the idle time allowed
    /// between requests on a kept-alive connection). An HTTP/2 connection
    /// with no request in flight for this long (including one whose
    /// request headers never end) is closed too.
    #[arg(long, env = "BOURN_HEADER_TIMEOUT", value_name = "DURATION", value_parser = positive_span, default_value_t = Span(DEFAULT_HEADER_TIMEOUT))]
    pub header_timeout: Span,

    /// How long a publish body may take to arrive; a slower one gets 408.
    #[arg(long, env = "BOURN_BODY_TIMEOUT", value_name = "DURATION", value_parser = positive_span, default_value_t = Span(DEFAULT_BODY_TIMEOUT))]
    pub body_timeout: Span,

    /// Most open connections. Beyond it new connections are closed as soon
    /// as they are accepted (logged at most once every 10 s); it is also
    /// kept below the open-file limit.
    #[arg(long, env = "BOURN_MAX_CONNECTIONS", value_name = "N", value_parser = at_least_one, default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// Close a connection whose socket takes no bytes for this long while
    /// the hub has bytes for it (a subscriber that stopped reading); only
    /// bytes the socket accepts count, not keep-alives waiting behind them.
    /// Also the connection's TCP_USER_TIMEOUT (Linux), and its send buffer
    /// is capped at 256 KiB.
    #[arg(long, env = "BOURN_WRITE_TIMEOUT", value_name = "DURATION", value_parser = positive_span, default_value_t = Span(DEFAULT_WRITE_TIMEOUT))]
    pub write_timeout: Span,

    /// An upstream SSE endpoint that runs (`POST /runs`) may call, by name:
    /// `NAME=URL` (repeatable; in the file, a table `[upstream]` of
    /// `NAME = "URL"`). Without one, runs are off. [default: none]
    #[arg(long = "upstream", value_name = "NAME=URL", action = ArgAction::Append, value_parser = runs::upstream_spec)]
    pub upstreams: Vec<String>,

    /// A header the hub adds to every request to an upstream (its
    /// credential): `NAME=Header-Name: value`; `${VAR}` in the value is read
    /// from the hub's environment at start. Repeatable. [default: none]
    #[arg(long = "upstream-header", value_name = "NAME=HEADER: VALUE", action = ArgAction::Append)]
    pub upstream_headers: Vec<String>,

    /// An upstream that supports `Last-Event-ID`: a run reconnects to it
    /// after a lost connection if it sent event ids. Repeatable.
    /// [default: none: one request per run, whatever happens]
    #[arg(long = "upstream-resume", value_name = "NAME", action = ArgAction::Append)]
    pub upstream_resume: Vec<String>,

    /// Runs may name a raw URL that starts with this prefix (e.g.
    /// `https://api.example.com/v1/`). Repeatable. [default: none]
    #[arg(long = "run-url-prefix", value_name = "URL", action = ArgAction::Append, value_parser = runs::url_prefix)]
    pub run_url_prefixes: Vec<String>,

    /// Let runs connect to loopback, private, link-local and CGNAT
    /// addresses (refused by default, on every resolution: a run must not
    /// reach the hub's own network).
    #[arg(long, env = "BOURN_ALLOW_PRIVATE_UPSTREAMS")]
    pub allow_private_upstreams: bool,

    /// Runs relayed at once by this hub; more get 429.
    #[arg(long, env = "BOURN_MAX_RUNS", value_name = "N", value_parser = at_least_one, default_value_t = runs::DEFAULT_MAX_RUNS)]
    pub max_runs: usize,

    /// Runs at once per client (per bearer token; every anonymous client
    /// together); more get 429.
    #[arg(long, env = "BOURN_MAX_RUNS_PER_CLIENT", value_name = "N", value_parser = at_least_one, default_value_t = runs::DEFAULT_MAX_RUNS_PER_CLIENT)]
    pub max_runs_per_client: usize,

    /// A request header a run may forward upstream from the client
    /// (repeatable; `''` forwards none). `Authorization` and `Cookie` never
    /// go. [default: anthropic-version, anthropic-beta, openai-beta]
    #[arg(long = "run-forward-header", value_name = "HEADER", action = ArgAction::Append)]
    pub run_forward_headers: Vec<String>,
}

/// A duration option: parsed by [`parse_duration`] (`1m30s`, `2h 5m`,
/// `500ms`, `30`), shown in `--help` as humantime writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl FromStr for Span {
    type Err = String;

    fn from_str(text: &str) -> Result<Span, String> {
        parse_duration(text).map(Span)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&humantime::format_duration(self.0), f)
    }
}

/// A duration that must be more than zero.
fn positive_span(text: &str) -> Result<Span, String> {
    let span: Span = text.parse()?;
    if span.0.is_zero() {
        return Err("must be more than 0".to_owned());
    }
    Ok(span)
}

/// A count that must be at least 1.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(error) => Err(error.to_string()),
    }
}

/// `--store`, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// The embedded store at the default path in the data directory (an
    /// empty value, e.g. `BOURN_STORE=`, means this too).
    DefaultFile,
    /// `memory`: bounded by `--log-events` and `--log-bytes`, lost at exit.
    Memory,
    /// The embedded store (one redb file) at this path.
    File(PathBuf),
    /// `redis://…` or `rediss://…`: Redis Streams, shared by several hubs.
    Redis(String),
}

impl FromStr for Store {
    type Err = String;

    fn from_str(text: &str) -> Result<Store, String> {
        Ok(match text {
            "" => Store::DefaultFile,
            "memory" => Store::Memory,
            url if url.starts_with("redis://") || url.starts_with("rediss://") => {
                if url
                    .split_once("://")
                    .is_some_and(|(_, rest)| rest.is_empty())
                {
                    return Err(format!(
                        "`{url}` names no Redis host (e.g. redis://127.0.0.1:6379)"
                    ));
                }
                Store::Redis(url.to_owned())
            }
            other if other.contains("://") => {
                return Err(format!(
                    "`{other}`: not a store (a file path, `memory`, or redis://host:port)"
                ));
            }
            path => Store::File(PathBuf::from(path)),
        })
    }
}

impl ServeArgs {
    /// The options in force: these flags and variables (already merged by
    /// clap, `matches` says which were given), then the `--config` file,
    /// then the defaults; tokens resolved.
    pub fn load(mut self, matches: &ArgMatches) -> Result<ServeArgs, String> {
        if let Some(path) = self.config.clone() {
            let layer = file_layer(&path, matches)?;
            self.update_from_arg_matches(&layer)
                .map_err(|error| format!("{}: {}", path.display(), reason(&error)))?;
        }
        // An empty token would let anyone in while looking set: unset.
        for token in [
            &mut self.publish_token,
            &mut self.subscribe_token,
            &mut self.metrics_token,
        ] {
            token.take_if(|token| token.is_empty());
        }
        if self.metrics_token.is_none() && !self.addr.ip().is_loopback() {
            // Off the loopback interface, /metrics is not for anyone who can
            // reach the hub: the publish token guards it when set.
            self.metrics_token = self.publish_token.clone();
        }
        Ok(self)
    }

    /// `--max-topic-subscribers`, or `--max-subscribers` when unset.
    pub fn max_topic_subscribers(&self) -> usize {
        self.max_topic_subscribers.unwrap_or(self.max_subscribers)
    }

    /// `--topic-ttl`; `None` (`0`): topics do not expire.
    pub fn topic_ttl(&self) -> Option<Duration> {
        Some(self.topic_ttl.0).filter(|ttl| !ttl.is_zero())
    }

    /// The runs options, checked (upstream URLs and names, headers and the
    /// `${VAR}`s they read, URL prefixes, the forward allow-list).
    pub fn runs(&self) -> Result<RunsConfig, String> {
        let options = RunsOptions {
            upstreams: self.upstreams.clone(),
            upstream_headers: self.upstream_headers.clone(),
            upstream_resume: self.upstream_resume.clone(),
            url_prefixes: self.run_url_prefixes.clone(),
            allow_private: self.allow_private_upstreams,
            max_runs: Some(self.max_runs),
            max_runs_per_client: Some(self.max_runs_per_client),
            forward_headers: (!self.run_forward_headers.is_empty())
                .then(|| self.run_forward_headers.clone()),
        };
        RunsConfig::parse(&options, |name| std::env::var(name).ok())
    }
}

/// `bourn serve`'s options as a command of their own.
fn serve_command() -> clap::Command {
    ServeArgs::augment_args(clap::Command::new("serve"))
}

/// The `--config` file as a layer of arguments: for each key not given as a
/// flag or variable, its values, each checked by the option's own parser
/// (errors name the file, the line and the key).
fn file_layer(path: &Path, given: &ArgMatches) -> Result<ArgMatches, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("config file {}: {error}", path.display()))?;
    let table: std::collections::BTreeMap<Spanned<String>, Spanned<toml::Value>> =
        toml::from_str(&text)
            .map_err(|error| format!("config file {}: {error}", path.display()))?;
    let mut entries: Vec<_> = table.into_iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    let command = serve_command();
    let mut layer: Vec<OsString> = Vec::new();
    for (key, value) in entries {
        let line = text[..key.span().start].matches('\n').count() + 1;
        let at = format!("{}:{line}: `{}`", path.display(), key.get_ref());
        let arg = command
            .get_arguments()
            .find(|arg| arg.get_long() == Some(key.get_ref().as_str()) && arg.get_id() != "config")
            .ok_or_else(|| {
                let known: Vec<&str> = command
                    .get_arguments()
                    .filter_map(|arg| arg.get_long())
                    .filter(|long| *long != "config" && *long != "help")
                    .collect();
                format!("{at}: unknown option (the keys are: {})", known.join(", "))
            })?;
        // Checked even where a flag or variable wins: a file with a bad
        // value is refused, not half used.
        let long = key.get_ref();
        let mut values = Vec::new();
        for item in
            items(value.get_ref(), Shape::of(arg)).map_err(|error| format!("{at}: {error}"))?
        {
            match arg.get_action() {
                ArgAction::SetTrue | ArgAction::SetFalse => {
                    if item == "true" {
                        values.push(format!("--{long}").into());
                    } else if item != "false" {
                        return Err(format!("{at}: expected true or false, not `{item}`"));
                    }
                }
                _ => {
                    check(arg, &item).map_err(|error| format!("{at}: {error}"))?;
                    values.push(format!("--{long}={item}").into());
                }
            }
        }
        if !matches!(
            given.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            layer.extend(values);
        }
    }
    // The same definitions without variables or defaults: only what the
    // file says.
    command
        .no_binary_name(true)
        .mut_args(|arg| arg.env(None).default_value(None))
        .try_get_matches_from(layer)
        .map_err(|error| format!("config file {}: {}", path.display(), reason(&error)))
}

/// How an option takes values in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One value: a TOML scalar.
    One,
    /// A repeated option: a scalar or an array.
    Repeated,
    /// A repeated option whose values are `NAME=VALUE` (its value name
    /// says so, e.g. `NAME=URL`): also a table, one entry per value.
    Map,
}

impl Shape {
    fn of(arg: &clap::Arg) -> Shape {
        if !matches!(arg.get_action(), ArgAction::Append) {
            return Shape::One;
        }
        let map_like = arg
            .get_value_names()
            .is_some_and(|names| names.iter().any(|name| name.as_str().contains('=')));
        if map_like {
            Shape::Map
        } else {
            Shape::Repeated
        }
    }
}

/// A TOML value as argument values: a scalar is one; an array (repeated
/// options only) one per item; a table (map-like options only) one
/// `KEY=VALUE` per entry.
fn items(value: &toml::Value, shape: Shape) -> Result<Vec<String>, String> {
    use toml::Value;
    let scalar = |value: &Value| match value {
        Value::String(text) => Ok(text.clone()),
        Value::Integer(n) => Ok(n.to_string()),
        Value::Float(x) => Ok(x.to_string()),
        Value::Boolean(b) => Ok(b.to_string()),
        Value::Datetime(date) => Ok(date.to_string()),
        Value::Array(_) | Value::Table(_) => {
            Err("expected a string, a number or a boolean here".to_owned())
        }
    };
    match (value, shape) {
        (Value::Array(values), Shape::Repeated | Shape::Map) => values.iter().map(scalar).collect(),
        (Value::Table(entries), Shape::Map) => entries
            .iter()
            .map(|(key, value)| scalar(value).map(|value| format!("{key}={value}")))
            .collect(),
        (Value::Table(_), Shape::Repeated) => {
            Err("takes a value or an array of values, not a table".to_owned())
        }
        (Value::Array(_) | Value::Table(_), Shape::One) => {
            Err("takes one value, not an array or a table".to_owned())
        }
        (scalar_value, _) => scalar(scalar_value).map(|one| vec![one]),
    }
}

/// Runs `arg`'s parser on `value` alone.
fn check(arg: &clap::Arg, value: &str) -> Result<(), String> {
    let long = arg.get_long().unwrap_or_default();
    clap::Command::new("check")
        .no_binary_name(true)
        .arg(arg.clone().env(None).default_value(None))
        .try_get_matches_from([format!("--{long}={value}")])
        .map(drop)
        .map_err(|error| format!("invalid value `{value}`: {}", reason(&error)))
}

/// What a clap error says, without clap's framing (`error: …`, usage).
fn reason(error: &clap::Error) -> String {
    match std::error::Error::source(error) {
        Some(source) => source.to_string(),
        None => error
            .render()
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_owned(),
    }
}

/// When clap refused a value that came from an environment variable (its
/// message names only the flag), the variable, its value and why.
///
/// `args` is the command line after the program name.
pub fn environment_error(error: &clap::Error, args: &[OsString]) -> Option<String> {
    use clap::error::ErrorKind;
    if !matches!(
        error.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) || !args.iter().any(|arg| arg == "serve")
    {
        return None;
    }
    // The argument clap names, e.g. `--max-body <BYTES>`.
    let named = match error.get(clap::error::ContextKind::InvalidArg) {
        Some(clap::error::ContextValue::String(named)) => named.clone(),
        _ => return None,
    };
    let command = serve_command();
    command.get_arguments().find_map(|arg| {
        let long = arg.get_long()?;
        let flag = format!("--{long}");
        if named != flag && !named.starts_with(&format!("{flag} ")) {
            return None;
        }
        let name = arg.get_env()?;
        let value = std::env::var_os(name)?;
        let on_command_line = args.iter().any(|arg| {
            arg.to_str()
                .is_some_and(|arg| arg == flag || arg.starts_with(&format!("{flag}=")))
        });
        if on_command_line {
            return None;
        }
        let value = value.to_string_lossy();
        check(arg, &value).err().map(|error| {
            format!(
                "environment variable {}: {error} (for --{long})",
                name.to_string_lossy()
            )
        })
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `bourn serve ARGS` as clap parses it (variables included), then
    /// loaded.
    fn load(args: &[&str]) -> Result<ServeArgs, String> {
        let matches = serve_command()
            .no_binary_name(true)
            .try_get_matches_from(args)
            .map_err(|error| reason(&error))?;
        let parsed = ServeArgs::from_arg_matches(&matches).map_err(|error| reason(&error))?;
        parsed.load(&matches)
    }

    struct File(PathBuf);

    impl File {
        fn new(name: &str, text: &str) -> File {
            let dir = std::env::temp_dir().join(format!("bourn-config-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            File(path)
        }

        fn arg(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }

    impl Drop for File {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn defaults_are_the_constants() {
        let config = load(&[]).unwrap();
        assert_eq!(config.addr.to_string(), DEFAULT_ADDR);
        assert_eq!(config.max_body, DEFAULT_MAX_BODY);
        assert_eq!(config.max_topic_subscribers(), DEFAULT_MAX_SUBSCRIBERS);
        assert_eq!(config.log_events, MemoryBackend::DEFAULT_MAX_EVENTS);
        assert_eq!(config.queue_len, ChannelBuilder::DEFAULT_QUEUE_LEN);
        assert_eq!(config.keep_alive.0, KeepAlive::DEFAULT_INTERVAL);
        assert_eq!(config.topic_ttl(), Some(RedbBackend::DEFAULT_MAX_AGE));
        assert!(config.publish_token.is_none() && config.cors_origins.is_empty());
        assert_eq!(config.store, Store::DefaultFile);
        assert_eq!(config.durability, Durability::Immediate);
        assert_eq!(config.header_timeout.0, DEFAULT_HEADER_TIMEOUT);
        assert_eq!(config.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(config.write_timeout.0, DEFAULT_WRITE_TIMEOUT);
    }

    #[test]
    fn store_values() {
        let cases: [(&str, Option<Store>); 7] = [
            ("", Some(Store::DefaultFile)),
            ("memory", Some(Store::Memory)),
            ("hub.redb", Some(Store::File("hub.redb".into()))),
            (
                "/var/lib/b.redb",
                Some(Store::File("/var/lib/b.redb".into())),
            ),
            (
                "redis://127.0.0.1:6379",
                Some(Store::Redis("redis://127.0.0.1:6379".into())),
            ),
            ("redis://", None),
            ("http://example", None),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<Store>().ok(), expected, "{text}");
        }
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
    fn the_file_fills_what_flags_leave_unset() {
        let file = File::new(
            "layers.toml",
            "addr = \"127.0.0.1:9\"\nmax-body = 10\nmax-topics = 3\nkeep-alive = \"1m30s\"\n\
             cors-origin = [\"https://a.example\", \"https://b.example\"]\npublish-token = \"\"\n\
             header-timeout = \"3s\"\nmax-connections = 7\nstore = \"memory\"\n\
             durability = \"batched:20\"\ntopic-ttl = 0\n",
        );
        let config = load(&["--config", file.arg(), "--max-body", "20"]).unwrap();
        assert_eq!(config.addr.to_string(), "127.0.0.1:9");
        assert_eq!(config.max_body, 20, "the flag wins");
        assert_eq!(config.max_topics, 3);
        assert_eq!(config.keep_alive.0, Duration::from_secs(90));
        assert_eq!(
            config.cors_origins,
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(config.publish_token, None, "an empty token is unset");
        assert_eq!(config.header_timeout.0, Duration::from_secs(3));
        assert_eq!(config.max_connections, 7);
        assert_eq!(config.store, Store::Memory);
        assert_eq!(
            config.durability,
            Durability::Batched(Duration::from_millis(20))
        );
        assert_eq!(config.topic_ttl(), None);
        // Options the file does not name keep their defaults.
        assert_eq!(config.queue_len, ChannelBuilder::DEFAULT_QUEUE_LEN);

        let config = load(&["--config", file.arg(), "--cors-origin", "https://c.example"]).unwrap();
        assert_eq!(config.cors_origins, ["https://c.example"], "flags replace");
    }

    #[test]
    fn file_errors_name_the_file_line_and_key() {
        let cases = [
            (
                "max-body = 1\nmax-bodyy = 1\n",
                ":2: `max-bodyy`: unknown option",
            ),
            (
                "\n\nkeep-alive = \"0s\"\n",
                ":3: `keep-alive`: invalid value `0s`: must be more than 0",
            ),
            (
                "durability = \"sometimes\"\n",
                ":1: `durability`: invalid value `sometimes`",
            ),
            ("max-body = [1, 2]\n", ":1: `max-body`: takes one value"),
            (
                "max-connections = 0\n",
                ":1: `max-connections`: invalid value `0`: must be at least 1",
            ),
            (
                "store = \"ftp://x\"\n",
                ":1: `store`: invalid value `ftp://x`",
            ),
            ("config = \"other.toml\"\n", ":1: `config`: unknown option"),
            ("max-body = \n", "max-body"),
        ];
        for (text, expected) in cases {
            let file = File::new("errors.toml", text);
            let error = load(&["--config", file.arg()]).unwrap_err();
            assert!(
                error.contains(file.arg()) && error.contains(expected),
                "{text:?}: {error}"
            );
        }
    }

    #[test]
    fn a_flag_error_names_the_flag() {
        let error = load(&["--write-timeout", "0"]).unwrap_err();
        assert!(error.contains("must be more than 0"), "{error}");
    }

    #[test]
    fn map_like_repeated_options_take_a_table() {
        // No map-like option exists yet: a repeated one whose value name
        // has `=` is one.
        let map = clap::Arg::new("upstream")
            .long("upstream")
            .value_name("NAME=URL")
            .action(ArgAction::Append);
        let list = clap::Arg::new("cors")
            .long("cors")
            .action(ArgAction::Append);
        let one = clap::Arg::new("addr").long("addr");
        assert_eq!(
            [Shape::of(&map), Shape::of(&list), Shape::of(&one)],
            [Shape::Map, Shape::Repeated, Shape::One]
        );
        let table: toml::Value = toml::from_str("a = \"http://x\"\nb = 2\n").unwrap();
        assert_eq!(items(&table, Shape::Map).unwrap(), ["a=http://x", "b=2"]);
        assert!(items(&table, Shape::Repeated).is_err());
        assert!(items(&table, Shape::One).is_err());
        let array = toml::Value::Array(vec!["x".into(), 3.into()]);
        assert_eq!(items(&array, Shape::Repeated).unwrap(), ["x", "3"]);
        assert!(items(&array, Shape::One).is_err());
        // The file's own check: a table for a list option is refused.
        let file = File::new("table.toml", "[cors-origin]\na = \"https://a.example\"\n");
        let error = load(&["--config", file.arg()]).unwrap_err();
        assert!(
            error.contains(":1: `cors-origin`: takes a value or an array"),
            "{error}"
        );
    }
}
