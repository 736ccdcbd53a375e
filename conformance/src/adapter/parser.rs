//! Parser mode: every decoder vector, at each chunking of the plan, sent to
//! the adapter as one `parse` request; its answer is judged like an
//! in-process decoder's ([`harness::judge`]).

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use super::process::{Adapter, ProcessError};
use super::protocol::{self, Hello};
use super::{CaseResult, Mode, ModeReport, RunError, Status, hello};
use crate::chunking::{self, Chunking};
use crate::harness::{self, Capabilities, Outcome, Ran};
use crate::vectors::{DecoderCase, VectorFile};

/// Which chunkings each case runs at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// [`harness::full_matrix`]: whole, 1/2/3-byte chunks, every split,
    /// every pair of splits for short inputs, random splits.
    Full,
    /// Whole, 1-byte chunks, every single split point and the random splits.
    Quick,
}

impl Plan {
    /// The chunkings for `case`.
    pub fn chunkings(self, case: &DecoderCase) -> Vec<Chunking> {
        match self {
            Plan::Full => harness::full_matrix(case),
            Plan::Quick => {
                let len = case.input.len();
                let mut plan = vec![Chunking::Whole, Chunking::Every(1)];
                plan.extend((1..len).map(|cut| Chunking::At(vec![cut])));
                let seed = chunking::seed_for(&case.id);
                plan.extend((0..2).map(|n| Chunking::random(len, seed.wrapping_add(n))));
                plan
            }
        }
    }
}

/// Runs every decoder case of `files` against the parser adapter `command`.
///
/// A run that gets no answer within `timeout`, or a malformed one, fails its
/// case with the reason, and the adapter is restarted for the next case.
///
/// # Errors
///
/// [`RunError`] when the adapter cannot be started or does not declare
/// parser mode in its hello line.
pub fn run(
    command: &[String],
    files: &[VectorFile],
    plan: Plan,
    timeout: Duration,
) -> Result<ModeReport, RunError> {
    let (mut adapter, first) = start(command)?;
    let caps = first.parser.unwrap_or_default();
    let mut report = ModeReport::new(&first, Mode::Parser, serde_json::to_value(caps).ok());
    let mut live = true;
    for file in files.iter().filter(|file| !file.cases.is_empty()) {
        for case in &file.cases {
            if !live {
                (adapter, _) = start(command)?;
                live = true;
            }
            let (status, runs) = run_case(&mut adapter, case, caps, plan, timeout, &mut live);
            report.push(CaseResult {
                group: file.group.clone(),
                id: case.id.clone(),
                status,
                runs,
            });
        }
    }
    adapter.shutdown(Duration::from_millis(500));
    Ok(report)
}

fn start(command: &[String]) -> Result<(Adapter, Hello), RunError> {
    let (adapter, hello) = hello(command)?;
    if hello.parser.is_none() {
        return Err(RunError::Mode {
            implementation: hello.hello,
            mode: Mode::Parser,
        });
    }
    Ok((adapter, hello))
}

fn run_case(
    adapter: &mut Adapter,
    case: &DecoderCase,
    caps: Capabilities,
    plan: Plan,
    timeout: Duration,
    live: &mut bool,
) -> (Status, usize) {
    if let Some(reason) = &case.skip {
        return (Status::Skipped(reason.clone()), 0);
    }
    if let Some(missing) = harness::missing_capability(case, caps) {
        return (Status::Unsupported(missing.to_owned()), 0);
    }
    let mut runs = 0;
    for chunking in plan.chunkings(case) {
        runs += 1;
        let ran = match exchange(adapter, case, &chunking, timeout) {
            Ok(ran) => ran,
            Err(Broken::Process(error)) => {
                *live = false;
                return (
                    Status::Fail(format!("{} at {chunking}: {error}", case.id)),
                    runs,
                );
            }
            Err(Broken::Answer(problem)) => {
                return (
                    Status::Fail(format!("{} at {chunking}: {problem}", case.id)),
                    runs,
                );
            }
        };
        if let Outcome::Fail(mismatch) = harness::judge(case, &chunking, caps, ran) {
            return (Status::Fail(mismatch.to_string()), runs);
        }
    }
    (Status::Pass, runs)
}

enum Broken {
    Process(ProcessError),
    Answer(String),
}

fn exchange(
    adapter: &mut Adapter,
    case: &DecoderCase,
    chunking: &Chunking,
    timeout: Duration,
) -> Result<Ran, Broken> {
    let chunks = chunking.chunks(&case.input);
    let encoded: Vec<String> = chunks
        .iter()
        .map(|chunk| base64::engine::general_purpose::STANDARD.encode(chunk))
        .collect();
    let request = json!({"parse": {
        "chunks": encoded,
        "last_event_id": case.initial_last_event_id,
        "limits": case.limits,
    }});
    adapter.send(&request).map_err(Broken::Process)?;
    let answer = adapter
        .recv(Instant::now() + timeout, "the answer to a parse request")
        .map_err(Broken::Process)?;
    let outputs = answer
        .get("outputs")
        .and_then(Value::as_array)
        .ok_or_else(|| Broken::Answer(format!("no `outputs` array in {answer}")))?;
    if outputs.len() != chunks.len() + 1 {
        return Err(Broken::Answer(format!(
            "{} outputs for {} chunks (want one per chunk and one for the end)",
            outputs.len(),
            chunks.len()
        )));
    }
    let mut frames = Vec::with_capacity(outputs.len());
    for output in outputs {
        let list = output
            .as_array()
            .ok_or_else(|| Broken::Answer(format!("an output is not an array: {output}")))?;
        frames.push(list.iter().map(protocol::frame).collect::<Vec<_>>());
    }
    let withheld = frames.pop().unwrap_or_default();
    let last_event_id = match answer.get("last_event_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(other) => {
            return Err(Broken::Answer(format!(
                "last_event_id is not a string: {other}"
            )));
        }
    };
    Ok(Ran {
        actual: frames.concat(),
        withheld,
        last_event_id,
        panic: None,
    })
}
