-- KEYS: the conversation, its queue, the push offers index, the agent's pending offers, the conversation's
--       skip set, the agent's hash, offers missed in a row, counters, this hour's KPIs, desk events
-- ARGV: conversation id, agent id, why (declined | timeout | unavailable), now, desk events kept, missed
--       offers in a row after which the agent is set away, the prefix of the agent's own KPI fields
-- USES: bump
-- An offer ends unaccepted: the conversation goes back to its place in the queue (its old score), the agent
-- is skipped for it, and it is counted. An agent who lets offers expire `away after` times in a row has
-- walked away: they are set away, and stop receiving work. A timeout is only taken once it is due.
-- Returns {'withdrawn', away (0|1)}, {'not_offered'} or {'not_due'}.
local conv, queue, index, offers, skip, agent_hash = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local missed, counters, hour, events = KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local id, agent, why, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('HGET', conv, 'state') ~= 'queued' or redis.call('HGET', conv, 'offer_to') ~= agent then
  -- gone or moved on (accepted, transferred, abandoned): only the index entries can be left
  redis.call('ZREM', index, id)
  redis.call('SREM', offers, id)
  return {'not_offered'}
end
if why == 'timeout' and tonumber(redis.call('HGET', conv, 'offer_expires_at')) > tonumber(now) then
  return {'not_due'}
end
local score = redis.call('HGET', conv, 'offer_score')
redis.call('HDEL', conv, 'offer_to', 'offer_expires_at', 'offer_score')
redis.call('ZREM', index, id)
redis.call('SREM', offers, id)
redis.call('ZADD', queue, score, id)
redis.call('SADD', skip, agent)
redis.call('EXPIRE', skip, 86400)
local name = 'offers_withdrawn'  -- the agent left (away, offline) before answering
if why == 'timeout' then name = 'offers_expired' elseif why == 'declined' then name = 'offers_declined' end
bump(counters, hour, name, 1)
bump_hour(hour, ARGV[7] .. name, 1)
local q = redis.call('HGET', conv, 'queue') or ''
redis.call('XADD', events, 'MAXLEN', '~', ARGV[5], '*', 'type', 'offer_withdrawn', 'conversation_id', id,
  'agent_id', agent, 'queue', q, 'data', cjson.encode({why = why}))
local away = 0
if why == 'timeout' then
  if redis.call('HINCRBY', missed, agent, 1) >= tonumber(ARGV[6]) and redis.call('HGET', agent_hash, 'status') == 'available' then
    redis.call('HSET', agent_hash, 'status', 'away')
    redis.call('HDEL', missed, agent)
    redis.call('XADD', events, 'MAXLEN', '~', ARGV[5], '*', 'type', 'agent_status', 'conversation_id', '',
      'agent_id', agent, 'queue', '', 'data', cjson.encode({status = 'away', why = 'missed_offers'}))
    away = 1
  end
elseif why == 'declined' then
  redis.call('HDEL', missed, agent)
end
return {'withdrawn', away}
