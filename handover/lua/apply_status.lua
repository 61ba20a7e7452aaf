-- KEYS: wamid key, orphan statuses list, entries hash, delivery hash, conversation hash, desk events
--       stream (the last four: of the send's conversation as the caller located it; placeholders the
--       script does not touch when it located none)
-- ARGV: location read ("<conversation id> <entry id>", or '' if the wamid key held none), status, at,
--       error code, error title, orphan ttl (s)
-- USES: delivery
-- Move a sent message's delivery forward. Returns 1 moved, 0 unchanged, -1 kept as an orphan (its send is
-- not recorded yet: record_send applies it), -2 MOVED: the wamid key no longer holds what the caller read
-- (a send was recorded meanwhile); nothing is written and the caller applies the status again.
local where = redis.call('GET', KEYS[1]) or ''
if where ~= ARGV[1] then return -2 end
if where == '' then
  redis.call('RPUSH', KEYS[2], cjson.encode({ARGV[2], ARGV[3], ARGV[4], ARGV[5]}))
  redis.call('EXPIRE', KEYS[2], ARGV[6])
  return -1
end
local conv, entry = string.match(where, '^(%S+) (%S+)$')
if redis.call('HEXISTS', KEYS[3], entry) == 0 then return 0 end
local d = load(KEYS[4], entry)
if advance(d, ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]) then
  redis.call('HSET', KEYS[4], entry, cjson.encode(d))
  publish_status(KEYS[5], KEYS[6], conv, entry, d)
  return 1
end
return 0
