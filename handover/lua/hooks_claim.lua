-- KEYS: the hooks' due deliveries (zset id -> due time), the pending deliveries (hash id -> JSON)
-- ARGV: now, the lease's end (now + lease seconds), how many at most
-- Take up to N deliveries due by now: each is moved to the lease's end, so a worker that dies while
-- posting leaves it to be taken again then (at least once). Returns {id, JSON, ...}; an id without a
-- pending delivery (settled meanwhile) is dropped from the due set.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(due) do
  local body = redis.call('HGET', KEYS[2], id)
  if body then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    out[#out + 1] = id
    out[#out + 1] = body
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
