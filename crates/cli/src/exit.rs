//! Exit codes, the same for every command (listed in `bourn --help`).

use std::fmt;
use std::io::Write;
use std::process::ExitCode;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 0: done — a clean end of stream, `--max-events` reached, an event published.
    Ok = 0,
    /// 1: any other error (I/O, bad input file, invalid URL or header, a
    /// hub that cannot bind its address).
    Error = 1,
    /// 2: invalid command-line arguments (clap's own code).
    Usage = 2,
    /// 3: the server answered with an HTTP status that is not a success
    /// (listen: not 200/204; publish: not 2xx).
    Status = 3,
    /// 4: `200 OK` but the `Content-Type` is not `text/event-stream`.
    ContentType = 4,
    /// 5: network failure: retries exhausted (`--retry N`), the first
    /// failure with `--once` or for `bourn publish`, a refused first
    /// connection of `bourn listen` (unless `--retry-connect`), or a TLS
    /// certificate that is not trusted.
    Network = 5,
    /// 6: `--timeout` elapsed before the stream ended.
    Timeout = 6,
}

/// The text of `--help` about exit codes, as a literal for `concat!`.
macro_rules! exit_help {
    () => {
        "Exit codes:
  0  done: clean end of stream (204, or end of a --once stream), --max-events
     reached, or the event published
  1  other error (I/O, bad input, invalid URL or header, address in use)
  2  invalid arguments
  3  HTTP status refused (listen: not 200/204; publish: not 2xx)
  4  200 but Content-Type is not text/event-stream
  5  network failure: retries exhausted (--retry N), any with --once / publish,
     a refused first connection (listen without --retry-connect), or an
     untrusted TLS certificate
  6  --timeout elapsed"
    };
}
pub(crate) use exit_help;

/// The text of `bourn --help` about exit codes.
pub const HELP: &str = exit_help!();

impl From<Code> for ExitCode {
    fn from(code: Code) -> ExitCode {
        ExitCode::from(code as u8)
    }
}

/// A command that failed: the code to exit with and what to tell the user.
#[derive(Debug)]
pub struct Failure {
    pub code: Code,
    pub message: String,
}

impl Failure {
    /// A failure with this code and message.
    pub fn new(code: Code, message: impl fmt::Display) -> Failure {
        Failure {
            code,
            message: message.to_string(),
        }
    }

    /// An [`Code::Error`] failure.
    pub fn error(message: impl fmt::Display) -> Failure {
        Failure::new(Code::Error, message)
    }
}

/// What a command returns.
pub type Outcome = Result<Code, Failure>;

/// Writes `bourn: <message>` to stderr and returns `code` for `main`.
pub fn fail(code: Code, message: &str) -> ExitCode {
    let mut stderr = std::io::stderr().lock();
    // Nothing to do if stderr itself is gone.
    let _ = writeln!(stderr, "bourn: {message}");
    code.into()
}
