-- KEYS: the agent's load set, counters, this hour's KPIs, desk events, then the agent's Q queues, then each
--       queue's recent waits list (same order), then the conversation hash of each candidate (ARGV 7...),
--       then the activity index keys (activity.claim_keys: waiting, held, the agent's, each queue's)
-- ARGV: agent id, capacity, now, priority span, desk events kept, Q, then the candidate conversation ids
--       (the first few of each queue, as read just before: the script takes the best only if it is one)
-- MOVES: queued -> assigned
-- USES: bump, activity
-- Capacity check, the best head across the agent's queues (lowest score: priority, then age), removal from
-- its queue, assignment, the wait sample, the counters and the desk event: one script, so two agents never
-- share a conversation and nobody goes past capacity. Returns {'full'}, {'empty'}, {'retry'} (the queues
-- changed since the candidates were read) or {'claimed', id, queue index}.
local load, counters, hour, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local agent, now, span, q = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
if redis.call('SCARD', load) >= tonumber(ARGV[2]) then return {'full'} end
local best, best_i, best_score = nil, nil, nil
for i = 1, q do
  local head = redis.call('ZRANGE', KEYS[4 + i], 0, 0, 'WITHSCORES')
  if head[1] and (best_score == nil or tonumber(head[2]) < best_score) then
    best, best_i, best_score = head[1], i, tonumber(head[2])
  end
end
if not best then return {'empty'} end
local conv = nil
for j = 7, #ARGV do
  if ARGV[j] == best then conv = KEYS[4 + 2 * q + (j - 6)] end
end
if not conv then return {'retry'} end
if redis.call('HGET', conv, 'state') ~= 'queued' then
  -- not waiting any more (or gone): it has no place in a queue
  redis.call('ZREM', KEYS[4 + best_i], best)
  return {'retry'}
end
redis.call('ZREM', KEYS[4 + best_i], best)
redis.call('HSET', conv, 'state', 'assigned', 'agent_id', agent, 'assigned_at', ARGV[3], 'updated_at', ARGV[3])
redis.call('SADD', load, best)
local act = 4 + 2 * q + (#ARGV - 6)
activity_touch({KEYS[act + 1], KEYS[act + 3 + best_i]}, {KEYS[act + 2], KEYS[act + 3]}, best, ARGV[3])
local waited = now - (best_score % span) / 1000
local waits = KEYS[4 + q + best_i]
redis.call('LPUSH', waits, string.format('%.3f', waited))
redis.call('LTRIM', waits, 0, 99)
bump(counters, hour, 'claimed', 1)
bump(counters, hour, 'queue_wait_seconds_sum', string.format('%.3f', math.max(0, waited)))
bump(counters, hour, 'queue_wait_seconds_count', 1)
local queue = redis.call('HGET', conv, 'queue') or ''
redis.call('XADD', events, 'MAXLEN', '~', ARGV[5], '*', 'type', 'assigned', 'conversation_id', best,
  'agent_id', agent, 'queue', queue, 'data', '{}')
return {'claimed', best, best_i}
