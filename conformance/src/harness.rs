//! Running decoder vectors against any decoder, at any chunking.
//!
//! A decoder joins the suite by implementing [`DecoderUnderTest`]: start a
//! stream, feed it chunks, finish it, and say what it can report
//! ([`Capabilities`]). The runner compares what it yields with each case's
//! expected frames, projected onto those capabilities, so a parser that does
//! not surface comments or `retry` is judged on the rest.

use std::panic::{self, AssertUnwindSafe};

use serde::{Deserialize, Serialize};

use crate::chunking::{self, Chunking};
use crate::vectors::{DecoderCase, Frame, VectorFile, VectorLimits};

/// What a decoder under test can report. Expected frames it cannot report
/// are left out of the comparison; cases needing a setup it cannot honour
/// are counted as unsupported, not failed.
///
/// An adapter declares the same flags as its hello line's `parser` object
/// (`conformance/PROTOCOL.md`), where an absent flag is `false`. Default:
/// every flag `false` (events only, whole stream at the end).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Capabilities {
    /// Reports comment lines as [`Frame::Comment`].
    pub comments: bool,
    /// Reports valid `retry` fields as [`Frame::Retry`].
    pub retry: bool,
    /// Reports the `id` field of each event's own block ([`EventFrame::id`](crate::vectors::EventFrame::id)).
    pub event_id: bool,
    /// Reports each event's last event ID string and the final one.
    pub last_event_id: bool,
    /// Honours [`Setup::limits`] and reports limit errors as [`Frame::Error`].
    pub limits: bool,
    /// Honours [`Setup::initial_last_event_id`].
    pub initial_last_event_id: bool,
    /// Yields every frame as soon as its bytes were fed: a frame that only
    /// comes out of [`DecoderUnderTest::finish`] was withheld, which fails
    /// the run (end of stream only ever discards).
    pub incremental: bool,
}

impl Capabilities {
    /// Everything: what bourn-codec reports.
    pub const ALL: Capabilities = Capabilities {
        comments: true,
        retry: true,
        event_id: true,
        last_event_id: true,
        limits: true,
        initial_last_event_id: true,
        incremental: true,
    };
}

/// How a decoder is set up for one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Setup {
    /// Limits to apply (`None`: the decoder's defaults).
    pub limits: Option<VectorLimits>,
    /// The last event ID to start from.
    pub initial_last_event_id: Option<String>,
}

/// An SSE decoder the vectors can run against: "feed bytes, finish, get frames".
///
/// ```
/// use bourn_conformance::harness::{Capabilities, DecoderUnderTest, Setup};
/// use bourn_conformance::vectors::{EventFrame, Frame};
///
/// /// A toy decoder that understands only `data:` lines ending in LF.
/// #[derive(Default)]
/// struct Toy { line: Vec<u8>, data: Option<String> }
///
/// impl DecoderUnderTest for Toy {
///     fn name(&self) -> &str { "toy" }
///     fn capabilities(&self) -> Capabilities {
///         Capabilities { comments: false, retry: false, event_id: false, last_event_id: false,
///                        limits: false, initial_last_event_id: false, incremental: true }
///     }
///     fn start(&mut self, _: &Setup) { *self = Toy::default(); }
///     fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) {
///         for &byte in chunk {
///             if byte != b'\n' { self.line.push(byte); continue; }
///             let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
///             if line.is_empty() {
///                 if let Some(data) = self.data.take() {
///                     let (event_type, id, last_event_id) = ("message".into(), None, String::new());
///                     out.push(Frame::Event(EventFrame { event_type, data, id, last_event_id }));
///                 }
///             } else if let Some(value) = line.strip_prefix("data: ") {
///                 let data = self.data.get_or_insert_with(String::new);
///                 if !data.is_empty() { data.push('\n'); }
///                 data.push_str(value);
///             }
///         }
///     }
///     fn finish(&mut self, _: &mut Vec<Frame>) {}
///     fn last_event_id(&self) -> Option<String> { None }
/// }
///
/// let files = bourn_conformance::vectors::load_all()?;
/// let report = bourn_conformance::harness::run_suite(&mut Toy::default(), &files, |_| {
///     vec![bourn_conformance::chunking::Chunking::Whole]
/// });
/// assert!(report.passed > 0 && report.failed > 0); // a toy: some pass, many fail
/// # Ok::<(), bourn_conformance::vectors::LoadError>(())
/// ```
pub trait DecoderUnderTest {
    /// The decoder's name in reports.
    fn name(&self) -> &str;
    /// What the decoder can report.
    fn capabilities(&self) -> Capabilities;
    /// Starts a new stream, forgetting everything from the previous run.
    fn start(&mut self, setup: &Setup);
    /// Feeds the next chunk; pushes every frame that is complete.
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>);
    /// Ends the stream; pushes any frame still to come (a conforming
    /// decoder has none: end of stream only discards).
    fn finish(&mut self, out: &mut Vec<Frame>);
    /// The last event ID string once the stream has ended, if observable.
    fn last_event_id(&self) -> Option<String>;
}

/// Why a run did not pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The case.
    pub case_id: String,
    /// The chunking, as text.
    pub chunking: String,
    /// Expected frames (projected onto the decoder's capabilities).
    pub expected: Vec<Frame>,
    /// Frames yielded while feeding.
    pub actual: Vec<Frame>,
    /// Frames yielded only by `finish` (withheld until end of stream).
    pub withheld: Vec<Frame>,
    /// Expected final last event ID, when compared.
    pub expected_last_event_id: Option<String>,
    /// Actual final last event ID, when compared.
    pub actual_last_event_id: Option<String>,
    /// The panic message, if the decoder panicked.
    pub panic: Option<String>,
}

impl std::fmt::Display for Mismatch {
    /// The case, the chunking, expected and actual frames and last event
    /// IDs; then what was withheld until end of stream and any panic.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at {}\n  expected {:?} (last event id {:?})\n  actual   {:?} (last event id {:?})",
            self.case_id,
            self.chunking,
            self.expected,
            self.expected_last_event_id,
            self.actual,
            self.actual_last_event_id,
        )?;
        if !self.withheld.is_empty() {
            write!(f, "\n  withheld until end of stream {:?}", self.withheld)?;
        }
        if let Some(panic) = &self.panic {
            write!(f, "\n  panicked: {panic}")?;
        }
        Ok(())
    }
}

/// The result of one case at one chunking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Same frames (and last event ID) as expected.
    Pass,
    /// Different.
    Fail(Box<Mismatch>),
    /// The case needs something the decoder does not support.
    Unsupported(&'static str),
    /// The case carries a `skip` reason.
    Skipped,
}

/// Runs one case at one chunking.
pub fn run_case<D: DecoderUnderTest + ?Sized>(
    decoder: &mut D,
    case: &DecoderCase,
    chunking: &Chunking,
) -> Outcome {
    if case.skip.is_some() {
        return Outcome::Skipped;
    }
    let caps = decoder.capabilities();
    if let Some(missing) = missing_capability(case, caps) {
        return Outcome::Unsupported(missing);
    }
    let setup = Setup {
        limits: case.limits,
        initial_last_event_id: case.initial_last_event_id.clone(),
    };

    let (mut actual, mut withheld) = (Vec::new(), Vec::new());
    let run = panic::catch_unwind(AssertUnwindSafe(|| {
        decoder.start(&setup);
        for chunk in chunking.chunks(&case.input) {
            decoder.feed(chunk, &mut actual);
        }
        decoder.finish(&mut withheld);
        decoder.last_event_id()
    }));
    let (last_event_id, panic) = match run {
        Ok(id) => (id, None),
        Err(payload) => (None, Some(panic_message(payload.as_ref()))),
    };
    judge(
        case,
        chunking,
        caps,
        Ran {
            actual,
            withheld,
            last_event_id,
            panic,
        },
    )
}

/// The capability `case` needs that `caps` lacks, if any: `limits` for a
/// case with limits, `initial last event id` for one starting from a last
/// event ID.
pub fn missing_capability(case: &DecoderCase, caps: Capabilities) -> Option<&'static str> {
    if case.limits.is_some() && !caps.limits {
        Some("limits")
    } else if case.initial_last_event_id.is_some() && !caps.initial_last_event_id {
        Some("initial last event id")
    } else {
        None
    }
}

/// What a decoder yielded for one case at one chunking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ran {
    /// Frames yielded while feeding.
    pub actual: Vec<Frame>,
    /// Frames yielded only at end of stream.
    pub withheld: Vec<Frame>,
    /// The final last event ID, if observable.
    pub last_event_id: Option<String>,
    /// Why the run broke off (a panic, a dead adapter), if it did.
    pub panic: Option<String>,
}

/// Compares what a decoder with `caps` yielded for `case` at `chunking`
/// with the case's expected frames (projected onto `caps`).
pub fn judge(case: &DecoderCase, chunking: &Chunking, caps: Capabilities, ran: Ran) -> Outcome {
    let Ran {
        actual,
        withheld,
        last_event_id,
        panic,
    } = ran;
    let expected = project(&case.expect, caps);
    let expected_last_event_id = caps.last_event_id.then(|| case.final_last_event_id.clone());
    let actual_last_event_id = last_event_id.filter(|_| caps.last_event_id && panic.is_none());
    let actual = project(&actual, caps);
    let withheld = project(&withheld, caps);

    let pass = panic.is_none()
        && if caps.incremental {
            withheld.is_empty() && actual == expected
        } else {
            [actual.as_slice(), withheld.as_slice()].concat() == expected
        }
        && actual_last_event_id == expected_last_event_id;
    if pass {
        Outcome::Pass
    } else {
        Outcome::Fail(Box::new(Mismatch {
            case_id: case.id.clone(),
            chunking: chunking.to_string(),
            expected,
            actual,
            withheld,
            expected_last_event_id,
            actual_last_event_id,
            panic,
        }))
    }
}

/// The text of a caught panic's payload (`"panic"` when it is neither
/// `&str` nor `String`).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic".to_owned()
    }
}

/// The frames a decoder with `caps` can report: comments and retries dropped
/// when it cannot, and event ids cleared when it does not report them.
pub fn project(frames: &[Frame], caps: Capabilities) -> Vec<Frame> {
    frames
        .iter()
        .filter(|frame| match frame {
            Frame::Comment(_) => caps.comments,
            Frame::Retry(_) => caps.retry,
            Frame::Error(_) => caps.limits,
            Frame::Event(_) | Frame::Other(_) => true,
        })
        .map(|frame| match frame {
            Frame::Event(event) => {
                let mut event = event.clone();
                if !caps.event_id {
                    event.id = None;
                }
                if !caps.last_event_id {
                    event.last_event_id.clear();
                }
                Frame::Event(event)
            }
            other => other.clone(),
        })
        .collect()
}

/// The full chunking matrix for a case ([`chunking::matrix`], seeded by its id).
pub fn full_matrix(case: &DecoderCase) -> Vec<Chunking> {
    chunking::matrix(case.input.len(), chunking::seed_for(&case.id))
}

/// Results of one vector file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GroupReport {
    /// The group (file stem).
    pub group: String,
    /// Decoder cases in the file.
    pub cases: usize,
    /// Runs (cases × chunkings) executed.
    pub runs: usize,
    /// Runs that passed.
    pub passed: usize,
    /// Runs that failed.
    pub failed: usize,
    /// Cases the decoder cannot run (a capability it lacks).
    pub unsupported: usize,
    /// Cases with a `skip` reason.
    pub skipped: usize,
    /// Cases with at least one failing run.
    pub failed_cases: usize,
    /// The first failing run of each failing case.
    pub failures: Vec<Mismatch>,
}

/// Results of a decoder over a set of vector files.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SuiteReport {
    /// The decoder's name.
    pub decoder: String,
    /// Its capabilities.
    pub capabilities: Option<Capabilities>,
    /// One entry per file that has decoder cases.
    pub groups: Vec<GroupReport>,
    /// Runs that passed, over all groups.
    pub passed: usize,
    /// Runs that failed, over all groups.
    pub failed: usize,
}

/// Runs every decoder case of `files` at the chunkings `plan` gives for it.
pub fn run_suite<D, P>(decoder: &mut D, files: &[VectorFile], mut plan: P) -> SuiteReport
where
    D: DecoderUnderTest + ?Sized,
    P: FnMut(&DecoderCase) -> Vec<Chunking>,
{
    let mut report = SuiteReport {
        decoder: decoder.name().to_owned(),
        capabilities: Some(decoder.capabilities()),
        ..SuiteReport::default()
    };
    for file in files.iter().filter(|file| !file.cases.is_empty()) {
        let mut group = GroupReport {
            group: file.group.clone(),
            cases: file.cases.len(),
            ..GroupReport::default()
        };
        for case in &file.cases {
            let mut first_failure = None;
            for chunking in plan(case) {
                match run_case(decoder, case, &chunking) {
                    Outcome::Pass => {
                        group.runs += 1;
                        group.passed += 1;
                    }
                    Outcome::Fail(mismatch) => {
                        group.runs += 1;
                        group.failed += 1;
                        first_failure.get_or_insert(*mismatch);
                    }
                    Outcome::Unsupported(_) => {
                        group.unsupported += 1;
                        break;
                    }
                    Outcome::Skipped => {
                        group.skipped += 1;
                        break;
                    }
                }
            }
            if let Some(mismatch) = first_failure {
                group.failed_cases += 1;
                group.failures.push(mismatch);
            }
        }
        report.passed += group.passed;
        report.failed += group.failed;
        report.groups.push(group);
    }
    report
}
