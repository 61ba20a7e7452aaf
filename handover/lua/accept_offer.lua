-- KEYS: the conversation, the push offers index, the agent's pending offers, the agent's load set, the
--       conversation's skip set, offers missed in a row, counters, this hour's KPIs, desk events, the
--       queue's recent waits, then the activity index keys (activity.take_keys)
-- ARGV: conversation id, agent id, capacity, now, desk events kept, priority span, the prefix of the
--       agent's own KPI fields, the queue's sla_seconds ('' for none), the prefix of the queue's KPI fields
-- MOVES: queued -> assigned
-- USES: bump, activity, take
-- An agent accepts what the assigner offered them, in time: it is theirs, counted from when it started
-- waiting. Returns {'assigned'}, {'not_found'}, {'not_offered'} (not to this agent, or not any more),
-- {'expired'} (the timeout passed: it moves on) or {'full'} (at capacity meanwhile).
local conv, index, offers, load, skip = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local missed, counters, hour, events = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local id, agent, now = ARGV[1], ARGV[2], ARGV[4]
local state = redis.call('HGET', conv, 'state')
if not state then return {'not_found'} end
if state ~= 'queued' or redis.call('HGET', conv, 'offer_to') ~= agent then return {'not_offered'} end
if tonumber(redis.call('HGET', conv, 'offer_expires_at')) <= tonumber(now) then return {'expired'} end
if redis.call('SCARD', load) >= tonumber(ARGV[3]) then return {'full'} end
local score = tonumber(redis.call('HGET', conv, 'offer_score'))
redis.call('HDEL', conv, 'offer_to', 'offer_expires_at', 'offer_score')
redis.call('ZREM', index, id)
redis.call('SREM', offers, id)
redis.call('DEL', skip)
redis.call('HDEL', missed, agent)
local waited = take({conv = conv, id = id, agent = agent, now = now, load = load, waits = KEYS[10],
  score = score, span = tonumber(ARGV[6]), counters = counters, hour = hour, events = events, kept = ARGV[5],
  queue = redis.call('HGET', conv, 'queue') or '', mine = ARGV[7], sla = tonumber(ARGV[8]), qmine = ARGV[9],
  gone = {KEYS[11], KEYS[12]}, held = {KEYS[13], KEYS[14]}})
bump(counters, hour, 'assign_seconds_sum', string.format('%.3f', math.max(0, waited)))
bump(counters, hour, 'assign_seconds_count', 1)
bump(counters, hour, 'offers_accepted', 1)
bump_hour(hour, ARGV[7] .. 'offers_accepted', 1)
return {'assigned'}
