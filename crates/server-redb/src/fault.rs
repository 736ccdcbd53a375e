//! Fault injection for the failure-model tests: a redb storage backend
//! over the file that fails reads or writes on demand, as a full or broken
//! disk would. Not part of the public API (hidden from the docs); in
//! production the switch is absent and every call goes to the file.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use redb::StorageBackend;
use redb::backends::FileBackend;

use crate::error::RedbError;

/// redb's header (the commit slots) lives in the file's first page.
const HEADER: u64 = 4096;

/// Switches that make the file fail, shared by the test and the backend
/// (and kept across the backend's own reopenings of the file).
#[doc(hidden)]
#[derive(Clone, Default)]
pub struct Faults {
    inner: Arc<Switches>,
}

#[derive(Default)]
struct Switches {
    writes: AtomicBool,
    syncs: AtomicBool,
    reads: AtomicBool,
    topic_reads: AtomicBool,
    header_writes: AtomicBool,
}

impl Faults {
    /// No fault yet.
    pub fn new() -> Faults {
        Faults::default()
    }

    /// While on, every write, resize and sync fails with
    /// `ErrorKind::StorageFull`, as on a full disk.
    pub fn fail_writes(&self, on: bool) {
        self.inner.writes.store(on, Ordering::SeqCst);
    }

    /// While on, every sync (fsync) fails, after the commit's pages and
    /// header were written: the commit's outcome is then unknown until the
    /// file is read back.
    pub fn fail_syncs(&self, on: bool) {
        self.inner.syncs.store(on, Ordering::SeqCst);
    }

    /// While on, writes to the file's first page fail: the header that a
    /// commit writes last, after its data pages, so the commit fails and
    /// the file keeps its previous state.
    pub fn fail_header_writes(&self, on: bool) {
        self.inner.header_writes.store(on, Ordering::SeqCst);
    }

    /// While on, every read fails with an I/O error, as on a broken disk.
    pub fn fail_reads(&self, on: bool) {
        self.inner.reads.store(on, Ordering::SeqCst);
    }

    /// While on, reading a topic's row (its last seq) fails as a corrupt
    /// page would: an error that, unlike an I/O error, does not make redb
    /// refuse everything after it, so a caller that turned it into "no
    /// event yet" would go on writing at seq 1.
    pub fn fail_topic_reads(&self, on: bool) {
        self.inner.topic_reads.store(on, Ordering::SeqCst);
    }

    /// Fails a read of a topic's row, if asked to.
    pub(crate) fn topic_read(&self) -> Result<(), RedbError> {
        if self.inner.topic_reads.load(Ordering::SeqCst) {
            return Err(redb::StorageError::Corrupted("injected: a topic's page".into()).into());
        }
        Ok(())
    }

    fn header_write(&self, offset: u64) -> io::Result<()> {
        if offset < HEADER && self.inner.header_writes.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected: header write failed"));
        }
        Ok(())
    }

    fn writes(&self) -> io::Result<()> {
        if self.inner.writes.load(Ordering::SeqCst) {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "injected: no space left on device",
            ));
        }
        Ok(())
    }

    fn syncs(&self) -> io::Result<()> {
        if self.inner.syncs.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected: fsync failed"));
        }
        Ok(())
    }

    fn reads(&self) -> io::Result<()> {
        if self.inner.reads.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected: read error"));
        }
        Ok(())
    }
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Faults")
            .field("writes", &self.inner.writes.load(Ordering::Relaxed))
            .field("syncs", &self.inner.syncs.load(Ordering::Relaxed))
            .field("reads", &self.inner.reads.load(Ordering::Relaxed))
            .field(
                "topic_reads",
                &self.inner.topic_reads.load(Ordering::Relaxed),
            )
            .field(
                "header_writes",
                &self.inner.header_writes.load(Ordering::Relaxed),
            )
            .finish()
    }
}

/// The file as redb sees it.
#[derive(Debug)]
pub(crate) struct File {
    file: FileBackend,
    faults: Option<Faults>,
}

impl File {
    pub(crate) fn new(file: FileBackend, faults: Option<Faults>) -> File {
        File { file, faults }
    }

    fn writes(&self) -> io::Result<()> {
        self.faults.as_ref().map_or(Ok(()), Faults::writes)
    }

    fn syncs(&self) -> io::Result<()> {
        self.faults.as_ref().map_or(Ok(()), Faults::syncs)
    }

    fn reads(&self) -> io::Result<()> {
        self.faults.as_ref().map_or(Ok(()), Faults::reads)
    }
}

impl StorageBackend for File {
    fn len(&self) -> io::Result<u64> {
        self.file.len()
    }

    fn read(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        self.reads()?;
        self.file.read(offset, len)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.writes()?;
        self.file.set_len(len)
    }

    fn sync_data(&self, eventual: bool) -> io::Result<()> {
        self.writes()?;
        self.syncs()?;
        self.file.sync_data(eventual)
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.writes()?;
        if let Some(faults) = &self.faults {
            faults.header_write(offset)?;
        }
        self.file.write(offset, data)
    }
}
