//! `--store`: where the hub keeps its topics' history.

use std::path::PathBuf;

use bourn_server::{ChannelBuilder, MemoryBackend};
use bourn_server_redb::{Durability, RedbBackend};
use bourn_server_redis::RedisBackend;

use super::config::{ServeArgs, Store};
use crate::exit::Failure;

/// The embedded store's file under the data directory.
const DEFAULT_FILE: &str = "bourn/bourn.redb";

/// A channel builder with the history `config.store` names: the embedded
/// store at [`default_path`] or another file (durable across restarts),
/// `memory` (`--log-events`/`--log-bytes` bound it), or Redis Streams
/// (shared by several hubs).
pub async fn builder(config: &ServeArgs) -> Result<ChannelBuilder, Failure> {
    let builder = bourn_server::Channel::builder();
    if !matches!(config.durability, Durability::Immediate)
        && matches!(config.store, Store::Memory | Store::Redis(_))
    {
        tracing::warn!(store = ?config.store, durability = ?config.durability, "--durability applies to the embedded store only; ignored");
    }
    match &config.store {
        Store::DefaultFile => embedded(builder, default_path()?, config.durability),
        Store::File(path) => embedded(builder, path.clone(), config.durability),
        Store::Memory => {
            tracing::info!(
                "store: in memory (history is lost when the hub stops; clients resuming across a restart get a bourn-reset event)"
            );
            Ok(builder.backend(
                MemoryBackend::new()
                    .max_events(config.log_events)
                    .max_bytes(config.log_bytes),
            ))
        }
        Store::Redis(url) => {
            let store = RedisBackend::builder(url).open().await.map_err(|error| {
                let cause = std::error::Error::source(&error)
                    .map_or_else(|| error.to_string(), ToString::to_string);
                Failure::error(format!("--store {url}: cannot use this Redis: {cause}"))
            })?;
            tracing::info!(%url, "store: Redis Streams (topics shared with every hub on it)");
            Ok(builder.backend(store))
        }
    }
}

/// The embedded store at `path`.
fn embedded(
    builder: ChannelBuilder,
    path: PathBuf,
    durability: Durability,
) -> Result<ChannelBuilder, Failure> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|error| {
            Failure::error(format!(
                "cannot create the directory {} for the embedded store: {error} (choose another file with --store PATH, or --store memory)",
                dir.display()
            ))
        })?;
    }
    let store = RedbBackend::builder(&path)
        .durability(durability)
        .open()
        .map_err(|error| {
            if error.is_locked() {
                // The lock error itself says nothing a user can act on.
                return Failure::error(format!(
                    "another hub holds the store {}; use --store PATH for another file, or --store memory",
                    path.display()
                ));
            }
            let hint = if error.is_damaged() || error.is_foreign() {
                "it is not a usable embedded store; move it away or use --store PATH"
            } else {
                "use --store PATH for another file, or --store memory"
            };
            let cause = std::error::Error::source(&error)
                .map(|cause| format!(": {cause}"))
                .unwrap_or_default();
            Failure::error(format!("--store: {error}{cause} ({hint})"))
        })?;
    let path = path.display();
    match durability {
        Durability::Batched(window) => tracing::info!(
            %path, ?window,
            "store: embedded file; a publish is answered when queued, a crash can lose the answered publishes of one window"
        ),
        _ => tracing::info!(
            %path,
            "store: embedded file; a publish is answered once on disk (durable across restarts and crashes)"
        ),
    }
    Ok(builder.backend(store))
}

/// The default embedded store: `$XDG_DATA_HOME/bourn/bourn.redb`, else
/// `$HOME/.local/share/bourn/bourn.redb`. The XDG base directory spec ignores
/// a relative `XDG_DATA_HOME`: "If an implementation encounters a relative
/// path in any of these variables it should consider the path invalid and
/// ignore it."
fn default_path() -> Result<PathBuf, Failure> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    if let Some(data) = absolute("XDG_DATA_HOME") {
        return Ok(data.join(DEFAULT_FILE));
    }
    if let Some(home) = absolute("HOME") {
        return Ok(home.join(".local/share").join(DEFAULT_FILE));
    }
    Err(Failure::error(
        "no data directory for the embedded store: neither XDG_DATA_HOME nor HOME is an absolute path; pass --store PATH (or --store memory)",
    ))
}
