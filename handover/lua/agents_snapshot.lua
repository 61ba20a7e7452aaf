-- KEYS: when agents last got a conversation, when each was last freed, today's assignments, then for each
--       agent: their hash, their load set, their pending offers
-- ARGV: (none)
-- Read only: every agent as the assigner scores them, in one call and one JSON reply (read by
-- handover/assignment.py): {agents: [[json, status, held, offered], ...], last: {...}, freed: {...},
-- today: {...}} in the order of KEYS. One call instead of a pipeline of three commands per agent: packing
-- and parsing those cost the assigner more than Redis did.
local function pairs_of(key)
  local flat, out = redis.call('HGETALL', key), {}
  for i = 1, #flat, 2 do out[flat[i]] = flat[i + 1] end
  return out
end
local agents = {}
for i = 4, #KEYS, 3 do
  local fields = redis.call('HMGET', KEYS[i], 'json', 'status')
  agents[#agents + 1] = {fields[1] or false, fields[2] or false, redis.call('SCARD', KEYS[i + 1]),
    redis.call('SCARD', KEYS[i + 2])}
end
return cjson.encode({agents = agents, last = pairs_of(KEYS[1]), freed = pairs_of(KEYS[2]),
  today = pairs_of(KEYS[3])})
