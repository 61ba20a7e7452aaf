-- KEYS: send cursors hash (conversation -> "<next> <since ms>"), send numbers hash, the conversation's
--       held sends hash (number -> send JSON), the conversation's outbound stream
-- ARGV: conversation id, the next number the batch went by, how many sends from it on, in a row, were
--       accepted or failed for good, now (ms), due (ms) of the send being retried ('' if none), 1 if the
--       cursor is stale (move it to the oldest held send), then per send to hold: its number, its JSON
-- USES: sends
-- Move a conversation's "next to send" cursor past the sends a batch finished (never backwards), hold the
-- sends that must wait for an earlier one, and put back in the stream, in order, the held ones from the
-- cursor on (the first of them may go now; the transport stops at a failure and they are held again).
-- Numbers dead-lettered are stepped over (lib/sends.lua). Forgets the conversation once every send it was
-- given a number for is finished. Returns how many went back to the stream.
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local next, since = 1, tonumber(ARGV[4])
if raw then
  local n, s = string.match(raw, '^(%d+) (%d+)$')
  next, since = tonumber(n), tonumber(s)
end
local done = tonumber(ARGV[2]) + tonumber(ARGV[3])
if done > next then next = done end
if ARGV[5] ~= '' then
  since = tonumber(ARGV[5])
elseif tonumber(ARGV[3]) > 0 then
  since = tonumber(ARGV[4])
end
for i = 7, #ARGV, 2 do
  if tonumber(ARGV[i]) >= next then redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
end
if ARGV[6] == '1' then
  local oldest
  for _, n in ipairs(redis.call('HKEYS', KEYS[3])) do
    n = tonumber(n)
    if oldest == nil or n < oldest then oldest = n end
  end
  if oldest ~= nil and oldest > next then next, since = oldest, tonumber(ARGV[4]) end
end
return release(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], next, since)
