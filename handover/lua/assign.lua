-- KEYS: the conversation, its queue, the agent's hash, the agent's load set, the agent's pending offers,
--       the conversation's skip set, the push offers index, when agents last got one, today's assignments, counters, this
--       hour's KPIs, desk events, the queue's recent waits list, then the activity index keys
--       (activity.take_keys: waiting, the queue's waiting, held, the agent's held)
-- ARGV: conversation id, agent id, capacity, now, offer timeout seconds (0: assign at once), desk events
--       kept, priority span, queue name, the prefix of the agent's own KPI fields, the queue's sla_seconds
--       ('' for none), the prefix of the queue's KPI fields
-- MOVES: queued -> assigned
-- USES: bump, activity, take
-- One push decision, checked where it is written: the conversation still waits in the queue, the agent is
-- available, below capacity (held and offered together) and was not skipped for it. Then it is theirs at
-- once, or offered to them until the timeout (out of the queue meanwhile, its score kept to go back to its
-- place). Returns {'assigned'}, {'offered', expires_at}, {'gone'} (it does not wait there any more) or
-- {'busy'} (this agent cannot take it now: try the next).
local conv, queue, agent_hash, load, offers, skip = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local index, last, today, counters, hour, events = KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local id, agent, capacity, now, timeout = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local score = redis.call('ZSCORE', queue, id)
if not score or redis.call('HGET', conv, 'state') ~= 'queued' then return {'gone'} end
if redis.call('HGET', agent_hash, 'status') ~= 'available'
    or redis.call('SCARD', load) + redis.call('SCARD', offers) >= capacity
    or redis.call('SISMEMBER', skip, agent) == 1 then
  return {'busy'}
end
redis.call('ZREM', queue, id)
redis.call('HSET', last, agent, now)
redis.call('HINCRBY', today, agent, 1)
redis.call('EXPIRE', today, 172800)
if timeout == 0 then
  local waited = take({conv = conv, id = id, agent = agent, now = now, load = load, waits = KEYS[13],
    score = tonumber(score), span = tonumber(ARGV[7]), counters = counters, hour = hour, events = events,
    kept = ARGV[6], queue = ARGV[8], mine = ARGV[9], sla = tonumber(ARGV[10]), qmine = ARGV[11], gone = {KEYS[14], KEYS[15]}, held = {KEYS[16], KEYS[17]}})
  bump(counters, hour, 'assign_seconds_sum', string.format('%.3f', math.max(0, waited)))
  bump(counters, hour, 'assign_seconds_count', 1)
  redis.call('DEL', skip)
  return {'assigned'}
end
local expires = string.format('%.3f', tonumber(now) + timeout)
redis.call('HSET', conv, 'offer_to', agent, 'offer_expires_at', expires, 'offer_score', score)
redis.call('SADD', offers, id)
redis.call('ZADD', index, expires, id)
bump(counters, hour, 'offers', 1)
bump_hour(hour, ARGV[9] .. 'offers', 1)
redis.call('XADD', events, 'MAXLEN', '~', ARGV[6], '*', 'type', 'offered', 'conversation_id', id,
  'agent_id', agent, 'queue', ARGV[8], 'data', cjson.encode({expires_at = tonumber(expires)}))
return {'offered', expires}
