/**
 * The Redis limiter's scripts. KEYS[1] is the sliding log (a sorted set of slots scored by time in
 * microseconds on the Redis server's clock), KEYS[2] the limit's record (a hash: `epoch`, `seq`,
 * `quietUntil`, `created`, the Redis time the record was made). A slot granted but not yet sent is
 * scored `now + lease`: it counts as inside the window until it is stamped with its send time (or
 * released), and leaves the log one window after its lease runs out.
 *
 * The record has no TTL: it is how a process knows Redis still holds the log. Nothing is granted
 * until one window after the loss could have happened when the record is missing and either this
 * process saw one before (Redis lost its data) or the Redis server started less than a window ago
 * (a restart may have lost it: the first use of a key on a Redis up for longer is just that); when
 * the record was replaced by another process since this one saw it (the loss happened before the
 * new record was made: quiet until `created` plus one window, the same instant for every process
 * that notices, so detections neither compound nor extend it once it is over); or when it is
 * older than one this process saw (a failover or restore lost recent writes: one window from now).
 * Requests sent in the window before the loss may have left no trace.
 */

/**
 * ARGV: limit, windowMs, member, leaseMs, knownEpoch, knownSeq, newEpoch, knownCreated.
 * Returns {granted, waitUs, nowUs, epoch, seq, reason, quietUs, created}.
 */
export const RESERVE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2]) * 1000
local lease = tonumber(ARGV[4]) * 1000
local record = redis.call('HMGET', KEYS[2], 'epoch', 'seq', 'quietUntil', 'created')
local epoch, seq, quietUntil, created = record[1], tonumber(record[2]), tonumber(record[3]), tonumber(record[4])
local known, knownCreated = ARGV[5], tonumber(ARGV[8])
local reason = ''
if not epoch then
  epoch, seq, quietUntil, created = ARGV[7], 0, now + window, now
  if known ~= '' then
    reason = 'lost'
  else
    local ok, info = pcall(redis.call, 'INFO', 'server')
    local uptime = ok and tonumber(string.match(info, 'uptime_in_seconds:(%d+)')) or 0
    if uptime * 1000000 < window then reason = 'no-record' else quietUntil = 0 end
  end
  redis.call('HSET', KEYS[2], 'epoch', epoch, 'seq', 0, 'quietUntil', quietUntil, 'created', created)
elseif known ~= '' and epoch ~= known then
  if not created then
    created = now
    redis.call('HSET', KEYS[2], 'created', created)
  end
  if knownCreated and created < knownCreated then
    reason = 'rolled-back'
    if now >= quietUntil then quietUntil = now + window end
  else
    reason = 'lost'
    quietUntil = math.max(quietUntil, created + window)
  end
  redis.call('HSET', KEYS[2], 'quietUntil', quietUntil)
elseif known ~= '' and seq < tonumber(ARGV[6]) and now >= quietUntil then
  quietUntil = now + window
  redis.call('HSET', KEYS[2], 'quietUntil', quietUntil)
  reason = 'rolled-back'
end
created = created or 0
local quiet = math.max(0, quietUntil - now)
if quiet > 0 then
  return {0, quiet, now, epoch, seq, reason, quiet, created}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.floor((lease + window) / 1000) + 1000)
  seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
  return {1, 0, now, epoch, seq, reason, 0, created}
end
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
local wait = oldest + window - now
if oldest > now then
  wait = math.min(wait, window)
end
return {0, wait, now, epoch, seq, reason, 0, created}
`;

/**
 * ARGV: member, windowMs, sinceArrivalMs. The slot's request was counted by the server at least
 * sinceArrivalMs ago (0: by now): its time is then, on the Redis clock. Returns nowUs.
 */
export const STAMP_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZADD', KEYS[1], now - math.floor(tonumber(ARGV[3]) * 1000), ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) + 1000 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + 1000)
end
return now
`;

/** ARGV: member, leaseMs, windowMs. An unsent slot is still waiting to be sent: extend its lease. */
export const RENEW_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]) * 1000, ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) + tonumber(ARGV[3]) + 1000 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[3]) + 1000)
end
return now
`;
