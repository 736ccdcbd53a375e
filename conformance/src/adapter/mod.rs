//! The runner for implementations in any language (feature `adapters`): an
//! adapter is a child process speaking JSON lines over stdin/stdout
//! (`conformance/PROTOCOL.md`). In parser mode the runner sends the decoder
//! vectors' bytes in chunks and judges the frames the adapter parsed; in
//! client mode it plays each client behaviour case from a scripted server
//! on loopback and judges what the adapter reports and the requests it made.
//! An [`baseline::Baseline`] (expected failures, each with a reason) turns
//! the scores into a pass/fail that fails on new failures and on stale
//! entries alike.
//!
//! Every wait is bounded: an adapter that hangs or crashes fails the case
//! it was running, with the reason, and is restarted.

use std::fmt;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

pub mod baseline;
pub mod client;
pub mod parser;
pub mod process;
pub mod protocol;

use process::{Adapter, ProcessError};
use protocol::Hello;

/// How long an adapter gets to write its hello line. Default: 20 s (a cold
/// `node` or `python3` on a busy machine).
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(20);

/// The two modes of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Bytes in, frames out.
    Parser,
    /// Connect to a URL, report what happens.
    Client,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Parser => "parser",
            Mode::Client => "client",
        })
    }
}

/// How one case went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum Status {
    /// Every run matched.
    Pass,
    /// The first mismatch, timeout or crash.
    Fail(String),
    /// The case needs a capability the adapter did not declare.
    Unsupported(String),
    /// The case carries a `skip` reason.
    Skipped(String),
}

/// One case's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseResult {
    /// The vector group (file stem), or `client`.
    pub group: String,
    /// The case id.
    pub id: String,
    /// How it went.
    #[serde(flatten)]
    pub status: Status,
    /// Runs made (chunkings in parser mode).
    pub runs: usize,
}

/// One implementation's results in one mode.
#[derive(Debug, Clone, Serialize)]
pub struct ModeReport {
    /// The implementation, from the hello line.
    pub implementation: String,
    /// The mode.
    pub mode: Mode,
    /// The capabilities it declared.
    pub capabilities: Option<Value>,
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases it could not run (a capability it lacks).
    pub unsupported: usize,
    /// Cases with a `skip` reason.
    pub skipped: usize,
    /// Every case, in vector order.
    pub cases: Vec<CaseResult>,
}

impl ModeReport {
    fn new(hello: &Hello, mode: Mode, capabilities: Option<Value>) -> ModeReport {
        ModeReport {
            implementation: hello.hello.clone(),
            mode,
            capabilities,
            passed: 0,
            failed: 0,
            unsupported: 0,
            skipped: 0,
            cases: Vec::new(),
        }
    }

    fn push(&mut self, result: CaseResult) {
        match result.status {
            Status::Pass => self.passed += 1,
            Status::Fail(_) => self.failed += 1,
            Status::Unsupported(_) => self.unsupported += 1,
            Status::Skipped(_) => self.skipped += 1,
        }
        self.cases.push(result);
    }

    /// The cases that ran (passed or failed).
    pub fn scored(&self) -> usize {
        self.passed + self.failed
    }

    /// A table: one row per group with passed/failed/unsupported/skipped,
    /// then the total.
    pub fn table(&self) -> String {
        use std::fmt::Write as _;

        let mut groups: Vec<(&str, [usize; 4])> = Vec::new();
        for case in &self.cases {
            let column = match case.status {
                Status::Pass => 0,
                Status::Fail(_) => 1,
                Status::Unsupported(_) => 2,
                Status::Skipped(_) => 3,
            };
            match groups.last_mut() {
                Some((group, counts)) if *group == case.group => counts[column] += 1,
                _ => {
                    let mut counts = [0; 4];
                    counts[column] += 1;
                    groups.push((&case.group, counts));
                }
            }
        }
        let mut out = String::new();
        let _ = writeln!(out, "{} ({} mode)", self.implementation, self.mode);
        let _ = writeln!(
            out,
            "{:<18} {:>7} {:>7} {:>12} {:>8}",
            "group", "passed", "failed", "unsupported", "skipped"
        );
        let _ = writeln!(out, "{}", "-".repeat(56));
        for (group, [passed, failed, unsupported, skipped]) in &groups {
            let _ = writeln!(
                out,
                "{group:<18} {passed:>7} {failed:>7} {unsupported:>12} {skipped:>8}"
            );
        }
        let _ = writeln!(out, "{}", "-".repeat(56));
        let _ = writeln!(
            out,
            "{:<18} {:>7} {:>7} {:>12} {:>8}",
            "total", self.passed, self.failed, self.unsupported, self.skipped
        );
        let _ = writeln!(
            out,
            "score: {}/{} cases passed ({} not run: capabilities the adapter lacks or skips)",
            self.passed,
            self.scored(),
            self.unsupported + self.skipped
        );
        out
    }
}

/// Why a run could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The adapter could not start or said no hello.
    Process(ProcessError),
    /// The hello line is not valid.
    Hello(String),
    /// The adapter does not declare the mode asked for.
    Mode {
        /// Its name.
        implementation: String,
        /// The mode.
        mode: Mode,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Process(error) => error.fmt(f),
            RunError::Hello(problem) => write!(f, "bad hello line: {problem}"),
            RunError::Mode {
                implementation,
                mode,
            } => write!(
                f,
                "{implementation}: its hello line declares no `{mode}` mode"
            ),
        }
    }
}

impl std::error::Error for RunError {}

impl From<ProcessError> for RunError {
    fn from(error: ProcessError) -> RunError {
        RunError::Process(error)
    }
}

/// Starts the adapter and reads its hello line.
///
/// # Errors
///
/// [`RunError::Process`] or [`RunError::Hello`].
pub fn hello(command: &[String]) -> Result<(Adapter, Hello), RunError> {
    let mut adapter = Adapter::spawn(command)?;
    let line = adapter.recv(Instant::now() + HELLO_TIMEOUT, "the hello line")?;
    let hello: Hello = serde_json::from_value(line.clone())
        .map_err(|error| RunError::Hello(format!("{error}: {line}")))?;
    Ok((adapter, hello))
}
