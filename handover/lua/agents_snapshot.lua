-- KEYS: the set of agent ids, when agents last got a conversation, when each was last freed, today's
--       assignments, then for each agent the caller knows of (ARGV 2...): their hash, their load set, their
--       pending offers
-- ARGV: the agent ids the caller knows (sorted, joined by ','), then for each of them the revision of
--       their settings the caller last read (`rev`, counted up by AgentStore.update; '' when never read)
-- Read only: every agent as the assigner scores them, in one call and one JSON reply (handover/assignment/push.py).
-- When the ids are not the ones the caller knows, the reply is {ids = [...]} (call again with their keys);
-- else {agents = [[revision, JSON or false when the caller has it, status, held, offered], ...],
-- last = {...}, freed = {...}, today = {...}}. One call instead of a pipeline of three commands per agent,
-- and an agent's JSON only when it changed: packing, sending and parsing those cost more than Redis did.
local ids = redis.call('SMEMBERS', KEYS[1])
table.sort(ids)
if table.concat(ids, ',') ~= ARGV[1] then return cjson.encode({ids = ids}) end
local function pairs_of(key)
  local flat, out = redis.call('HGETALL', key), {}
  for i = 1, #flat, 2 do out[flat[i]] = flat[i + 1] end
  return out
end
local agents = {}
for i = 5, #KEYS, 3 do
  local fields = redis.call('HMGET', KEYS[i], 'json', 'status', 'rev')
  local rev, json = false, false
  if fields[1] then
    rev = fields[3] or '0'
    if rev ~= ARGV[2 + (i - 5) / 3] then json = fields[1] end
  end
  agents[#agents + 1] = {rev, json, fields[2] or false, redis.call('SCARD', KEYS[i + 1]),
    redis.call('SCARD', KEYS[i + 2])}
end
return cjson.encode({agents = agents, last = pairs_of(KEYS[2]), freed = pairs_of(KEYS[3]),
  today = pairs_of(KEYS[4])})
