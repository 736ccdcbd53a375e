//! The command line: one `clap` derive per command.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::serve::ServeArgs;

/// Server-Sent Events from the command line: a hub, a listener, a publisher
/// and a decoder.
#[derive(Debug, Parser)]
#[command(name = "bourn", version, after_help = crate::exit::HELP)]
pub struct Cli {
    /// More logs on stderr (-v debug, -vv trace). `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an SSE hub: topics to publish to and subscribe to, with replay
    /// from Last-Event-ID, and a page to watch them in a browser.
    #[command(after_long_help = crate::serve::AFTER_HELP)]
    Serve(Box<ServeArgs>),
    /// Read an event stream, like curl for SSE: reconnects with
    /// Last-Event-ID, prints each event (NDJSON when piped or with --json).
    #[command(after_long_help = LISTEN_AFTER_HELP)]
    Listen(ListenArgs),
    /// Publish events to a `bourn serve` topic and print the ids it assigns.
    Publish(PublishArgs),
    /// Decode a captured text/event-stream (a file or stdin) into NDJSON
    /// frames, with bourn-codec.
    Decode(DecodeArgs),
}

const LISTEN_AFTER_HELP: &str = concat!(
    "\
Output: on a terminal, each event as `type id` then its data, in colour; when
piped or with --json, one JSON object per line:
  {\"type\":\"message\",\"data\":\"…\",\"id\":\"…\",\"last_event_id\":\"…\"}
(`id` is null when the event had no id field). Connection state (open,
reconnects, errors) goes to stderr, never stdout.

A first connection that cannot be made (refused, unknown host) fails at
once with exit 5 (--retry-connect keeps trying); once connected, a lost
connection is retried with Last-Event-ID, one line on stderr per reconnection.
Proxies: HTTP_PROXY, HTTPS_PROXY and NO_PROXY are honoured, or --proxy.

Examples:
  bourn listen http://127.0.0.1:8080/topics/news
  bourn listen --once --until '[DONE]' --bearer \"$OPENAI_API_KEY\" \\
       -H 'content-type: application/json' -d @request.json https://llm.example/v1/stream
  bourn listen --max-events 1 --timeout 1m30s URL | jq .data
  bourn listen --cacert corp-ca.pem --proxy http://proxy.corp:3128 https://feed.corp/events

",
    crate::exit::exit_help!()
);

/// `bourn listen`.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// The event stream's URL (http or https).
    pub url: String,
    /// Add a request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Request method. Default: GET, or POST with -d/--data-binary.
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub method: Option<String>,
    /// Request body; `@FILE` reads a file with its line breaks removed (as
    /// curl does), `@-` reads stdin. Sent again on every reconnection.
    #[arg(
        short = 'd',
        long = "data",
        value_name = "DATA",
        conflicts_with = "data_binary"
    )]
    pub data: Option<String>,
    /// Request body sent byte for byte; `@FILE` reads a file, `@-` stdin.
    #[arg(long = "data-binary", value_name = "DATA")]
    pub data_binary: Option<String>,
    /// Start from this last event id (sent as Last-Event-ID).
    #[arg(long, value_name = "ID")]
    pub last_event_id: Option<String>,
    /// Give up after N consecutive failed reconnection attempts (exit 5).
    /// Default: retry for ever.
    #[arg(long, value_name = "N")]
    pub retry: Option<u32>,
    /// Exit 0 after N events.
    #[arg(long, value_name = "N")]
    pub max_events: Option<u64>,
    /// Exit 6 if the stream has not ended after this long (e.g. 30s, 500ms, 2m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// One request, no reconnection: the end of the response is the normal
    /// end (for LLM-style POST streams).
    #[arg(long)]
    pub once: bool,
    /// Exit 0 at the first event whose data is exactly SENTINEL, without
    /// printing it (e.g. `[DONE]` for OpenAI-style streams).
    #[arg(long, value_name = "SENTINEL")]
    pub until: Option<String>,
    /// Reconnect when no byte (not even a keep-alive comment) arrives for
    /// this long; 0 waits for ever. Default: 5m.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,
    /// Send `Authorization: Bearer TOKEN`.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "BOURN_BEARER",
        hide_env_values = true
    )]
    pub bearer: Option<String>,
    /// Send every request through this HTTP proxy (`http://[user:pass@]host:port`);
    /// https goes through a CONNECT tunnel. Default: HTTP_PROXY / HTTPS_PROXY / NO_PROXY.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Also trust the CA certificates in this PEM file.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Accept any TLS certificate (development only: the stream can be read
    /// and changed by anyone on the path).
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Print each response's status and headers (to stderr, so stdout
    /// stays events only).
    #[arg(short = 'i', long)]
    pub include: bool,
    /// Keep retrying when the first connection cannot be made (default:
    /// fail at once with a hint).
    #[arg(long)]
    pub retry_connect: bool,
    /// Print NDJSON even on a terminal.
    #[arg(long, conflicts_with = "human")]
    pub json: bool,
    /// Print the human format even when piped.
    #[arg(long)]
    pub human: bool,
    /// Colours in the human format.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

/// When to use colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `bourn publish`.
#[derive(Debug, Args)]
#[command(after_long_help = concat!("\
Examples:
  bourn publish http://127.0.0.1:8080/topics/news --event headline --data 'hello'
  echo hello | bourn publish http://127.0.0.1:8080/topics/news
  tail -f app.log | bourn publish --lines http://127.0.0.1:8080/topics/logs

", crate::exit::exit_help!()))]
pub struct PublishArgs {
    /// The topic's URL on a `bourn serve` hub, e.g. http://127.0.0.1:8080/topics/news.
    pub url: String,
    /// The event type. Default: none (the event is a `message`).
    #[arg(short, long, value_name = "TYPE")]
    pub event: Option<String>,
    /// The event data. Default: all of stdin, less one final line break.
    #[arg(short, long, value_name = "DATA")]
    pub data: Option<String>,
    /// Publish each line of stdin as its own event, as it arrives; print
    /// one id per line.
    #[arg(long, conflicts_with = "data")]
    pub lines: bool,
    /// The hub's publish token, sent as `Authorization: Bearer`.
    #[arg(
        long,
        env = "BOURN_PUBLISH_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
}

/// `bourn decode`.
#[derive(Debug, Args)]
#[command(after_long_help = "\
Each frame is one JSON object per line:
  {\"type\":\"message\",\"data\":\"…\",\"id\":\"7\",\"last_event_id\":\"7\"}  an event
  {\"retry\":3000}                                                   a retry field (ms)
  {\"comment\":\"keep-alive\"}                                         a comment (--comments)
  {\"error\":\"…\"}                                                    a limit was exceeded
`id` is the event's own id field (null if it had none); `last_event_id` is the
id in force when it dispatched. An unterminated last event is discarded, as
the spec says.

Examples:
  curl -sN http://127.0.0.1:8080/topics/news | bourn decode
  bourn decode --chunk 1 --comments capture.txt")]
pub struct DecodeArgs {
    /// The captured stream; `-` or nothing reads stdin.
    pub file: Option<PathBuf>,
    /// Also print comment frames.
    #[arg(long)]
    pub comments: bool,
    /// Feed the decoder N bytes at a time (to check chunking).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk: Option<u64>,
}

/// A duration: `1m30s`, `2h 5m`, `500ms` (humantime), or a number with an
/// optional unit `ms`, `s` (default), `m` or `h` (`30`, `1.5s`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(duration) = humantime::parse_duration(text) {
        return Ok(duration);
    }
    parse_simple_duration(text)
}

/// A number of seconds, or a decimal number with one unit.
fn parse_simple_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 30s, 500ms, 1m30s)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("unknown unit `{unit}` in `{text}` (ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|error| format!("`{text}`: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let cases = [
            ("30", Some(30_000)),
            ("30s", Some(30_000)),
            ("500ms", Some(500)),
            ("1.5s", Some(1500)),
            ("2m", Some(120_000)),
            ("1h", Some(3_600_000)),
            ("1m30s", Some(90_000)),
            ("2h 5m", Some(7_500_000)),
            ("1d", Some(86_400_000)),
            ("", None),
            ("s", None),
            ("5x", None),
            ("-1s", None),
        ];
        for (text, expected) in cases {
            let got = parse_duration(text).ok().map(|d| d.as_millis());
            assert_eq!(got, expected, "{text:?}");
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
