-- KEYS: delivery hash, entries hash, wamid key, orphan statuses list, conversation hash, desk events stream
-- ARGV: entry id, outcome (sent|failed|retrying), wamid, at, error code, error title,
--       "<conversation id> <entry id>", wamid ttl (s), attempts
-- USES: delivery
-- Store what a send achieved on its transcript entry (1 if stored, 0 if the entry is gone); once sent, the
-- statuses that arrived before it (orphans) are applied.
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
local d = load(KEYS[1], ARGV[1])
local at = tonumber(ARGV[4])
d.attempts = tonumber(ARGV[9])
if ARGV[2] == 'sent' then
  d.wa_message_id = ARGV[3]
  advance(d, 'sent', at, '', '')
  redis.call('SET', KEYS[3], ARGV[7], 'EX', ARGV[8])
  for _, raw in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
    local s = cjson.decode(raw)
    advance(d, s[1], tonumber(s[2]), s[3], s[4])
  end
  redis.call('DEL', KEYS[4])
elseif ARGV[2] == 'failed' then
  advance(d, 'failed', at, ARGV[5], ARGV[6])
else
  d.error_code = tonumber(ARGV[5]); d.error_title = ARGV[6]; d.updated_at = at
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(d))
publish_status(KEYS[5], KEYS[6], string.match(ARGV[7], '^(%S+) '), ARGV[1], d)
return 1
