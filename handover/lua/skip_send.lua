-- KEYS: send cursors hash, send numbers hash, the conversation's held sends hash, the outbound stream
--       (as advance_sends)
-- ARGV: conversation id, the number of the send that was dead-lettered, now (ms)
-- USES: sends
-- A numbered send that will never be sent (dead-lettered) must not hold up the conversation's later sends.
-- If the cursor waits on it, the cursor moves past it and the held sends behind it go back to the stream;
-- if earlier sends are still owed, it is marked 'skip' among the held sends, and stepped over when the
-- cursor reaches it; if the cursor is past it already (a redelivery), nothing changes. Returns how many
-- sends went back to the stream.
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local next, since = 1, tonumber(ARGV[3])
if raw then
  local n, s = string.match(raw, '^(%d+) (%d+)$')
  next, since = tonumber(n), tonumber(s)
elseif not redis.call('HGET', KEYS[2], ARGV[1]) then
  return 0  -- the conversation owes nothing: every send it was given a number for is finished
end
local dead = tonumber(ARGV[2])
if dead < next then return 0 end
if dead > next then
  redis.call('HSET', KEYS[3], ARGV[2], 'skip')
  return 0
end
return release(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], next + 1, tonumber(ARGV[3]))
