//! The command connection: one multiplexed connection, replaced by a fresh
//! one after any command that timed out or failed on the wire.
//!
//! redis' `ConnectionManager` reconnects only when the connection reports
//! itself closed; a half-open path (a stuck proxy, a NAT entry dropped)
//! never does, so every later command would time out on it forever. Here a
//! command that got no answer in time discards its connection, and the next
//! command dials again.
//!
//! Each failure says whether the command may have run, which is what
//! [`BackendError::unavailable`] and [`BackendError::outcome_unknown`]
//! tell a publisher:
//!
//! | failure                                        | may have run? |
//! |------------------------------------------------|---------------|
//! | no connection (refused, dial timed out)        | no            |
//! | Redis answered with an error                   | no            |
//! | no answer within the timeout                   | yes           |
//! | the connection failed after the command went   | yes           |
//! | an answer that is not what the script returns  | yes           |

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bourn_server::backend::BackendError;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Cmd, ErrorKind, Script, Value};
use tokio::sync::Mutex;

/// Why a Redis command failed, as the source of a [`BackendError`].
#[derive(Debug)]
pub(crate) enum Fault {
    /// No answer within the timeout.
    Timeout(Duration),
    /// No connection could be made within the timeout.
    ConnectTimeout(Duration),
    /// From redis: an I/O error, or an error answer.
    Redis(redis::RedisError),
    /// An answer of the wrong shape.
    Reply(&'static str),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Timeout(after) => write!(f, "Redis did not answer within {after:?}"),
            Fault::ConnectTimeout(after) => {
                write!(f, "no connection to Redis within {after:?}")
            }
            Fault::Redis(_) => f.write_str("Redis command failed"),
            Fault::Reply(what) => write!(f, "unexpected answer from Redis: {what}"),
        }
    }
}

impl std::error::Error for Fault {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Fault::Redis(error) => Some(error),
            _ => None,
        }
    }
}

/// A failed command, and whether it may have run.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) may_have_run: bool,
    pub(crate) fault: Fault,
}

impl Failure {
    fn not_run(fault: Fault) -> Failure {
        Failure {
            may_have_run: false,
            fault,
        }
    }

    fn maybe_run(fault: Fault) -> Failure {
        Failure {
            may_have_run: true,
            fault,
        }
    }

    /// Whether Redis answered, with an error or an answer of the wrong
    /// shape, rather than the connection failing.
    pub(crate) fn is_answer(&self) -> bool {
        match &self.fault {
            Fault::Redis(error) => answered(error),
            Fault::Reply(_) => true,
            Fault::Timeout(_) | Fault::ConnectTimeout(_) => false,
        }
    }

    /// For a write: `outcome_unknown` when it may have run.
    pub(crate) fn into_write_error(self) -> BackendError {
        if self.may_have_run {
            BackendError::outcome_unknown(self.fault)
        } else {
            BackendError::unavailable(self.fault)
        }
    }

    /// For a read (or a write that is safe to repeat): always `unavailable`.
    pub(crate) fn into_read_error(self) -> BackendError {
        BackendError::unavailable(self.fault)
    }
}

/// The node's command connection.
pub(crate) struct Commands {
    client: Client,
    timeout: Duration,
    /// The connection in use and its number; `None` after one was discarded.
    current: Mutex<Option<(u64, MultiplexedConnection)>>,
    dialed: AtomicU64,
}

impl Commands {
    pub(crate) fn new(client: Client, timeout: Duration) -> Commands {
        Commands {
            client,
            timeout,
            current: Mutex::new(None),
            dialed: AtomicU64::new(0),
        }
    }

    /// Drops the connection in use (its peer is likely gone): the next
    /// command dials, and fails as `unavailable` if nothing answers,
    /// instead of sending on a dead connection.
    pub(crate) async fn reset(&self) {
        *self.current.lock().await = None;
    }

    /// How many connections were made so far (for tests and `Debug`).
    pub(crate) fn dialed(&self) -> u64 {
        self.dialed.load(Ordering::Relaxed)
    }

    /// The connection in use, dialing one if there is none. Waiting for
    /// another caller's dial counts against the same timeout.
    async fn connection(&self) -> Result<(u64, MultiplexedConnection), Fault> {
        let dial = async {
            let mut current = self.current.lock().await;
            if let Some((number, connection)) = &*current {
                return Ok((*number, connection.clone()));
            }
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(self.timeout))
                .set_response_timeout(None);
            let connection = self
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await
                .map_err(Fault::Redis)?;
            let number = self.dialed.fetch_add(1, Ordering::Relaxed) + 1;
            *current = Some((number, connection.clone()));
            Ok((number, connection))
        };
        tokio::time::timeout(self.timeout, dial)
            .await
            .map_err(|_| Fault::ConnectTimeout(self.timeout))?
    }

    /// Forgets connection `number` (if still in use): the next command
    /// dials a fresh one.
    async fn discard(&self, number: u64) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|(n, _)| *n == number) {
            *current = None;
        }
    }

    /// Runs one command.
    pub(crate) async fn run(&self, cmd: &Cmd) -> Result<Value, Failure> {
        let (number, mut connection) = self.connection().await.map_err(Failure::not_run)?;
        let answer = tokio::time::timeout(self.timeout, cmd.query_async::<Value>(&mut connection));
        match answer.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) if answered(&error) => Err(Failure::not_run(Fault::Redis(error))),
            Ok(Err(error)) => {
                self.discard(number).await;
                Err(Failure::maybe_run(Fault::Redis(error)))
            }
            Err(_) => {
                self.discard(number).await;
                Err(Failure::maybe_run(Fault::Timeout(self.timeout)))
            }
        }
    }

    /// Runs a script by its hash, sending its source only when Redis does
    /// not have it (`NOSCRIPT`: nothing ran, so sending it again is safe).
    pub(crate) async fn eval(
        &self,
        script: &Script,
        source: &str,
        keys: &[&[u8]],
        args: &[&[u8]],
    ) -> Result<Value, Failure> {
        let build = |verb: &str, what: &str| {
            let mut cmd = redis::cmd(verb);
            cmd.arg(what).arg(keys.len()).arg(keys).arg(args);
            cmd
        };
        match self.run(&build("EVALSHA", script.get_hash())).await {
            Err(failure) if is_noscript(&failure) => self.run(&build("EVAL", source)).await,
            other => other,
        }
    }
}

/// Whether Redis itself answered the command with an error (so it did not
/// run), rather than the connection failing.
fn answered(error: &redis::RedisError) -> bool {
    matches!(error.kind(), ErrorKind::Server(_) | ErrorKind::Extension)
}

fn is_noscript(failure: &Failure) -> bool {
    matches!(&failure.fault, Fault::Redis(error)
        if error.kind() == ErrorKind::Server(redis::ServerErrorKind::NoScript))
}

impl fmt::Debug for Commands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Commands")
            .field("timeout", &self.timeout)
            .field("dialed", &self.dialed())
            .finish_non_exhaustive()
    }
}
