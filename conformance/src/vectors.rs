//! The vector files: their types and the loader.
//!
//! Each file under `conformance/vectors/` covers one area of the WHATWG text
//! ("9.2.5 Parsing an event stream", "9.2.6 Interpreting an event stream") and
//! holds decoder cases (`cases`: input bytes → ordered frames) and, for the
//! encoder, `encoder_cases` (builder input → exact bytes, or a refusal).
//!
//! A decoder case in JSON:
//!
//! ```json
//! {
//!   "id": "id-only-block-commits",
//!   "description": "dispatch step 1 runs at every blank line: an id-only block moves the last event ID",
//!   "input": "data: a\nid: 1\n\nid: 7\n\n",
//!   "expect": [{"event": {"type": "message", "data": "a", "id": "1", "last_event_id": "1"}}],
//!   "final_last_event_id": "7"
//! }
//! ```
//!
//! `input` is a JSON string (so CR, LF and the BOM are written `\r`, `\n`,
//! `\ufeff`); `input_base64` replaces it for bytes that are not UTF-8.
//! Optional: `limits` (`max_line_len`, `max_event_len`),
//! `initial_last_event_id`, `skip` with the reason a case is not run, and
//! `source`: for a case restated from another project's suite, that suite,
//! the test and its address (the cases are restated as data, never copied
//! code).

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The folder holding the vector files, found from this crate's manifest
/// directory (never from the working directory).
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

/// Loads every `*.json` file of [`dir()`], sorted by file name.
///
/// # Errors
///
/// A [`LoadError`] when a file cannot be read or parsed, or when two cases
/// share an `id`.
pub fn load_all() -> Result<Vec<VectorFile>, LoadError> {
    load_dir(&dir())
}

/// Loads every `*.json` file of `path`, sorted by file name, and checks that
/// case ids are unique across them.
///
/// # Errors
///
/// As [`load_all`].
pub fn load_dir(path: &Path) -> Result<Vec<VectorFile>, LoadError> {
    let entries = fs::read_dir(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file = entry.path();
        if file.extension().is_some_and(|ext| ext == "json") {
            paths.push(file);
        }
    }
    paths.sort();
    let files = paths
        .iter()
        .map(|file| load_file(file))
        .collect::<Result<Vec<_>, _>>()?;

    let mut ids = std::collections::BTreeSet::new();
    for file in &files {
        let case_ids = file.cases.iter().map(|case| &case.id);
        let encoder_ids = file.encoder_cases.iter().map(|case| &case.id);
        for id in case_ids.chain(encoder_ids) {
            if !ids.insert(id.clone()) {
                return Err(LoadError::DuplicateId {
                    path: file.path.clone(),
                    id: id.clone(),
                });
            }
        }
    }
    Ok(files)
}

/// Loads one vector file. Its group name is the file stem.
///
/// # Errors
///
/// A [`LoadError`] when the file cannot be read or is not a valid vector file.
pub fn load_file(path: &Path) -> Result<VectorFile, LoadError> {
    let text = fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut file: VectorFile = serde_json::from_str(&text).map_err(|source| LoadError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    file.group = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    file.path = path.to_path_buf();
    Ok(file)
}

/// One vector file: the cases of one area of the spec.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    /// The group name: the file stem (`retry` for `retry.json`).
    #[serde(skip)]
    pub group: String,
    /// Where the file was loaded from.
    #[serde(skip)]
    pub path: PathBuf,
    /// What the file covers, naming the spec text.
    pub description: String,
    /// Decoder cases.
    #[serde(default)]
    pub cases: Vec<DecoderCase>,
    /// Encoder cases.
    #[serde(default)]
    pub encoder_cases: Vec<EncoderCase>,
}

/// A decoder case: input bytes and the frames a conforming decoder yields.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawDecoderCase")]
pub struct DecoderCase {
    /// Stable identifier, unique across all files.
    pub id: String,
    /// The spec rule (or peer bug) the case pins down.
    pub description: String,
    /// The input bytes.
    pub input: Vec<u8>,
    /// Decoder limits for this case; `None` means the defaults.
    pub limits: Option<VectorLimits>,
    /// The last event ID the decoder starts from (a reconnecting client's).
    pub initial_last_event_id: Option<String>,
    /// The frames, in stream order.
    pub expect: Vec<Frame>,
    /// The decoder's last event ID string once the input has ended.
    pub final_last_event_id: String,
    /// Why the case is not run, if it is not.
    pub skip: Option<String>,
    /// Where a case restated from another project's suite comes from: the
    /// suite, the test and its address (at a fixed commit).
    pub source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDecoderCase {
    id: String,
    description: String,
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    input_base64: Option<String>,
    #[serde(default)]
    limits: Option<VectorLimits>,
    #[serde(default)]
    initial_last_event_id: Option<String>,
    expect: Vec<Frame>,
    final_last_event_id: String,
    #[serde(default)]
    skip: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

impl TryFrom<RawDecoderCase> for DecoderCase {
    type Error = String;

    fn try_from(raw: RawDecoderCase) -> Result<Self, String> {
        let input = match (raw.input, raw.input_base64) {
            (Some(text), None) => text.into_bytes(),
            (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|error| format!("case {}: bad input_base64: {error}", raw.id))?,
            _ => {
                return Err(format!(
                    "case {}: exactly one of `input` and `input_base64` is required",
                    raw.id
                ));
            }
        };
        if raw.description.trim().is_empty() {
            return Err(format!("case {}: empty description", raw.id));
        }
        Ok(DecoderCase {
            id: raw.id,
            description: raw.description,
            input,
            limits: raw.limits,
            initial_last_event_id: raw.initial_last_event_id,
            expect: raw.expect,
            final_last_event_id: raw.final_last_event_id,
            skip: raw.skip,
            source: raw.source,
        })
    }
}

/// Decoder limits of a case; an absent value keeps the decoder's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorLimits {
    /// The longest line accepted, in bytes, without its line ending.
    #[serde(default)]
    pub max_line_len: Option<usize>,
    /// The largest event `data` accepted, in bytes, after joining.
    #[serde(default)]
    pub max_event_len: Option<usize>,
}

/// One frame of decoder output, as written in the vectors.
///
/// In JSON: `{"event": {...}}`, `{"retry": 1500}`, `{"comment": "text"}`,
/// `{"error": {"kind": "line_too_long", "limit": 8}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Frame {
    /// A dispatched event.
    Event(EventFrame),
    /// A valid `retry` field: the reconnection time in milliseconds.
    Retry(u64),
    /// A comment line, without the colon and one leading space.
    Comment(String),
    /// A limit was exceeded and the event being built was discarded.
    Error(ErrorFrame),
    /// Something the vectors have no name for (a decoder's new frame kind);
    /// never expected, so always a mismatch.
    Other(String),
}

/// A dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventFrame {
    /// The event type: the `event` field, or `message`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The data buffer, its last LF removed.
    pub data: String,
    /// The `id` field of this event's block, if it had an accepted one.
    #[serde(default)]
    pub id: Option<String>,
    /// The last event ID string when the event was dispatched.
    pub last_event_id: String,
}

/// A limit error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorFrame {
    /// Which limit.
    pub kind: ErrorKind,
    /// The limit in force, in bytes.
    pub limit: usize,
}

/// Which limit was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The maximum line length.
    LineTooLong,
    /// The maximum event size.
    EventTooLong,
}

/// An encoder case: what is given to the event builder and what it must write.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawEncoderCase")]
pub struct EncoderCase {
    /// Stable identifier, unique across all files.
    pub id: String,
    /// The rule or peer bug the case pins down.
    pub description: String,
    /// The builder calls.
    pub build: BuildInput,
    /// The exact bytes, or the refusal.
    pub expect: EncoderExpect,
}

/// The builder calls of an encoder case. The harness calls `comment`,
/// `event`, `id`, `retry` and `data` in that order, so the first refused
/// value is the `event` before the `id`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildInput {
    /// `comment(..)`.
    #[serde(default)]
    pub comment: Option<String>,
    /// `event(..)`.
    #[serde(default)]
    pub event: Option<String>,
    /// `id(..)`.
    #[serde(default)]
    pub id: Option<String>,
    /// `retry(..)` with whole milliseconds.
    #[serde(default)]
    pub retry_ms: Option<u64>,
    /// `retry(..)` with microseconds (to pin the rounding).
    #[serde(default)]
    pub retry_us: Option<u64>,
    /// `data(..)`.
    #[serde(default)]
    pub data: Option<String>,
}

/// What an encoder case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncoderExpect {
    /// The event builds and encodes to exactly these bytes, which decode to
    /// these frames and leave this last event ID.
    Bytes {
        /// The encoded event.
        bytes: Vec<u8>,
        /// What a conforming decoder reads back from `bytes`.
        decoded: Vec<Frame>,
        /// The decoder's last event ID after `bytes`.
        final_last_event_id: String,
    },
    /// The builder refuses the event.
    Error {
        /// The refused field.
        field: EncodeField,
        /// Byte index of the forbidden character in that field's value.
        index: usize,
    },
}

/// The field an encoder case expects the builder to refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncodeField {
    /// The `event` field.
    Event,
    /// The `id` field.
    Id,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEncoderCase {
    id: String,
    description: String,
    build: BuildInput,
    #[serde(default)]
    expect_bytes: Option<String>,
    #[serde(default)]
    expect_error: Option<RawEncodeError>,
    #[serde(default)]
    decoded: Option<Vec<Frame>>,
    #[serde(default)]
    final_last_event_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEncodeError {
    field: EncodeField,
    index: usize,
}

impl TryFrom<RawEncoderCase> for EncoderCase {
    type Error = String;

    fn try_from(raw: RawEncoderCase) -> Result<Self, String> {
        let expect = match (raw.expect_bytes, raw.expect_error) {
            (Some(bytes), None) => EncoderExpect::Bytes {
                bytes: bytes.into_bytes(),
                decoded: raw
                    .decoded
                    .ok_or_else(|| format!("case {}: `decoded` is required", raw.id))?,
                final_last_event_id: raw.final_last_event_id.unwrap_or_default(),
            },
            (None, Some(error)) if raw.decoded.is_none() => EncoderExpect::Error {
                field: error.field,
                index: error.index,
            },
            _ => {
                return Err(format!(
                    "case {}: exactly one of `expect_bytes` (with `decoded`) and `expect_error`",
                    raw.id
                ));
            }
        };
        Ok(EncoderCase {
            id: raw.id,
            description: raw.description,
            build: raw.build,
            expect,
        })
    }
}

/// A vector file could not be loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// Reading the file or folder failed.
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not valid vector JSON.
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error, with line and column.
        source: serde_json::Error,
    },
    /// Two cases have the same id.
    DuplicateId {
        /// The file holding the second one.
        path: PathBuf,
        /// The id.
        id: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            LoadError::Json { path, source } => write!(f, "{}: {source}", path.display()),
            LoadError::DuplicateId { path, id } => {
                write!(f, "{}: case id `{id}` is used twice", path.display())
            }
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { source, .. } => Some(source),
            LoadError::Json { source, .. } => Some(source),
            LoadError::DuplicateId { .. } => None,
        }
    }
}
