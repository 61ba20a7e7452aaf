-- KEYS: retained zset, conversation hash, transcript zset, entries hash, delivery hash, packet, decisions list,
--       announced hash, pending identity, skip set, conversations zset, bot idle zset, search zset, activity
--       waiting zset, activity held zset, its queue's waiting zset and its holder's held zset (else those two
--       again), the customer's history list, current pointer hash and inbound partition lease (the last
--       three: placeholders the script does not touch when ARGV[5] is ''), the send numbers hash, the send
--       cursors hash, its held sends hash
-- ARGV: conversation id, cutoff (s), now (s), when to look again at one left for later (s), '1' if the
--       customer keys are real, then every search index member that may point at the conversation
-- Delete a conversation closed or left with the bot whose last change is at or before the cutoff, and
-- everything of it, checked and done in one step: one that moved on since the caller read it is kept and
-- filed again at its last change. Returns 'deleted', 'gone' (nothing but leftovers was there), 'open',
-- 'recent', 'counting' (end_idle has not counted the bot's outcome yet) or 'busy' (see below).
local id, cutoff, now, later = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local linked = ARGV[5] == '1'
local retained, conv = KEYS[1], KEYS[2]
local state = redis.call('HGET', conv, 'state')
if state then
  if state == 'queued' or state == 'assigned' or state == 'transferring' then
    redis.call('ZADD', retained, now, id)  -- whenever it closes, its last change is after now
    return 'open'
  end
  local last = 0
  for _, at in ipairs(redis.call('HMGET', conv, 'updated_at', 'resolved_at', 'abandoned_at', 'csat_asked_at')) do
    local t = tonumber(at)
    if t and t > last then last = t end
  end
  if last > cutoff then
    redis.call('ZADD', retained, last, id)
    return 'recent'
  end
  if redis.call('ZSCORE', KEYS[12], id) then
    redis.call('ZADD', retained, later, id)
    return 'counting'
  end
end
if linked and redis.call('HGET', KEYS[19], 'conversation') == id then
  -- The customer's current one: a batch of their partition may have read it and write it when it commits
  -- (a late survey answer, the end of an idle bot conversation). Batches load and commit under the
  -- partition's lease, so with the lease free none is in flight, and the next reads the pointer afresh.
  if redis.call('EXISTS', KEYS[20]) == 1 then
    redis.call('ZADD', retained, later, id)
    return 'busy'
  end
  redis.call('HDEL', KEYS[19], 'conversation')
end
local existed = redis.call('EXISTS', conv) == 1
redis.call('DEL', conv, KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[23])
redis.call('HDEL', KEYS[21], id)
redis.call('HDEL', KEYS[22], id)
for _, index in ipairs({retained, KEYS[11], KEYS[12], KEYS[14], KEYS[15], KEYS[16], KEYS[17]}) do
  redis.call('ZREM', index, id)
end
if #ARGV > 5 then redis.call('ZREM', KEYS[13], unpack(ARGV, 6)) end
if linked then redis.call('LREM', KEYS[18], 0, id) end
if existed then return 'deleted' end
return 'gone'
