//! `RedisBackend`: the [`Backend`] implementation.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bourn_server::backend::{Backend, BackendError, Feed, PageLimit, Record};
use bourn_server::{EventId, random_epoch};
use bytes::Bytes;
use futures_util::StreamExt;
use redis::{Client, Script, Value};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::builder::RedisBackendBuilder;
use crate::connection::{Commands, Failure, Fault};
use crate::known::{Known, Seen};
use crate::listen::Link;
use crate::outbox::{Outbox, Report};
use crate::scripts;

/// How many topics' positions a resync reads at once.
const RESYNC_CONCURRENCY: usize = 32;

/// A [`Backend`] in Redis: each topic's history in a Redis Stream, its
/// commits reported to every node over Redis Pub/Sub, so that several
/// nodes (hubs, processes) serve the same topics.
///
/// # Layout in Redis
///
/// With the prefix `p` (default `bourn`), topic `t` has:
/// - `p:{t}:meta`, a hash: `epoch` (hex) and `seq`, the newest seq (for a
///   topic with no event yet, it expires: see
///   [`EMPTY_TOPIC_TTL`](RedisBackend::EMPTY_TOPIC_TTL));
/// - `p:{t}:log`, a stream whose entry ids are `<seq>-0`, each with one
///   field `b`: the record's body, as the channel gave it;
/// - `p:key:<length of t>:{t}:<key>`, for each idempotency key seen within
///   the window: the first append's `<epoch>.<seq>`, expiring after the
///   window. [`remove_topic`](Backend::remove_topic) leaves them to expire:
///   a retry then still answers the id its first append got;
/// - `p:data-token`: a random value that tells the nodes whether Redis lost
///   its data since they last looked.
///
/// All of one topic's keys share the hash tag `{t}`. Every record is
/// published on one channel, `p:live`, as
/// `b1:<topic length>:<topic><epoch>.<seq>\n<body>`.
///
/// One Lua script assigns the next seq, `XADD`s the body with approximate
/// trimming (`MAXLEN ~`), remembers the idempotency key and `PUBLISH`es the
/// record, atomically: every node sees each topic's records in seq order.
///
/// # Failure model
///
/// - **Append outcome.** [`BackendError::is_unavailable`] only when the
///   script surely did not run: no connection could be made, or Redis
///   answered with an error. When the command was sent and no answer came
///   within the [timeout](RedisBackendBuilder::timeout) (Redis paused, a
///   path gone silent), the error is [`BackendError::is_outcome_unknown`]:
///   the event may be stored and delivered. Retry with the same
///   idempotency key, which Redis remembers per topic for the
///   [window](RedisBackendBuilder::idempotency_window): a repeat answers the
///   first id and stores nothing. (Right after Redis went away, before the
///   node noticed, a command may still be sent into the dead connection:
///   that one says `outcome_unknown` too.)
/// - **Dead connections.** A command with no answer in time discards its
///   connection; the next one dials a fresh one. The Pub/Sub connection is
///   pinged (see [`heartbeat`](RedisBackendBuilder::heartbeat)); a silent
///   or closed one is dropped, the backend reports
///   [`Health::Unhealthy`](bourn_server::backend::Health) and connects
///   again with backoff (100 ms doubling to 2 s). Once subscribed again it
///   reports [`Feed::advanced`] with the position of each topic it knows
///   (so the channel reads what it missed), then `Healthy`.
/// - **History loss.** A topic whose meta is gone (Redis restarted empty,
///   `FLUSHALL`, [`remove_topic`](Backend::remove_topic)) gets a new random
///   epoch with its next append or position, and numbering starts again
///   from 1 in it. When Redis comes back with *fewer* events of the same
///   epoch than this node has seen (a restart that lost the tail), the node
///   replaces the epoch, so no seq names two events. Either way the backend
///   reports [`Feed::history_lost`] for the topics it knows: after a
///   reconnection, or within about a heartbeat when Redis lost its data
///   with the connections up (each node keeps an eye on a token key,
///   `p:data-token`, which a `FLUSHALL` removes), or at the first record of
///   the new epoch, whichever comes first.
/// - **Bounded replay.** [`replay`](Backend::replay) reads one page with
///   one script: `XRANGE … COUNT max_events`, cut in Redis at `max_bytes`
///   (a page always holds its first record), so no page is larger than its
///   limit on the wire or in memory. `Ok(None)` when the record after
///   `after` is no longer in the stream, or the topic is in another epoch
///   than the one this node knew (its history was lost).
/// - **Nothing becomes a default.** A stream id, epoch or seq that does not
///   parse is an error, never 0.
///
/// The node subscribes when it is [opened](RedisBackendBuilder::open), so
/// every record committed after `open` returned reaches the feed,
/// `committed` once and in order per topic, also one committed before
/// [`start`](Backend::start) (held until then). An append also reports its
/// own record as `advanced` when the Pub/Sub connection was not up all the
/// way from before it ran to its answer (the message may be lost).
///
/// The topics a node "knows" are those it appended to, read the position
/// of, or replayed: it keeps their last seen position in memory until
/// [`remove_topic`](Backend::remove_topic).
///
/// # Limits
///
/// - events kept per topic: Default: 100,000
///   ([`DEFAULT_MAX_LEN`](RedisBackend::DEFAULT_MAX_LEN)), approximately;
/// - command and dial timeout: Default: 2 s
///   ([`DEFAULT_TIMEOUT`](RedisBackend::DEFAULT_TIMEOUT));
/// - silent Pub/Sub detected within: Default: 5 s
///   ([`DEFAULT_HEARTBEAT`](RedisBackend::DEFAULT_HEARTBEAT));
/// - idempotency window: Default: 10 min
///   ([`DEFAULT_IDEMPOTENCY_WINDOW`](RedisBackend::DEFAULT_IDEMPOTENCY_WINDOW)).
///
/// Every node receives every topic's records (one Pub/Sub channel); the
/// channel drops those of topics it does not serve. Redis must not evict
/// keys (`maxmemory-policy noeviction`): an evicted meta starts a new epoch.
pub struct RedisBackend {
    shared: Arc<Shared>,
    listener: Mutex<Option<AbortHandle>>,
}

/// What the backend and its Pub/Sub task share.
pub(crate) struct Shared {
    pub(crate) client: Client,
    pub(crate) commands: Commands,
    prefix: Box<str>,
    pub(crate) live: Box<str>,
    max_len: u64,
    pub(crate) timeout: Duration,
    pub(crate) heartbeat: Duration,
    idempotency_window: Duration,
    known: Known,
    pub(crate) outbox: Outbox,
    /// The Pub/Sub connection's state, for appends to know whether it can
    /// have missed their record.
    pub(crate) link: watch::Sender<Link>,
    append: Script,
    position: Script,
    new_epoch: Script,
    replay: Script,
    token: Script,
}

impl RedisBackend {
    /// Default [`prefix`](RedisBackendBuilder::prefix): `bourn`.
    pub const DEFAULT_PREFIX: &'static str = "bourn";
    /// Default [`max_len`](RedisBackendBuilder::max_len): 100,000 events
    /// per topic.
    pub const DEFAULT_MAX_LEN: u64 = 100_000;
    /// Default [`timeout`](RedisBackendBuilder::timeout): 2 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
    /// Default [`heartbeat`](RedisBackendBuilder::heartbeat): 5 s.
    pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);
    /// Default [`idempotency_window`](RedisBackendBuilder::idempotency_window):
    /// 10 min.
    pub const DEFAULT_IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(600);
    /// How long Redis keeps the meta of a topic that was asked for its
    /// position but has no event yet: 1 day after the last such question.
    /// Its first append keeps it for good. (An empty topic that expired
    /// comes back in a new epoch; no subscriber saw an id of it.)
    pub const EMPTY_TOPIC_TTL: Duration = Duration::from_secs(24 * 60 * 60);

    /// A builder for a backend on the Redis at `url`
    /// (`redis://[user:password@]host:port[/db]`), with every default.
    pub fn builder(url: &str) -> RedisBackendBuilder {
        RedisBackendBuilder::new(url)
    }

    pub(crate) fn new(client: Client, config: RedisBackendBuilder) -> RedisBackend {
        let commands = Commands::new(client.clone(), config.timeout);
        RedisBackend {
            shared: Arc::new(Shared {
                client,
                commands,
                live: format!("{}:live", config.prefix).into(),
                prefix: config.prefix.into(),
                max_len: config.max_len,
                timeout: config.timeout,
                heartbeat: config.heartbeat,
                idempotency_window: config.idempotency_window,
                known: Known::default(),
                outbox: Outbox::default(),
                link: watch::Sender::new(Link::Starting),
                append: Script::new(scripts::APPEND),
                position: Script::new(scripts::POSITION),
                new_epoch: Script::new(scripts::NEW_EPOCH),
                replay: Script::new(scripts::REPLAY),
                token: Script::new(scripts::TOKEN),
            }),
            listener: Mutex::new(None),
        }
    }

    /// Starts the node's Pub/Sub task and waits (at most the timeout) for
    /// its first session: subscribed, or failed.
    pub(crate) async fn listen(&self) {
        let task = tokio::spawn(crate::listen::run(Arc::clone(&self.shared)));
        *lock(&self.listener) = Some(task.abort_handle());
        let mut link = self.shared.link.subscribe();
        let first = link.wait_for(|link| *link != Link::Starting);
        let _ = tokio::time::timeout(self.shared.timeout, first).await;
    }

    /// Checks that Redis answers.
    pub(crate) async fn ping(&self) -> Result<(), BackendError> {
        self.shared
            .commands
            .run(&redis::cmd("PING"))
            .await
            .map(drop)
            .map_err(Failure::into_read_error)
    }

    /// How many command connections this backend has dialed: 1 while the
    /// first one works, one more after each that was discarded (a command
    /// that timed out or failed on the wire).
    pub fn connections_dialed(&self) -> u64 {
        self.shared.commands.dialed()
    }
}

impl Backend for RedisBackend {
    /// Gives the backend its feed: what the node received since it was
    /// opened (held until now) is reported first, then everything as it
    /// comes. Fails with [`BackendError::is_unavailable`] when called a
    /// second time.
    fn start(&self, feed: Feed) -> Result<(), BackendError> {
        if self.shared.outbox.start(feed) {
            Ok(())
        } else {
            Err(BackendError::unavailable(
                "RedisBackend::start was called twice",
            ))
        }
    }

    async fn append(
        &self,
        topic: &str,
        body: Bytes,
        key: Option<&str>,
    ) -> Result<EventId, BackendError> {
        let shared = &self.shared;
        let (meta, log) = (shared.meta_key(topic), shared.log_key(topic));
        let idempotency = key.map(|key| shared.idempotency_key(topic, key));
        let mut keys: Vec<&[u8]> = vec![meta.as_bytes(), log.as_bytes()];
        keys.extend(idempotency.as_deref().map(str::as_bytes));
        let candidate = format!("{:x}", random_epoch());
        let max_len = shared.max_len.to_string();
        let window = shared.idempotency_window.as_millis().to_string();
        let args: [&[u8]; 6] = [
            candidate.as_bytes(),
            max_len.as_bytes(),
            shared.live.as_bytes(),
            topic.as_bytes(),
            &body,
            window.as_bytes(),
        ];
        let link = shared.link_before_append().await;
        let answer = shared
            .commands
            .eval(&shared.append, scripts::APPEND, &keys, &args)
            .await
            .map_err(Failure::into_write_error)?;
        // The script ran: an answer we cannot read leaves the outcome unknown.
        let (id, repeat) = parse_append(&answer).map_err(BackendError::outcome_unknown)?;
        if !repeat {
            shared.note(topic, id, true);
            // Unless one Pub/Sub session was up from before the script ran
            // until now, its message may be lost: say it from here (a
            // repeat is for the channel to drop). A session that ends later
            // finds the topic known, and the next one reports it.
            if !matches!(link, Link::Up(_)) || link != *shared.link.borrow() {
                shared.outbox.report(Report::Advanced {
                    topic: topic.to_owned(),
                    position: id,
                });
            }
        }
        Ok(id)
    }

    async fn position(&self, topic: &str) -> Result<EventId, BackendError> {
        self.shared
            .position(topic)
            .await
            .map(|(id, _)| id)
            .map_err(Failure::into_read_error)
    }

    async fn replay(
        &self,
        topic: &str,
        epoch: u64,
        after: u64,
        up_to: u64,
        limit: PageLimit,
    ) -> Result<Option<Vec<Record>>, BackendError> {
        if after >= up_to {
            return Ok(Some(Vec::new()));
        }
        self.shared
            .replay(topic, epoch, after, up_to, limit)
            .await
            .map_err(Failure::into_read_error)
    }

    async fn remove_topic(&self, topic: &str) -> Result<(), BackendError> {
        let shared = &self.shared;
        let mut del = redis::cmd("DEL");
        del.arg(shared.meta_key(topic)).arg(shared.log_key(topic));
        // A `DEL` with no answer may have run: say so (a retry is safe).
        shared
            .commands
            .run(&del)
            .await
            .map_err(Failure::into_write_error)?;
        shared.known.forget(topic);
        Ok(())
    }
}

impl Shared {
    fn meta_key(&self, topic: &str) -> String {
        format!("{}:{{{topic}}}:meta", self.prefix)
    }

    fn log_key(&self, topic: &str) -> String {
        format!("{}:{{{topic}}}:log", self.prefix)
    }

    /// The topic's length first: no (topic, key) pair names the record
    /// of another, whatever characters either holds.
    fn idempotency_key(&self, topic: &str, key: &str) -> String {
        format!("{}:key:{}:{{{topic}}}:{key}", self.prefix, topic.len())
    }

    /// The Pub/Sub state before an append. While the first session is
    /// being set up (`open` waits for it, at most the timeout), waits for it
    /// (as long again at most), so that the first appends are reported live,
    /// as `committed`, like every other.
    async fn link_before_append(&self) -> Link {
        let mut link = self.link.subscribe();
        let started = link.wait_for(|link| *link != Link::Starting);
        // Timed out (Redis slow to answer): go on, reported from here.
        let _ = tokio::time::timeout(self.timeout, started).await;
        *self.link.borrow()
    }

    /// Notes a position seen in Redis; reports a new epoch of a known topic
    /// as lost history (the channel then reads the new epoch from seq 1).
    pub(crate) fn note(&self, topic: &str, id: EventId, track: bool) -> Seen {
        let seen = self.known.note(topic, id, track);
        if seen == Seen::NewEpoch {
            tracing::warn!(topic, epoch = %format_args!("{:x}", id.epoch()), "Redis lost the topic's history: a new epoch");
            self.outbox.report(Report::Lost {
                topic: topic.to_owned(),
                position: EventId::new(id.epoch(), 0),
            });
        }
        seen
    }

    /// The topic's position (creating its meta if it has none), checked
    /// against what this node saw: a new epoch is reported as lost history
    /// and a rewound seq gets a new epoch. Also says whether it reported.
    pub(crate) async fn position(&self, topic: &str) -> Result<(EventId, bool), Failure> {
        // Read what this node saw *before* asking Redis: everything counted
        // in it was committed before Redis answers, so an answer below it
        // means Redis lost those events.
        let before = self.known.get(topic);
        let (meta, log) = (self.meta_key(topic), self.log_key(topic));
        let candidate = format!("{:x}", random_epoch());
        let ttl = RedisBackend::EMPTY_TOPIC_TTL.as_millis().to_string();
        let answer = self
            .commands
            .eval(
                &self.position,
                scripts::POSITION,
                &[meta.as_bytes(), log.as_bytes()],
                &[candidate.as_bytes(), ttl.as_bytes()],
            )
            .await?;
        let id = parse_position(&answer).map_err(|fault| Failure {
            may_have_run: true,
            fault,
        })?;
        let rewound = before.is_some_and(|b| b.epoch() == id.epoch() && id.seq() < b.seq());
        if rewound {
            return self.replace_epoch(topic, id).await.map(|id| (id, true));
        }
        Ok(match self.note(topic, id, true) {
            Seen::NewEpoch => {
                if id.seq() > 0 {
                    self.outbox.report(Report::Advanced {
                        topic: topic.to_owned(),
                        position: id,
                    });
                }
                (id, true)
            }
            _ => (id, false),
        })
    }

    /// Redis has fewer events of `id`'s epoch than this node saw: gives
    /// the topic a new epoch (unless another node did already), so the next
    /// seqs name nothing seen before, and reports the loss at the new
    /// position.
    async fn replace_epoch(&self, topic: &str, id: EventId) -> Result<EventId, Failure> {
        let meta = self.meta_key(topic);
        let old = format!("{:x}", id.epoch());
        let new = format!("{:x}", random_epoch());
        let answer = self
            .commands
            .eval(
                &self.new_epoch,
                scripts::NEW_EPOCH,
                &[meta.as_bytes()],
                &[old.as_bytes(), new.as_bytes()],
            )
            .await?;
        let now = match &answer {
            Value::Array(items) if items.is_empty() => {
                // The meta is gone altogether: a plain history loss.
                return Box::pin(self.position(topic)).await.map(|(id, _)| id);
            }
            _ => parse_position(&answer).map_err(|fault| Failure {
                may_have_run: true,
                fault,
            })?,
        };
        tracing::warn!(topic, lost = %id, now = %now, "Redis has fewer events than this node saw: a new epoch");
        self.known.replace(topic, now);
        self.outbox.report(Report::Lost {
            topic: topic.to_owned(),
            position: now,
        });
        Ok(now)
    }

    async fn replay(
        &self,
        topic: &str,
        epoch: u64,
        after: u64,
        up_to: u64,
        limit: PageLimit,
    ) -> Result<Option<Vec<Record>>, Failure> {
        let (meta, log) = (self.meta_key(topic), self.log_key(topic));
        let from = format!("{}-0", after + 1);
        let to = format!("{up_to}-0");
        let count = limit.max_events.max(1).to_string();
        let bytes = limit.max_bytes.to_string();
        let answer = self
            .commands
            .eval(
                &self.replay,
                scripts::REPLAY,
                &[meta.as_bytes(), log.as_bytes()],
                &[
                    from.as_bytes(),
                    to.as_bytes(),
                    count.as_bytes(),
                    bytes.as_bytes(),
                ],
            )
            .await?;
        let read = |fault| Failure {
            may_have_run: true,
            fault,
        };
        let Some((head, entries)) = parse_replay(answer).map_err(read)? else {
            // No meta: the topic's history is gone.
            return Ok(None);
        };
        if head.epoch() != epoch {
            // Another epoch than the one the caller follows, read in the
            // same script as the records: none of them are the ones asked
            // for.
            self.note(topic, head, true);
            return Ok(None);
        }
        self.note(topic, head, true);
        let mut records = Vec::with_capacity(entries.len());
        for (seq, body) in entries {
            // Contiguous from `after + 1`; a hole (an entry deleted by hand)
            // ends the page, and the next page starts at the hole.
            if seq != after + 1 + records.len() as u64 || seq > up_to {
                break;
            }
            records.push(Record { seq, body });
        }
        if records.is_empty() {
            return Ok(None);
        }
        Ok(Some(records))
    }

    /// Redis's data token (see `scripts::TOKEN`): another value than the
    /// one seen before means Redis lost its data meanwhile.
    pub(crate) async fn data_token(&self) -> Result<Vec<u8>, Failure> {
        let key = format!("{}:data-token", self.prefix);
        let fresh = format!("{:x}", random_epoch());
        let answer = self
            .commands
            .eval(
                &self.token,
                scripts::TOKEN,
                &[key.as_bytes()],
                &[fresh.as_bytes()],
            )
            .await?;
        match answer {
            Value::BulkString(token) => Ok(token),
            _ => Err(Failure {
                may_have_run: true,
                fault: Fault::Reply("the token script answered no string"),
            }),
        }
    }

    /// Every known topic's position as this node saw it.
    pub(crate) fn known_topics(&self) -> Vec<(String, EventId)> {
        self.known.all()
    }

    /// After the Pub/Sub connection was (re)established: each known
    /// topic's position, reported as `advanced` (or as lost history).
    ///
    /// A topic whose meta Redis refuses (damaged by hand) is logged and
    /// skipped: one bad topic does not keep the others from their records.
    /// A failure to talk to Redis ends the resync. Up to
    /// `RESYNC_CONCURRENCY` positions are read at once (pipelined on the
    /// one connection), so many topics take few round trips.
    pub(crate) async fn resync(&self) -> Result<(), Failure> {
        let topics = self.known_topics();
        let mut positions = futures_util::stream::iter(topics)
            .map(|(topic, _)| async move {
                let position = self.position(&topic).await;
                (topic, position)
            })
            .buffer_unordered(RESYNC_CONCURRENCY);
        while let Some((topic, position)) = positions.next().await {
            match position {
                Ok((id, reported)) => {
                    if !reported {
                        self.outbox.report(Report::Advanced {
                            topic: topic.clone(),
                            position: id,
                        });
                    }
                }
                Err(failure) if failure.is_answer() => {
                    tracing::error!(topic, error = %failure.fault, "Redis: the topic's position cannot be read; skipped");
                }
                Err(failure) => return Err(failure),
            }
        }
        Ok(())
    }
}

/// `{epoch, seq, repeat}`.
fn parse_append(value: &Value) -> Result<(EventId, bool), Fault> {
    let items = array(value)?;
    let [epoch, seq, repeat] = items else {
        return Err(Fault::Reply(
            "the append script answered no {epoch, seq, repeat}",
        ));
    };
    let id = event_id(epoch, seq)?;
    let repeat = match repeat {
        Value::Int(0) => false,
        Value::Int(1) => true,
        _ => {
            return Err(Fault::Reply(
                "the append script's repeat flag is not 0 or 1",
            ));
        }
    };
    if id.seq() == 0 {
        return Err(Fault::Reply("the append script answered seq 0"));
    }
    Ok((id, repeat))
}

/// `{epoch, seq}`.
fn parse_position(value: &Value) -> Result<EventId, Fault> {
    match array(value)? {
        [epoch, seq] => event_id(epoch, seq),
        _ => Err(Fault::Reply("the position script answered no {epoch, seq}")),
    }
}

/// `{}` (no meta) or `{epoch, seq, id, body, …}`.
type Page = (EventId, Vec<(u64, Bytes)>);

/// Takes the answer by value: each body's buffer becomes its `Bytes`.
fn parse_replay(value: Value) -> Result<Option<Page>, Fault> {
    let Value::Array(items) = value else {
        return Err(Fault::Reply("the replay script answered no array"));
    };
    if items.is_empty() {
        return Ok(None);
    }
    let [epoch, seq, ..] = items.as_slice() else {
        return Err(Fault::Reply(
            "the replay script answered no {epoch, seq, …}",
        ));
    };
    let head = event_id(epoch, seq)?;
    if items.len() % 2 != 0 {
        return Err(Fault::Reply(
            "the replay script answered an id without a body",
        ));
    }
    let mut page = Vec::with_capacity(items.len() / 2 - 1);
    let mut entries = items.into_iter().skip(2);
    while let (Some(id), Some(body)) = (entries.next(), entries.next()) {
        let seq = stream_seq(bulk(&id)?)?;
        let Value::BulkString(body) = body else {
            return Err(Fault::Reply("a stream entry's body is not a string"));
        };
        page.push((seq, Bytes::from(body)));
    }
    Ok(Some((head, page)))
}

fn array(value: &Value) -> Result<&[Value], Fault> {
    match value {
        Value::Array(items) => Ok(items),
        _ => Err(Fault::Reply(
            "a script answered something else than an array",
        )),
    }
}

fn bulk(value: &Value) -> Result<&[u8], Fault> {
    match value {
        Value::BulkString(bytes) => Ok(bytes),
        Value::SimpleString(text) => Ok(text.as_bytes()),
        _ => Err(Fault::Reply(
            "a script answered something else than a string",
        )),
    }
}

/// `<hex epoch>` and `<decimal seq>`, as strictly as an `EventId`.
fn event_id(epoch: &Value, seq: &Value) -> Result<EventId, Fault> {
    let (epoch, seq) = (bulk(epoch)?, bulk(seq)?);
    let text = [epoch, b".", seq].concat();
    std::str::from_utf8(&text)
        .ok()
        .and_then(|text| text.parse::<EventId>().ok())
        .ok_or(Fault::Reply(
            "an epoch or seq in Redis is not <hex>.<decimal>",
        ))
}

/// A stream id `<seq>-0` (strictly: no sign, no other sequence part).
fn stream_seq(id: &[u8]) -> Result<u64, Fault> {
    let error = Fault::Reply("a stream id is not <seq>-0");
    let Some(digits) = id.strip_suffix(b"-0") else {
        return Err(error);
    };
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(error);
    }
    std::str::from_utf8(digits)
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .filter(|&seq| seq > 0)
        .ok_or(error)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Drop for RedisBackend {
    fn drop(&mut self) {
        if let Some(listener) = lock(&self.listener).take() {
            listener.abort();
        }
    }
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &self.shared;
        f.debug_struct("RedisBackend")
            .field("redis", &shared.client.get_connection_info().addr())
            .field("prefix", &shared.prefix)
            .field("max_len", &shared.max_len)
            .field("timeout", &shared.timeout)
            .field("heartbeat", &shared.heartbeat)
            .field("idempotency_window", &shared.idempotency_window)
            .field("commands", &shared.commands)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk_value(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn stream_ids_parse_strictly() {
        let cases: [(&[u8], Option<u64>); 9] = [
            (b"1-0", Some(1)),
            (b"18446744073709551615-0", Some(u64::MAX)),
            (b"0-0", None),
            (b"1-1", None),
            (b"+1-0", None),
            (b"-0", None),
            (b"1", None),
            (b"18446744073709551616-0", None),
            (b"x-0", None),
        ];
        for (id, expected) in cases {
            assert_eq!(
                stream_seq(id).ok(),
                expected,
                "{:?}",
                String::from_utf8_lossy(id)
            );
        }
    }

    #[test]
    fn answers_that_do_not_parse_are_errors() {
        let good = Value::Array(vec![bulk_value("1abc"), bulk_value("7")]);
        assert_eq!(parse_position(&good).unwrap(), EventId::new(0x1abc, 7));
        for bad in [
            Value::Array(vec![bulk_value(""), bulk_value("7")]),
            Value::Array(vec![bulk_value("zz"), bulk_value("7")]),
            Value::Array(vec![bulk_value("1abc"), bulk_value("-1")]),
            Value::Array(vec![bulk_value("1abc")]),
            Value::Int(3),
            Value::Nil,
        ] {
            assert!(parse_position(&bad).is_err(), "{bad:?}");
        }
        let append = Value::Array(vec![bulk_value("a"), bulk_value("0"), Value::Int(0)]);
        assert!(parse_append(&append).is_err());
        let append = Value::Array(vec![bulk_value("a"), bulk_value("2"), Value::Int(2)]);
        assert!(parse_append(&append).is_err());
        let append = Value::Array(vec![bulk_value("a"), bulk_value("2"), Value::Int(1)]);
        assert_eq!(parse_append(&append).unwrap(), (EventId::new(0xa, 2), true));
    }

    #[test]
    fn replay_pages_parse() {
        assert!(parse_replay(Value::Array(vec![])).unwrap().is_none());
        let page = Value::Array(vec![
            bulk_value("a"),
            bulk_value("9"),
            bulk_value("3-0"),
            bulk_value("x"),
            bulk_value("4-0"),
            bulk_value(""),
        ]);
        let (head, entries) = parse_replay(page).unwrap().unwrap();
        assert_eq!(head, EventId::new(0xa, 9));
        assert_eq!(
            entries,
            vec![(3, Bytes::from_static(b"x")), (4, Bytes::new())]
        );
        let odd = Value::Array(vec![bulk_value("a"), bulk_value("9"), bulk_value("3-0")]);
        assert!(parse_replay(odd).is_err());
        let bad_id = Value::Array(vec![
            bulk_value("a"),
            bulk_value("9"),
            bulk_value("3-1"),
            bulk_value("x"),
        ]);
        assert!(parse_replay(bad_id).is_err());
    }
}
