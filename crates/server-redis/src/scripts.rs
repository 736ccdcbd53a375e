//! The Lua scripts: each runs atomically in Redis, so a topic's seq, its
//! stream and the Pub/Sub message never disagree.
//!
//! Every script answers strings (`epoch` in hex, `seq` in decimal): a Lua
//! number prints as `1e+14` past 14 digits, a string never does. Each
//! checks what could fail *before* its first write, because Redis does not
//! roll back the writes of a script that fails half-way.

/// Assigns the topic's next seq, stores the body under it, and publishes
/// it to every node; or, for an idempotency key seen within its window,
/// answers the first append's id and does nothing else.
///
/// KEYS: meta hash, stream, then the idempotency key's record if any.
/// ARGV: candidate epoch (hex; used only when the topic has no meta: new,
/// removed, or lost by Redis), MAXLEN, Pub/Sub channel, topic, body, window
/// in ms (with a key).
///
/// Answers `{epoch, seq, repeat}` (`repeat` 1 for a key seen before).
///
/// The Pub/Sub message is `b1:<topic length>:<topic><epoch>.<seq>\n<body>`
/// (see `frame.rs`).
pub(crate) const APPEND: &str = r"
if KEYS[3] then
  local first = redis.call('GET', KEYS[3])
  if first then
    local epoch, seq = string.match(first, '^(%x+)%.(%d+)$')
    if not epoch then
      return redis.error_reply('BOURN idempotency record ' .. KEYS[3] .. ' is not <epoch>.<seq>')
    end
    return {epoch, seq, 1}
  end
end
local kind = redis.call('TYPE', KEYS[2])['ok']
if kind ~= 'none' and kind ~= 'stream' then
  return redis.error_reply('WRONGTYPE ' .. KEYS[2] .. ' is not a stream')
end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0)
elseif string.len(epoch) > 16 or not string.match(epoch, '^%x+$') then
  return redis.error_reply('BOURN ' .. KEYS[1] .. ' has an epoch that is not hex')
end
local newest = redis.call('HGET', KEYS[1], 'seq') or '0'
if not string.match(newest, '^%d+$') then
  return redis.error_reply('BOURN ' .. KEYS[1] .. ' has a seq that is not a number')
end
local seq = string.format('%d', tonumber(newest) + 1)
-- XADD first: it refuses an id at or below the stream's newest (a meta
-- behind its stream) before anything is written.
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'b', ARGV[5])
redis.call('HSET', KEYS[1], 'seq', seq)
redis.call('PERSIST', KEYS[1])
if KEYS[3] then
  redis.call('SET', KEYS[3], epoch .. '.' .. seq, 'PX', ARGV[6])
end
redis.call('PUBLISH', ARGV[3],
  'b1:' .. string.len(ARGV[4]) .. ':' .. ARGV[4] .. epoch .. '.' .. seq .. '\n' .. ARGV[5])
return {epoch, seq, 0}
";

/// The topic's epoch and newest seq, creating its meta with the candidate
/// epoch when it has none, so that the epoch a subscriber is given stays
/// the topic's until its history is lost. The meta of a topic with no
/// event yet expires after `ARGV[2]` ms (each read starts that time again;
/// the first append makes it permanent), so topics that are only ever
/// asked about leave nothing behind.
///
/// KEYS: meta hash, stream. ARGV: candidate epoch, TTL of an empty topic
/// in ms. Answers `{epoch, seq}`.
pub(crate) const POSITION: &str = r"
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0)
end
local seq = redis.call('HGET', KEYS[1], 'seq')
if not seq then
  return redis.error_reply('BOURN ' .. KEYS[1] .. ' has an epoch but no seq')
end
if seq == '0' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return {epoch, seq}
";

/// Replaces the epoch `ARGV[1]` with `ARGV[2]` if it is still the topic's:
/// Redis came back with fewer events than a node had seen (a restart that
/// lost the tail), so the next seqs would name events anew.
///
/// KEYS: meta hash. Answers `{epoch, seq}` after the change, or `{}` when
/// the topic has no meta (lost altogether: the next `POSITION` creates it).
pub(crate) const NEW_EPOCH: &str = r"
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  return {}
end
if epoch == ARGV[1] then
  redis.call('HSET', KEYS[1], 'epoch', ARGV[2])
  epoch = ARGV[2]
end
return {epoch, redis.call('HGET', KEYS[1], 'seq') or '0'}
";

/// One page of records `ARGV[1]..=ARGV[2]` (stream ids): at most `ARGV[3]`
/// entries and `ARGV[4]` bytes of bodies, except that the first entry is
/// always taken. Selected here, so a page never crosses the network larger
/// than its limit.
///
/// KEYS: meta hash, stream. Answers `{epoch, seq, id, body, id, body, …}`,
/// or `{}` when the topic has no meta (its history is gone).
pub(crate) const REPLAY: &str = r"
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  return {}
end
local out = {epoch, redis.call('HGET', KEYS[1], 'seq') or '0'}
local max = tonumber(ARGV[4])
local bytes = 0
local entries = redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[2], 'COUNT', ARGV[3])
for i, entry in ipairs(entries) do
  local fields = entry[2]
  local body = nil
  for j = 1, #fields, 2 do
    if fields[j] == 'b' then body = fields[j + 1] end
  end
  if not body then
    return redis.error_reply('BOURN stream entry ' .. entry[1] .. ' has no body')
  end
  if i > 1 and bytes + string.len(body) > max then
    break
  end
  bytes = bytes + string.len(body)
  out[#out + 1] = entry[1]
  out[#out + 1] = body
end
return out
";

/// The token that tells whether Redis lost its data since a node last
/// looked: the value of `KEYS[1]`, set to `ARGV[1]` when missing (Redis
/// restarted empty, `FLUSHALL`). Every node compares it with the one it saw
/// before. (`SET … NX GET` would do, from Redis 7.0 on.)
pub(crate) const TOKEN: &str = r"
local token = redis.call('GET', KEYS[1])
if not token then
  redis.call('SET', KEYS[1], ARGV[1])
  token = ARGV[1]
end
return token
";
