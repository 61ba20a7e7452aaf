-- KEYS: the client's unknown-token failures (zset: failure id -> when, ms)
-- ARGV: now ms, window ms, the limit, this failure's id
-- Counts one unknown token from a client unless it has `limit` in the window already, in one step: a check
-- and a count apart let 323 of 500 simultaneous guesses be checked for a limit of 10 (desk/guard.py).
-- Returns {failures in the window, ms before the client may try again}: 0 ms when this one was counted.
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local failures = redis.call('ZCARD', KEYS[1])
if failures >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {failures, math.max(1, tonumber(oldest[2]) + window - now)}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {failures + 1, 0}
