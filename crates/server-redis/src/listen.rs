//! The node's Pub/Sub task: reports every record committed by any node,
//! checks the connection with a heartbeat, and reconnects.
//!
//! One session, from connect to failure:
//!
//! ```text
//! connect ─ SUBSCRIBE ─ data token ─ position of each known topic → advanced ─ Healthy
//!    ─ loop { message → committed
//!           | every heartbeat/2: PING, answered within heartbeat/2
//!           | every heartbeat: data token; changed → position of each known topic }
//! ```
//!
//! Subscribing comes before reading the positions, so no record falls
//! between the two: one committed meanwhile is both in the position and in
//! a message, and the channel drops the repeat. A failure at any step ends
//! the session: `Unhealthy` with the reason, then a new session after a
//! backoff (100 ms, doubling to 2 s).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bourn_server::backend::{Health, Record};
use futures_util::StreamExt;
use redis::{Msg, Value};

use crate::backend::Shared;
use crate::connection::Failure;
use crate::frame;
use crate::known::Seen;
use crate::outbox::Report;

/// First wait before connecting again.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
/// Longest wait before connecting again.
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// The Pub/Sub connection, as appends see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    /// `start` was called, the first session is not up yet.
    Starting,
    /// Session `n` is up: subscribed, and every known topic reported.
    Up(u64),
    /// Session `n` ended; the next is not up yet.
    Down(u64),
}

/// Why a session ended.
enum Ended {
    Connect(redis::RedisError),
    ConnectTimeout(Duration),
    Subscribe(Option<redis::RedisError>),
    Token(Failure),
    Resync(Failure),
    Silent(Duration),
    Ping(redis::RedisError),
    Closed,
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ended::Connect(error) => write!(f, "Redis Pub/Sub: cannot connect: {error}"),
            Ended::ConnectTimeout(after) => {
                write!(f, "Redis Pub/Sub: no connection within {after:?}")
            }
            Ended::Subscribe(Some(error)) => write!(f, "Redis Pub/Sub: SUBSCRIBE failed: {error}"),
            Ended::Subscribe(None) => f.write_str("Redis Pub/Sub: SUBSCRIBE not answered"),
            Ended::Resync(failure) => {
                write!(
                    f,
                    "Redis: cannot read the topics' positions: {}",
                    failure.fault
                )
            }
            Ended::Token(failure) => {
                write!(f, "Redis: cannot read the data token: {}", failure.fault)
            }
            Ended::Silent(after) => {
                write!(
                    f,
                    "Redis Pub/Sub: no answer to a heartbeat within {after:?}"
                )
            }
            Ended::Ping(error) => write!(f, "Redis Pub/Sub: heartbeat failed: {error}"),
            Ended::Closed => f.write_str("Redis Pub/Sub: the connection closed"),
        }
    }
}

/// Runs sessions until the backend is dropped (which aborts this task).
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut state = State {
        backoff: BACKOFF_FIRST,
        healthy: None,
        token: None,
        session: 0,
    };
    loop {
        let ended = session(&shared, &mut state).await;
        shared.link.send_replace(Link::Down(state.session));
        state.session += 1;
        let reason = ended.to_string();
        tracing::warn!(%reason, "Redis: live records paused, reconnecting");
        // Its peer is likely gone too: the next command dials, and says
        // `unavailable` when nothing answers rather than sending into a
        // dead connection (which could only say `outcome_unknown`).
        shared.commands.reset().await;
        let State {
            backoff, healthy, ..
        } = &mut state;
        if *healthy != Some(false) {
            shared.outbox.health(Health::Unhealthy(reason.into()));
            *healthy = Some(false);
        }
        tokio::time::sleep(*backoff).await;
        *backoff = (*backoff * 2).min(BACKOFF_MAX);
    }
}

/// What outlives one session.
struct State {
    /// The wait before the next session.
    backoff: Duration,
    /// What was last reported: nothing yet, healthy, or not.
    healthy: Option<bool>,
    /// Redis's data token when last read.
    token: Option<Vec<u8>>,
    /// The number of the current session.
    session: u64,
}

async fn session(shared: &Shared, state: &mut State) -> Ended {
    let timeout = shared.timeout;
    let pubsub = match tokio::time::timeout(timeout, shared.client.get_async_pubsub()).await {
        Ok(Ok(pubsub)) => pubsub,
        Ok(Err(error)) => return Ended::Connect(error),
        Err(_) => return Ended::ConnectTimeout(timeout),
    };
    let (mut sink, mut messages) = pubsub.split();
    match tokio::time::timeout(timeout, sink.subscribe(&*shared.live)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Ended::Subscribe(Some(error)),
        Err(_) => return Ended::Subscribe(None),
    }
    // Messages wait in the subscription meanwhile. The token is read
    // first: a loss after it is seen by the next look, not hidden by it.
    match shared.data_token().await {
        Ok(token) => state.token = Some(token),
        Err(failure) => return Ended::Token(failure),
    }
    if let Err(failure) = shared.resync().await {
        return Ended::Resync(failure);
    }
    shared.link.send_replace(Link::Up(state.session));
    state.backoff = BACKOFF_FIRST;
    if state.healthy != Some(true) {
        tracing::info!("Redis Pub/Sub connected: live records flowing");
        shared.outbox.health(Health::Healthy);
        state.healthy = Some(true);
    }
    let token = &mut state.token;
    let half = shared.heartbeat / 2;
    let heartbeat = async {
        loop {
            tokio::time::sleep(half).await;
            match tokio::time::timeout(half, sink.ping::<Value>()).await {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => return Ended::Ping(error),
                Err(_) => return Ended::Silent(shared.heartbeat),
            }
        }
    };
    // Redis can lose its data with the connections up (`FLUSHALL`): look
    // at the data token every heartbeat, and when it changed read every
    // known topic's position again (a new epoch is reported as lost
    // history). A token that cannot be read is left to the next look: the
    // ping above decides whether the connection is alive.
    let watch = async {
        loop {
            tokio::time::sleep(shared.heartbeat).await;
            let now = match shared.data_token().await {
                Ok(now) => now,
                Err(failure) => {
                    tracing::debug!(error = %failure.fault, "Redis: the data token cannot be read");
                    continue;
                }
            };
            if token.as_ref().is_some_and(|before| *before != now) {
                tracing::warn!("Redis lost its data: reading every topic's position again");
                if let Err(failure) = shared.resync().await {
                    return Ended::Resync(failure);
                }
            }
            *token = Some(now);
        }
    };
    let receive = async {
        while let Some(message) = messages.next().await {
            deliver(shared, &message);
        }
        Ended::Closed
    };
    // Dropping the loser (and then `sink` and `messages`) closes the
    // connection.
    tokio::select! {
        ended = heartbeat => ended,
        ended = watch => ended,
        ended = receive => ended,
    }
}

/// Reports one message as a committed record.
fn deliver(shared: &Shared, message: &Msg) {
    let live = match frame::decode(message.get_payload_bytes()) {
        Ok(live) => live,
        Err(error) => {
            tracing::warn!(%error, channel = message.get_channel_name(), "Redis Pub/Sub: a message that is not a record; skipped");
            return;
        }
    };
    if shared.note(live.topic, live.id, false) == Seen::Stale {
        tracing::debug!(topic = live.topic, id = %live.id, "a record of a replaced epoch; skipped");
        return;
    }
    shared.outbox.report(Report::Committed {
        topic: live.topic.to_owned(),
        epoch: live.id.epoch(),
        record: Record {
            seq: live.id.seq(),
            body: frame::body(&live),
        },
    });
}
