//! [`RedbBackendBuilder`]: settings, and opening the file safely.
//!
//! A new file is created under a temporary name, given its tables and its
//! epoch in one fsync'd commit, and only then linked to its real name, so a
//! store file is never half-created: an empty or unreadable file at the
//! path is damage (or someone else's), and is refused.

use std::fs::OpenOptions;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Duration;

use redb::backends::FileBackend;
use redb::{Database, DatabaseError};

use crate::backend::RedbBackend;
use crate::durability::Durability;
use crate::error::{OpenError, OpenErrorKind, RedbError};
use crate::fault::{self, Faults};
use crate::schema::{self, Mismatch};

/// Settings for a [`RedbBackend`]; every default is written on its setter.
#[derive(Debug, Clone)]
pub struct RedbBackendBuilder {
    path: PathBuf,
    config: Config,
    faults: Option<Faults>,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) durability: Durability,
    pub(crate) max_events: u64,
    pub(crate) max_bytes: u64,
    pub(crate) max_age: Option<Duration>,
    pub(crate) compaction_interval: Duration,
    pub(crate) max_keys: u64,
    pub(crate) key_ttl: Duration,
}

impl RedbBackendBuilder {
    pub(crate) fn new(path: &Path) -> RedbBackendBuilder {
        RedbBackendBuilder {
            path: path.to_path_buf(),
            config: Config {
                durability: Durability::default(),
                max_events: RedbBackend::DEFAULT_MAX_EVENTS,
                max_bytes: RedbBackend::DEFAULT_MAX_BYTES,
                max_age: Some(RedbBackend::DEFAULT_MAX_AGE),
                compaction_interval: RedbBackend::DEFAULT_COMPACTION_INTERVAL,
                max_keys: RedbBackend::DEFAULT_MAX_KEYS,
                key_ttl: RedbBackend::DEFAULT_KEY_TTL,
            },
            faults: None,
        }
    }

    /// Sets when `append` resolves and what a crash can lose. Default:
    /// [`Durability::Immediate`] (after the fsync; nothing acknowledged is
    /// lost).
    pub fn durability(mut self, durability: Durability) -> RedbBackendBuilder {
        self.config.durability = durability;
        self
    }

    /// Sets the most events retained per topic. Default: 100,000. Zero
    /// keeps none past the next compaction.
    pub fn max_events(mut self, max: u64) -> RedbBackendBuilder {
        self.config.max_events = max;
        self
    }

    /// Sets the most bytes of bodies retained per topic. Default: 64 MiB.
    pub fn max_bytes(mut self, max: u64) -> RedbBackendBuilder {
        self.config.max_bytes = max;
        self
    }

    /// Sets how long events are retained; `None` keeps them regardless of
    /// age. Default: 24 h.
    pub fn max_age(mut self, max: Option<Duration>) -> RedbBackendBuilder {
        self.config.max_age = max;
        self
    }

    /// Sets how often compaction runs. Default: 1 s.
    pub fn compaction_interval(mut self, interval: Duration) -> RedbBackendBuilder {
        self.config.compaction_interval = interval;
        self
    }

    /// Sets how many idempotency keys are remembered per topic (the oldest
    /// is forgotten first). Default: 1,024.
    pub fn max_keys(mut self, max: u64) -> RedbBackendBuilder {
        self.config.max_keys = max;
        self
    }

    /// Sets how long an idempotency key is remembered after its append.
    /// Default: 10 min.
    pub fn key_ttl(mut self, ttl: Duration) -> RedbBackendBuilder {
        self.config.key_ttl = ttl;
        self
    }

    #[cfg(test)]
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// Test seam: the file fails reads or writes while `faults` says so.
    #[doc(hidden)]
    pub fn faults(mut self, faults: Faults) -> RedbBackendBuilder {
        self.faults = Some(faults);
        self
    }

    /// Opens the store at the path, or creates it (and its folder) when
    /// nothing is there.
    ///
    /// Refuses, with an [`OpenError`], a file that is empty, truncated,
    /// corrupt or not a store of this format ([`is_damaged`](OpenError::is_damaged),
    /// [`is_foreign`](OpenError::is_foreign)), one open elsewhere
    /// ([`is_locked`](OpenError::is_locked)), and I/O failures
    /// ([`is_io`](OpenError::is_io)). It never starts a new history over
    /// an existing file. A file that was not closed cleanly (a crash) is
    /// repaired by redb first, which can take a while on a large file.
    pub fn open(self) -> Result<RedbBackend, OpenError> {
        let path = self.path;
        let (db, epoch) = match std::fs::metadata(&path) {
            Ok(_) => {
                let db = open_database(&path, self.faults.clone())?;
                let epoch = schema::check(&db).map_err(|mismatch| refused(&path, mismatch))?;
                (db, epoch)
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                create(&path, self.faults.clone())?
            }
            Err(error) => return Err(OpenError::new(OpenErrorKind::Io, &path, Some(error.into()))),
        };
        Ok(RedbBackend::new(db, path, epoch, self.config, self.faults))
    }
}

/// Opens an existing store file with redb (the writer's recovery reopens
/// it the same way). An empty file is refused before redb sees it (redb
/// would initialize it as a new database), and a panic inside redb on a
/// malformed file is caught and reported as damage.
pub(crate) fn open_database(path: &Path, faults: Option<Faults>) -> Result<Database, OpenError> {
    let io = |error: std::io::Error| OpenError::new(OpenErrorKind::Io, path, Some(error.into()));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io)?;
    if file.metadata().map_err(io)?.len() == 0 {
        return Err(OpenError::new(
            OpenErrorKind::Damaged("the file is empty"),
            path,
            None,
        ));
    }
    let file = FileBackend::new(file).map_err(|error| database_error(path, error))?;
    let mut builder = Database::builder();
    if faults.is_some() {
        // Under test, every read reaches the faulty disk, as on a file much
        // larger than memory.
        builder.set_cache_size(0);
    }
    let opened = catch_unwind(AssertUnwindSafe(|| {
        builder.create_with_backend(fault::File::new(file, faults))
    }));
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(error)) => Err(database_error(path, error)),
        Err(_) => Err(OpenError::new(
            OpenErrorKind::Damaged("redb could not read it"),
            path,
            None,
        )),
    }
}

fn database_error(path: &Path, error: DatabaseError) -> OpenError {
    let kind = match &error {
        DatabaseError::DatabaseAlreadyOpen => OpenErrorKind::Locked,
        // redb reads a header or a page past the end, or finds no magic
        // number where a header should be.
        DatabaseError::Storage(redb::StorageError::Io(io))
            if io.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            OpenErrorKind::Damaged("truncated")
        }
        DatabaseError::Storage(redb::StorageError::Io(io))
            if io.kind() == std::io::ErrorKind::InvalidData =>
        {
            OpenErrorKind::Damaged("not a redb file, or its header is damaged")
        }
        DatabaseError::Storage(redb::StorageError::Io(_)) => OpenErrorKind::Io,
        DatabaseError::Storage(redb::StorageError::Corrupted(_)) => {
            OpenErrorKind::Damaged("corrupt, or not a redb file")
        }
        DatabaseError::UpgradeRequired(_) => {
            OpenErrorKind::Foreign("a redb file format this version cannot read")
        }
        DatabaseError::RepairAborted => OpenErrorKind::Damaged("its repair was aborted"),
        _ => OpenErrorKind::Damaged("redb refused it"),
    };
    OpenError::new(kind, path, Some(redb::Error::from(error).into()))
}

fn refused(path: &Path, mismatch: Mismatch) -> OpenError {
    match mismatch {
        Mismatch::Foreign(why) => OpenError::new(OpenErrorKind::Foreign(why), path, None),
        Mismatch::Damaged(why) => OpenError::new(OpenErrorKind::Damaged(why), path, None),
        Mismatch::Redb(RedbError(error)) if matches!(*error, redb::Error::Io(_)) => {
            OpenError::new(OpenErrorKind::Io, path, Some(error))
        }
        Mismatch::Redb(error) => OpenError::new(
            OpenErrorKind::Damaged("redb could not read it"),
            path,
            Some(error.into()),
        ),
    }
}

/// Creates a store at `path`: under a temporary name first, then linked
/// into place only if nothing appeared there meanwhile.
fn create(path: &Path, faults: Option<Faults>) -> Result<(Database, u64), OpenError> {
    let io = |error: std::io::Error| OpenError::new(OpenErrorKind::Io, path, Some(error.into()));
    let dir = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let name = path.file_name().map_or_else(
        || "store".into(),
        |name| name.to_string_lossy().into_owned(),
    );
    let temporary = dir.join(format!(
        ".{name}.{:x}.creating",
        bourn_server::random_epoch()
    ));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&temporary)
        .map_err(io)?;
    let made = (|| {
        let file = FileBackend::new(file).map_err(|error| database_error(path, error))?;
        let db = Database::builder()
            .create_with_backend(fault::File::new(file, None))
            .map_err(|error| database_error(path, error))?;
        schema::create(&db)
            .map_err(|error| OpenError::new(OpenErrorKind::Io, path, Some(error.into())))?;
        drop(db);
        match std::fs::hard_link(&temporary, path) {
            Ok(()) => Ok(()),
            // Another process created it first: open theirs.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            // A file system without hard links: rename (not exclusive).
            Err(_) => std::fs::rename(&temporary, path).map_err(io),
        }
    })();
    let _ = std::fs::remove_file(&temporary);
    made?;
    // The new name is durable once the folder is synced (Unix; elsewhere
    // opening a folder fails and there is nothing to do).
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    let db = open_database(path, faults)?;
    let epoch = schema::check(&db).map_err(|mismatch| refused(path, mismatch))?;
    Ok((db, epoch))
}
