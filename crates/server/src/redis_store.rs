//! `RedisStore`: the history in Redis Streams, live events over Pub/Sub,
//! so that several nodes serve the same topics.

use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bourn_codec::Event;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::StreamRangeReply;
use redis::{Client, Script, Value};
use tokio::sync::oneshot;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::channel::{Inner, Resume, Topic, reset, start};
use crate::encoded::Encoded;
use crate::error::{Error, Kind};
use crate::event_id::{EventId, random_epoch};
use crate::last_event_id::LastEventId;
use crate::subscription::Start;
use crate::sync::lock;

/// Assigns the next seq, appends the event with it as its stream id,
/// trims, and publishes it to every node, atomically.
///
/// KEYS: meta hash, stream. ARGV: candidate epoch (used only when the topic
/// is new or Redis lost it), MAXLEN, Pub/Sub channel, topic, then the
/// event's type, data, retry and comment.
const PUBLISH: &str = r"
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'epoch', epoch)
  redis.call('DEL', KEYS[2])
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0',
  't', ARGV[5], 'd', ARGV[6], 'r', ARGV[7], 'c', ARGV[8])
local function field(s) return #s .. ':' .. s end
redis.call('PUBLISH', ARGV[3], field(epoch) .. field(tostring(seq)) .. field(ARGV[4])
  .. field(ARGV[5]) .. field(ARGV[6]) .. field(ARGV[7]) .. field(ARGV[8]))
return {epoch, seq}
";

/// The topic's epoch and seq, creating the topic (with the candidate
/// epoch) if Redis does not have it. KEYS: meta hash, stream. ARGV:
/// candidate epoch.
const ENSURE: &str = r"
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0)
  redis.call('DEL', KEYS[2])
end
local seq = redis.call('HGET', KEYS[1], 'seq')
if not seq then seq = 0 end
return {epoch, tonumber(seq)}
";

/// Replaces the topic's epoch `ARGV[1]` with `ARGV[2]` (Redis came back
/// with less history than a node had seen). KEYS: meta hash.
const NEW_EPOCH: &str = r"
if redis.call('HGET', KEYS[1], 'epoch') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'epoch', ARGV[2])
end
return {redis.call('HGET', KEYS[1], 'epoch'), tonumber(redis.call('HGET', KEYS[1], 'seq') or 0)}
";

/// Most entries one `XRANGE` returns; longer ranges are read in pages.
const PAGE: usize = 1000;
/// First and longest wait between attempts while Redis is unreachable.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));

/// The Redis Streams store: a channel's history in Redis, shared by several
/// nodes, with live events delivered to each node over Redis Pub/Sub.
///
/// Per topic, Redis holds a hash `<prefix>:{<topic>}:meta` (`epoch`, `seq`)
/// and a stream `<prefix>:{<topic>}:log` whose entry ids are `<seq>-0`.
/// One Lua script assigns the next `seq` (`HINCRBY`), `XADD`s the event with
/// it and approximate trimming (`MAXLEN ~`) and `PUBLISH`es it on one
/// channel, `<prefix>:live`, atomically, so every node sees each topic's
/// events in `seq` order.
///
/// Each node keeps three connections: a [`ConnectionManager`] for scripts
/// and `XRANGE` (no blocking command ever runs on it), one Pub/Sub
/// connection, and a short one per (re)connection for `INFO server`.
/// The node's task fans each Pub/Sub event out to its own subscribers,
/// encoding it once per node; a `seq` that skips ahead (missed while
/// reconnecting) is filled with `XRANGE` first.
///
/// The epoch is stored with the topic and is new whenever Redis lost the
/// topic (a restart without persistence: the hash is gone and the next
/// script creates it again), or came back with fewer events than a node had
/// delivered (a restart that lost the tail). Either way, that node's
/// subscribers get a [`RESET_EVENT`](crate::RESET_EVENT) and their streams
/// end, so their clients resume at the new position: never a silent gap.
/// The node also logs when Redis's `run_id` changed (a restart).
///
/// While Redis is unreachable: [`Channel::send`](crate::Channel::send)
/// fails with [`Error::is_unavailable`] (a 503 for a hub), open streams
/// stay open on keep-alives and go on without a gap once it is back (the
/// node reconnects with backoff from 100 ms to 2 s), and new subscribers
/// are held open the same way, never answered with an error.
///
/// # Limits
///
/// - events kept per topic: Default: 100,000 ([`RedisStore::DEFAULT_MAX_LEN`]),
///   trimmed approximately (`MAXLEN ~`), so a little more may be kept;
/// - command timeout: Default: 2 s ([`RedisStore::DEFAULT_TIMEOUT`]);
///   connection timeout: 1 s.
///
/// Every node receives every topic's events (one Pub/Sub channel), and
/// drops those of topics it has no subscriber for.
pub struct RedisStore {
    shared: Arc<Shared>,
    _stop: DropGuard,
}

struct Shared {
    client: Client,
    commands: ConnectionManager,
    prefix: Box<str>,
    live: Box<str>,
    max_len: u64,
    publish: Script,
    ensure: Script,
    new_epoch: Script,
    run_id: Mutex<Option<String>>,
    stop: CancellationToken,
}

/// An event's fields as Redis keeps them: type (empty for `message`),
/// data, retry in ms (empty if none), comment (`-` for none, else `+` and
/// the text).
struct Stored {
    event_type: String,
    data: String,
    retry: String,
    comment: String,
}

/// The source of an [`Error::is_unavailable`] from Redis.
#[derive(Debug)]
struct Unreachable(redis::RedisError);

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redis: {}", self.0)
    }
}

impl std::error::Error for Unreachable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl RedisStore {
    /// Default for [`max_len`](RedisStore::max_len): 100,000 events per topic.
    pub const DEFAULT_MAX_LEN: u64 = 100_000;
    /// Default command timeout: 2 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
    /// Default key prefix: `bourn`.
    pub const DEFAULT_PREFIX: &str = "bourn";

    /// A store on the Redis at `url` (`redis://host:port[/db]`), with every
    /// default. Must be called inside a tokio runtime. Does not wait for
    /// Redis: a node starts (and holds its subscribers) while Redis is
    /// down. Fails with [`Error::is_unavailable`] for a URL that is not a
    /// Redis URL.
    pub fn open(url: &str) -> Result<RedisStore, Error> {
        RedisStore::with_prefix(url, RedisStore::DEFAULT_PREFIX)
    }

    /// As [`open`](RedisStore::open), with keys and the Pub/Sub channel
    /// under `prefix` instead of `bourn` (several hubs on one Redis).
    pub fn with_prefix(url: &str, prefix: &str) -> Result<RedisStore, Error> {
        let unavailable = |error| Error::with_source(Kind::Unavailable, Unreachable(error));
        let client = Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(RedisStore::DEFAULT_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(BACKOFF.1);
        let commands = client
            .get_connection_manager_lazy(config)
            .map_err(unavailable)?;
        let stop = CancellationToken::new();
        Ok(RedisStore {
            shared: Arc::new(Shared {
                client,
                commands,
                prefix: prefix.into(),
                live: format!("{prefix}:live").into(),
                max_len: RedisStore::DEFAULT_MAX_LEN,
                publish: Script::new(PUBLISH),
                ensure: Script::new(ENSURE),
                new_epoch: Script::new(NEW_EPOCH),
                run_id: Mutex::new(None),
                stop: stop.clone(),
            }),
            _stop: stop.drop_guard(),
        })
    }

    /// Sets how many events each topic's stream keeps (`MAXLEN ~`).
    /// Default: 100,000. Call before building the channel.
    pub fn max_len(mut self, max: u64) -> RedisStore {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.max_len = max.max(1);
        }
        self
    }

    /// Publishes through Redis; the event reaches subscribers (on every
    /// node, this one included) over Pub/Sub.
    pub(crate) async fn publish(&self, topic: &str, event: Event) -> Result<EventId, Error> {
        let shared = &self.shared;
        let stored = Stored::from_event(&event);
        let mut connection = shared.commands.clone();
        let (epoch, seq): (String, u64) = shared
            .publish
            .key(shared.meta_key(topic))
            .key(shared.log_key(topic))
            .arg(format!("{:x}", random_epoch()))
            .arg(shared.max_len)
            .arg(&*shared.live)
            .arg(topic)
            .arg(&stored.event_type)
            .arg(&stored.data)
            .arg(&stored.retry)
            .arg(&stored.comment)
            .invoke_async(&mut connection)
            .await
            .map_err(|error| Error::with_source(Kind::Unavailable, Unreachable(error)))?;
        Ok(EventId::new(parse_epoch(&epoch), seq))
    }

    /// Starts the node's Pub/Sub task for `channel`.
    pub(crate) fn start_driver(&self, channel: Weak<Inner>) {
        let shared = Arc::clone(&self.shared);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(async move { shared.drive(channel).await })),
            Err(_) => tracing::error!(
                "RedisStore: the channel was built outside a tokio runtime; no live events"
            ),
        }
    }

    /// Reads a new subscriber's start (its topic's position, then what it
    /// missed) in a task, retrying while Redis is unreachable; the stream
    /// stays open meanwhile.
    pub(crate) fn start(
        &self,
        topic: Arc<Topic>,
        last_event_id: Option<LastEventId>,
        prime: bool,
    ) -> oneshot::Receiver<Start> {
        let (mut sender, receiver) = oneshot::channel();
        let shared = Arc::clone(&self.shared);
        let task = async move {
            let mut backoff = BACKOFF.0;
            loop {
                let attempt = shared.resolve(&topic, last_event_id.as_ref(), prime);
                let result = tokio::select! {
                    () = sender.closed() => return,
                    () = shared.stop.cancelled() => return,
                    result = attempt => result,
                };
                match result {
                    Ok(start) => {
                        let _ = sender.send(start);
                        return;
                    }
                    Err(error) => {
                        tracing::debug!(%error, topic = &*topic.name, "Redis unreachable: subscriber waits");
                    }
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF.1);
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(task)),
            Err(_) => tracing::error!("RedisStore: subscribe outside a tokio runtime"),
        }
        receiver
    }
}

impl Shared {
    fn meta_key(&self, topic: &str) -> String {
        format!("{}:{{{topic}}}:meta", self.prefix)
    }

    fn log_key(&self, topic: &str) -> String {
        format!("{}:{{{topic}}}:log", self.prefix)
    }

    /// The topic's epoch and seq in Redis (creating the topic if missing).
    async fn ensure(&self, topic: &str) -> redis::RedisResult<(u64, u64)> {
        let mut connection = self.commands.clone();
        let (epoch, seq): (String, u64) = self
            .ensure
            .key(self.meta_key(topic))
            .key(self.log_key(topic))
            .arg(format!("{:x}", random_epoch()))
            .invoke_async(&mut connection)
            .await?;
        Ok((parse_epoch(&epoch), seq))
    }

    /// The events `from..=to` of `topic` that Redis still has, in order.
    async fn range(
        &self,
        topic: &str,
        from: u64,
        to: u64,
    ) -> redis::RedisResult<Vec<(u64, Stored)>> {
        let mut connection = self.commands.clone();
        let mut out = Vec::new();
        let mut next = from;
        while next <= to {
            let reply: StreamRangeReply = redis::cmd("XRANGE")
                .arg(self.log_key(topic))
                .arg(format!("{next}-0"))
                .arg(format!("{to}-0"))
                .arg("COUNT")
                .arg(PAGE)
                .query_async(&mut connection)
                .await?;
            let full = reply.ids.len() == PAGE;
            for entry in reply.ids {
                let seq = entry
                    .id
                    .split_once('-')
                    .and_then(|(seq, _)| seq.parse::<u64>().ok())
                    .unwrap_or(0);
                next = seq + 1;
                out.push((seq, Stored::from_map(&entry.map)));
            }
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// A new subscriber's start: sync the topic if this node has not yet,
    /// then the prelude or the replay up to the topic's position.
    async fn resolve(
        &self,
        topic: &Arc<Topic>,
        last_event_id: Option<&LastEventId>,
        prime: bool,
    ) -> redis::RedisResult<Start> {
        if !lock(&topic.state).synced {
            let (epoch, seq) = self.ensure(&topic.name).await?;
            let mut state = lock(&topic.state);
            if !state.synced {
                state.epoch = epoch;
                state.seq = seq;
                state.assigned = seq;
                state.synced = true;
            }
        }
        let position = {
            let state = lock(&topic.state);
            EventId::new(state.epoch, state.seq)
        };
        let top = position.seq();
        let resume = last_event_id.map(|id| id.as_str().parse::<EventId>());
        let after = match start(resume, position, prime) {
            Resume::Prelude(prelude) => {
                return Ok(Start {
                    prelude,
                    replay: Vec::new(),
                    top,
                });
            }
            Resume::From(after) => after,
        };
        let events = self.range(&topic.name, after + 1, top).await?;
        let complete = events.len() as u64 == top - after
            && events.first().is_some_and(|(seq, _)| *seq == after + 1);
        if !complete {
            return Ok(Start {
                prelude: reset(position, "trimmed"),
                replay: Vec::new(),
                top,
            });
        }
        let replay = events
            .into_iter()
            .filter_map(|(seq, stored)| stored.encode(EventId::new(position.epoch(), seq)))
            .collect();
        Ok(Start {
            prelude: None,
            replay,
            top,
        })
    }

    /// The node's Pub/Sub loop: connect, subscribe, catch every topic in
    /// use up, deliver live events; on any failure reconnect with backoff.
    async fn drive(self: Arc<Self>, channel: Weak<Inner>) {
        let mut backoff = BACKOFF.0;
        loop {
            let session = self.session(&channel, &mut backoff);
            tokio::select! {
                () = self.stop.cancelled() => return,
                result = session => {
                    if let Err(error) = result {
                        tracing::warn!(%error, "Redis unreachable: live events paused, reconnecting");
                    }
                }
            }
            if channel.strong_count() == 0 {
                return;
            }
            tokio::select! {
                () = self.stop.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(BACKOFF.1);
        }
    }

    /// One Pub/Sub connection's life.
    async fn session(
        &self,
        channel: &Weak<Inner>,
        backoff: &mut Duration,
    ) -> redis::RedisResult<()> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(&*self.live).await?;
        self.note_run_id().await;
        // Subscribed first, then caught up: nothing falls between the two.
        let Some(inner) = channel.upgrade() else {
            return Ok(());
        };
        for topic in inner.all_topics() {
            self.resync(&inner, &topic).await?;
        }
        drop(inner);
        *backoff = BACKOFF.0;
        tracing::info!("Redis connected: live events flowing");
        let mut messages = pubsub.into_on_message();
        while let Some(message) = messages.next().await {
            let Some(inner) = channel.upgrade() else {
                return Ok(());
            };
            let Some((name, epoch, seq, stored)) = parse_live(message.get_payload_bytes()) else {
                tracing::warn!("Redis: a live event that is not bourn's; ignored");
                continue;
            };
            let Some(topic) = inner.existing_topic(&name) else {
                continue;
            };
            self.live(&inner, &topic, epoch, seq, stored).await?;
        }
        Err(redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "the Pub/Sub connection closed",
        )))
    }

    /// Logs Redis's `run_id` when it changed (Redis restarted).
    async fn note_run_id(&self) {
        let mut connection = self.commands.clone();
        let info: redis::RedisResult<String> = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut connection)
            .await;
        let Some(run_id) = info.ok().and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("run_id:").map(|id| id.trim().to_owned()))
        }) else {
            return;
        };
        let previous = lock(&self.run_id).replace(run_id.clone());
        if let Some(previous) = previous.filter(|previous| *previous != run_id) {
            tracing::warn!(%previous, %run_id, "Redis restarted: checking every topic's epoch");
        }
    }

    /// Brings a topic in use up to Redis after a (re)connection.
    async fn resync(&self, inner: &Inner, topic: &Arc<Topic>) -> redis::RedisResult<()> {
        let (mut epoch, seq) = self.ensure(&topic.name).await?;
        let rewound = {
            let state = lock(&topic.state);
            state.synced && state.epoch == epoch && seq < state.seq
        };
        if rewound {
            // Redis came back with fewer events than this node delivered:
            // those ids now name nothing. A new epoch, for every node.
            let mut connection = self.commands.clone();
            let (now, _): (String, u64) = self
                .new_epoch
                .key(self.meta_key(&topic.name))
                .arg(format!("{epoch:x}"))
                .arg(format!("{:x}", random_epoch()))
                .invoke_async(&mut connection)
                .await?;
            epoch = parse_epoch(&now);
        }
        {
            let mut state = lock(&topic.state);
            if !state.synced || state.epoch != epoch {
                if state.synced {
                    let position = EventId::new(epoch, seq);
                    tracing::warn!(topic = &*topic.name, %position, "Redis lost the topic's history: subscribers reset");
                    if let Some(event) = reset(position, "epoch") {
                        topic.close_all(&mut state, &event, inner);
                    }
                }
                state.epoch = epoch;
                state.seq = seq;
                state.assigned = seq;
                state.synced = true;
                return Ok(());
            }
        }
        self.catch_up(inner, topic, epoch, seq).await
    }

    /// A live event from Pub/Sub.
    async fn live(
        &self,
        inner: &Inner,
        topic: &Arc<Topic>,
        epoch: u64,
        seq: u64,
        stored: Stored,
    ) -> redis::RedisResult<()> {
        let gap = {
            let mut state = lock(&topic.state);
            if !state.synced {
                state.epoch = epoch;
                state.seq = seq - 1;
                state.synced = true;
            }
            if state.epoch != epoch {
                let position = EventId::new(epoch, seq - 1);
                tracing::warn!(topic = &*topic.name, %position, "Redis lost the topic's history: subscribers reset");
                if let Some(event) = reset(position, "epoch") {
                    topic.close_all(&mut state, &event, inner);
                }
                state.epoch = epoch;
                state.seq = seq - 1;
            }
            if seq <= state.seq {
                return Ok(());
            }
            seq > state.seq + 1
        };
        if gap {
            self.catch_up(inner, topic, epoch, seq - 1).await?;
        }
        let mut state = lock(&topic.state);
        if state.epoch == epoch && seq == state.seq + 1 {
            if let Some(event) = stored.encode(EventId::new(epoch, seq)) {
                state.fan_out(&topic.name, seq, &event, inner);
            }
        }
        Ok(())
    }

    /// Delivers the events after the topic's position up to `to` from the
    /// stream; a reset if Redis no longer has them.
    async fn catch_up(
        &self,
        inner: &Inner,
        topic: &Arc<Topic>,
        epoch: u64,
        to: u64,
    ) -> redis::RedisResult<()> {
        loop {
            let from = {
                let state = lock(&topic.state);
                if state.epoch != epoch || state.seq >= to {
                    return Ok(());
                }
                state.seq + 1
            };
            let events = self.range(&topic.name, from, to).await?;
            let mut state = lock(&topic.state);
            if state.epoch != epoch || state.seq + 1 != from {
                continue;
            }
            if events.first().is_none_or(|(seq, _)| *seq != from) {
                let position = EventId::new(epoch, to);
                tracing::warn!(topic = &*topic.name, %position, "missed events already trimmed: subscribers reset");
                if let Some(event) = reset(position, "trimmed") {
                    topic.close_all(&mut state, &event, inner);
                }
                state.seq = to;
                state.assigned = to;
                return Ok(());
            }
            for (seq, stored) in events {
                if seq != state.seq + 1 {
                    break;
                }
                if let Some(event) = stored.encode(EventId::new(epoch, seq)) {
                    state.fan_out(&topic.name, seq, &event, inner);
                }
            }
        }
    }
}

impl Stored {
    fn from_event(event: &Event) -> Stored {
        let event_type = match event.event_type() {
            "message" => String::new(),
            other => other.to_owned(),
        };
        Stored {
            event_type,
            data: event.data().to_owned(),
            retry: event
                .retry()
                .map(|retry| retry.as_millis().to_string())
                .unwrap_or_default(),
            comment: event
                .comment()
                .map_or_else(|| "-".to_owned(), |comment| format!("+{comment}")),
        }
    }

    fn from_map(map: &std::collections::HashMap<String, Value>) -> Stored {
        let text = |name: &str| -> String {
            map.get(name)
                .and_then(|value| redis::from_redis_value_ref::<Vec<u8>>(value).ok())
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default()
        };
        Stored {
            event_type: text("t"),
            data: text("d"),
            retry: text("r"),
            comment: text("c"),
        }
    }

    /// The event with its id, encoded once by `bourn-codec` for this node.
    fn encode(self, id: EventId) -> Option<Encoded> {
        let mut builder = Event::builder().id(id.to_string()).data(self.data);
        if !self.event_type.is_empty() {
            builder = builder.event(self.event_type);
        }
        if let Ok(ms) = self.retry.parse::<u64>() {
            builder = builder.retry(Duration::from_millis(ms));
        }
        if let Some(comment) = self.comment.strip_prefix('+') {
            builder = builder.comment(comment.to_owned());
        }
        match builder.build() {
            Ok(event) => Some(Encoded::from(event)),
            Err(error) => {
                tracing::warn!(%error, %id, "an event from Redis cannot be encoded; skipped");
                None
            }
        }
    }
}

/// `<len>:<bytes>` fields: epoch, seq, topic, type, data, retry, comment.
fn parse_live(mut payload: &[u8]) -> Option<(String, u64, u64, Stored)> {
    let mut field = || -> Option<String> {
        let colon = payload.iter().position(|&b| b == b':')?;
        let len: usize = std::str::from_utf8(&payload[..colon]).ok()?.parse().ok()?;
        let value = payload.get(colon + 1..colon + 1 + len)?;
        payload = &payload[colon + 1 + len..];
        Some(String::from_utf8_lossy(value).into_owned())
    };
    let epoch = parse_epoch(&field()?);
    let seq = field()?.parse().ok()?;
    let topic = field()?;
    let stored = Stored {
        event_type: field()?,
        data: field()?,
        retry: field()?,
        comment: field()?,
    };
    (seq > 0).then_some((topic, epoch, seq, stored))
}

fn parse_epoch(text: &str) -> u64 {
    u64::from_str_radix(text, 16).unwrap_or(0)
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &self.shared;
        f.debug_struct("RedisStore")
            .field("redis", &shared.client.get_connection_info().addr())
            .field("prefix", &shared.prefix)
            .field("max_len", &shared.max_len)
            .field("run_id", &*lock(&shared.run_id))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_payloads_parse_and_reject_garbage() {
        let payload = b"12:1abcdef01234" as &[u8];
        assert!(parse_live(payload).is_none());
        let full = b"12:1abcdef012343:42110:prices/usd4:tick5:a\nb:c0:1:-";
        let (topic, epoch, seq, stored) = parse_live(full).unwrap();
        assert_eq!(
            (topic.as_str(), epoch, seq),
            ("prices/usd", 0x1abcdef01234, 421)
        );
        assert_eq!(
            (
                stored.event_type.as_str(),
                stored.data.as_str(),
                stored.retry.as_str()
            ),
            ("tick", "a\nb:c", "")
        );
        let event = stored.encode(EventId::new(epoch, seq)).unwrap();
        assert_eq!(
            event.as_bytes(),
            "event: tick\nid: 1abcdef01234.421\ndata: a\ndata: b:c\n\n"
        );
        for garbage in [&b""[..], b"x:1", b"99:short", b"1:a1:01:t0:0:0:0:"] {
            assert!(parse_live(garbage).is_none(), "{garbage:?}");
        }
    }

    #[test]
    fn stored_fields_round_trip_through_the_codec() {
        let event = Event::builder()
            .event("t")
            .data("x")
            .retry(Duration::from_millis(1500))
            .comment("note")
            .build()
            .unwrap();
        let stored = Stored::from_event(&event);
        assert_eq!(
            (stored.retry.as_str(), stored.comment.as_str()),
            ("1500", "+note")
        );
        let again = stored.encode(EventId::new(0xa, 1)).unwrap();
        let expected = event.into_builder().id("a.1").build().unwrap();
        assert_eq!(again, Encoded::from(expected));
        let plain = Stored::from_event(&Event::message("m"));
        assert_eq!(
            (plain.event_type.as_str(), plain.comment.as_str()),
            ("", "-")
        );
    }
}
