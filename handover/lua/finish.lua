-- KEYS: the conversation, the agent's load set, counters, this hour's KPIs, desk events, then the activity
--       index keys it was filed under (handover/activity.py finish_keys: held, the agent's), then the
--       resolution hour's FCR bucket (handover/fcr.py)
-- ARGV: agent id, new state (resolved | bot), now, the bot's fresh memory (JSON, for bot), desk events kept,
--       conversation id, the prefix of this agent's own KPI fields, the prefix of its queue's ('' for none),
--       the field counting how many transfers it had (kpis.transfers_field), then optionally pairs of a
--       field of the conversation and the value it must still have ('' for absent)
-- MOVES: assigned -> resolved, assigned -> bot
-- USES: bump, activity
-- Leave an agent's hands: only from `assigned`, only by the agent who holds it; the change, its counters
-- and its desk event (`closed` or `released`) together. Returns {'ok'}, {'not_found'}, {'not_yours'}
-- or {'state', the state it is in}, or {'changed', field} when an expected field moved (the idle clock
-- closes only what it saw: a customer who wrote meanwhile wins). A resolution counts per queue (resolved, handle time, transfers) and in
-- the FCR bucket of its hour (overall, its queue, its agent; kept FCR_TTL: handover/fcr.py).
local conv, load, counters, hour = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local agent, to, now = ARGV[1], ARGV[2], ARGV[3]
local FCR_TTL = 3369600
local state = redis.call('HGET', conv, 'state')
if not state then return {'not_found'} end
if state ~= 'assigned' then return {'state', state} end
if redis.call('HGET', conv, 'agent_id') ~= agent then return {'not_yours'} end
for i = 10, #ARGV, 2 do
  if (redis.call('HGET', conv, ARGV[i]) or '') ~= ARGV[i + 1] then return {'changed', ARGV[i]} end
end
redis.call('HSET', conv, 'state', to, 'updated_at', now)
local event = 'released'
if to == 'resolved' then
  event = 'closed'
  redis.call('HSET', conv, 'resolved_at', now)
  local mine = ARGV[7]
  bump(counters, hour, 'resolved', 1)
  bump_hour(hour, mine .. 'resolved', 1)
  local qmine, fcr = ARGV[8], KEYS[8]
  bump(counters, hour, ARGV[9], 1)
  redis.call('HINCRBY', fcr, 'resolved', 1)
  redis.call('HINCRBY', fcr, mine .. 'resolved', 1)
  if qmine ~= '' then
    bump_hour(hour, qmine .. 'resolved', 1)
    bump_hour(hour, qmine .. ARGV[9], 1)
    redis.call('HINCRBY', fcr, qmine .. 'resolved', 1)
  end
  redis.call('EXPIRE', fcr, FCR_TTL)
  local since = tonumber(redis.call('HGET', conv, 'assigned_at'))
  if since then
    local held = string.format('%.3f', math.max(0, tonumber(now) - since))
    bump(counters, hour, 'handle_seconds_sum', held)
    bump(counters, hour, 'handle_seconds_count', 1)
    bump_hour(hour, mine .. 'handle_seconds_sum', held)
    bump_hour(hour, mine .. 'handle_seconds_count', 1)
    if qmine ~= '' then
      bump_hour(hour, qmine .. 'handle_seconds_sum', held)
      bump_hour(hour, qmine .. 'handle_seconds_count', 1)
    end
  end
else
  bump(counters, hour, 'released', 1)
  redis.call('HDEL', conv, 'agent_id', 'assigned_at', 'queue', 'priority')
  redis.call('HSET', conv, 'bot', ARGV[4])
end
redis.call('SREM', load, ARGV[6])
activity_touch({KEYS[6], KEYS[7]}, {}, ARGV[6], now)
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[5], '*', 'type', event, 'conversation_id', ARGV[6],
  'agent_id', agent, 'queue', '', 'data', '{}')
return {'ok'}
