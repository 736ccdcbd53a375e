//! [`OpenError`], and the sources of the backend's [`BackendError`]s.

use std::error::Error as StdError;
use std::fmt;
use std::path::{Path, PathBuf};

use bourn_server::backend::BackendError;

/// Why [`RedbBackendBuilder::open`](crate::RedbBackendBuilder::open)
/// refused a file. Opaque, in hyper's shape: ask it with the predicates,
/// read [`path`](OpenError::path), and follow
/// [`source`](StdError::source) for the cause.
///
/// A file that is not a whole store is never adopted as a new, empty
/// history: that would restart every topic at seq 1 in a new epoch while
/// the old history may still be recoverable. Move it aside, or restore it,
/// and open again.
pub struct OpenError {
    kind: OpenErrorKind,
    path: PathBuf,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenErrorKind {
    /// The file or its folder could not be read, created or written.
    Io,
    /// Another process (or another backend in this one) has it open.
    Locked,
    /// Empty, truncated or corrupt.
    Damaged(&'static str),
    /// A readable file that is not a store of this crate's format.
    Foreign(&'static str),
}

impl OpenError {
    pub(crate) fn new(
        kind: OpenErrorKind,
        path: &Path,
        source: Option<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> OpenError {
        OpenError {
            kind,
            path: path.to_path_buf(),
            source,
        }
    }

    /// The file, or its folder, could not be read, created or written.
    pub fn is_io(&self) -> bool {
        self.kind == OpenErrorKind::Io
    }

    /// The file is open in another process, or in another backend of this
    /// one (redb locks it).
    pub fn is_locked(&self) -> bool {
        self.kind == OpenErrorKind::Locked
    }

    /// The file is empty (0 bytes), truncated or corrupt: restore it from a
    /// backup, or move it aside to start a new history.
    pub fn is_damaged(&self) -> bool {
        matches!(self.kind, OpenErrorKind::Damaged(_))
    }

    /// The file is a readable database but not a store of this crate's
    /// format (another program's redb file, or the former
    /// `bourn_server::FileStore` layout).
    pub fn is_foreign(&self) -> bool {
        matches!(self.kind, OpenErrorKind::Foreign(_))
    }

    /// The file that was refused.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Debug for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("OpenError");
        d.field("kind", &self.kind).field("path", &self.path);
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match self.kind {
            OpenErrorKind::Io => write!(f, "{path}: cannot open the embedded store"),
            OpenErrorKind::Locked => write!(f, "{path}: the embedded store is open elsewhere"),
            OpenErrorKind::Damaged(why) => {
                write!(f, "{path}: the embedded store is damaged ({why})")
            }
            OpenErrorKind::Foreign(why) => {
                write!(f, "{path}: not an embedded store of this version ({why})")
            }
        }
    }
}

impl StdError for OpenError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// redb's error, boxed: it is 160 bytes and only travels on failure. Any
/// of redb's error types converts into it with `?`.
#[derive(Debug)]
pub(crate) struct RedbError(pub(crate) Box<redb::Error>);

impl<E: Into<redb::Error>> From<E> for RedbError {
    fn from(error: E) -> RedbError {
        RedbError(Box::new(error.into()))
    }
}

impl fmt::Display for RedbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Transparent: its message is redb's, and its source is redb's source.
impl StdError for RedbError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

/// The source of the backend's [`BackendError`]s.
#[derive(Debug)]
pub(crate) enum StoreError {
    /// redb failed.
    Redb(RedbError),
    /// A topic's events have a hole: the file is damaged.
    Gap { topic: String, seq: u64 },
    /// A write failed earlier; the writer is reopening the file.
    Recovering,
    /// A commit failed and the file could not be read back soon enough to
    /// tell whether it took effect.
    InDoubt,
    /// Another write of the same commit failed: nothing was stored.
    WriteFailed,
    /// This many acknowledged appends were lost to failed commits.
    Lost(u64),
    /// The file at the path is no longer this store (another epoch).
    Replaced,
    /// The backend was dropped, or its writer thread stopped.
    Closed,
    /// `start` was called twice, or the writer thread could not start.
    Start(Option<std::io::Error>),
    /// A blocking read task did not complete (the runtime is shutting down).
    Task,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("embedded store: ")?;
        match self {
            StoreError::Redb(_) => f.write_str("redb failed"),
            StoreError::Gap { topic, seq } => {
                write!(f, "topic {topic:?} has no event {seq} within its history")
            }
            StoreError::Recovering => {
                f.write_str("a write failed; reopening the file (retry shortly)")
            }
            StoreError::InDoubt => f.write_str(
                "a commit failed and its outcome could not be read back yet; \
                 retry with the same idempotency key",
            ),
            StoreError::WriteFailed => f.write_str("a write failed; nothing was stored"),
            StoreError::Lost(n) => {
                write!(f, "{n} acknowledged appends were lost to a failed commit")
            }
            StoreError::Replaced => f.write_str("the file was replaced by another store"),
            StoreError::Closed => f.write_str("the backend is closed"),
            StoreError::Start(None) => f.write_str("already started"),
            StoreError::Start(Some(_)) => f.write_str("cannot start the writer thread"),
            StoreError::Task => f.write_str("a read task did not complete"),
        }
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            StoreError::Redb(error) => Some(error),
            StoreError::Start(Some(error)) => Some(error),
            _ => None,
        }
    }
}

impl<E: Into<redb::Error>> From<E> for StoreError {
    fn from(error: E) -> StoreError {
        StoreError::Redb(error.into().into())
    }
}

impl From<RedbError> for StoreError {
    fn from(error: RedbError) -> StoreError {
        StoreError::Redb(error)
    }
}

/// Nothing was stored: safe to retry.
pub(crate) fn unavailable(error: impl Into<StoreError>) -> BackendError {
    BackendError::unavailable(error.into())
}

/// May have been stored: retry only with the same key.
pub(crate) fn unknown(error: impl Into<StoreError>) -> BackendError {
    BackendError::outcome_unknown(error.into())
}
