-- KEYS: live agents zset (agent id -> last seen, ms)
-- ARGV: agent id, cutoff ms
-- Remove an agent's mark only if nobody refreshed it since the sweep read it: a desk reconnecting wins.
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
