-- KEYS: transcript zset, entries hash, delivery hash
-- ARGV: entry id, score, entry json, entries kept, delivery json ('' for inbound), ceiling (inbound: the
--       score of the next second after its own, else ''), prefix of the ids never trimmed ('' for none)
-- Add a transcript entry once (1 if added), keeping the newest `entries kept` of those whose id does not
-- start with the prefix (agents' notes: capped on their own, handover/notes.py), and all of those.
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
local score = tonumber(ARGV[2])
if ARGV[6] ~= '' then
  -- WhatsApp stamps a customer's message to the second: an entry we wrote in that same second was
  -- written before this one arrived, so it goes first (a late delivery from an earlier second does not).
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if last[2] then
    local top = tonumber(last[2])
    if top >= score and top < tonumber(ARGV[6]) then score = top + 1 end
  end
end
redis.call('ZADD', KEYS[1], string.format('%.0f', score), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if ARGV[5] ~= '' then redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[5]) end
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if over > 0 then
  local prefix = ARGV[7]
  local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
  local old = {}
  if prefix == '' then
    for i = 1, over do old[i] = ids[i] end
  else
    local keep = {}
    for _, id in ipairs(ids) do
      if string.sub(id, 1, #prefix) == prefix then keep[#keep + 1] = id end
    end
    over = over - #keep
    for _, id in ipairs(ids) do
      if #old >= over then break end
      if string.sub(id, 1, #prefix) ~= prefix then old[#old + 1] = id end
    end
  end
  for _, id in ipairs(old) do
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
  end
end
return 1
