-- KEYS: a hash the batch read, the lease's fence key
-- ARGV: fence ttl ms, then field, value pairs (an empty value: the field must be absent)
-- Sent after guard.lua in a fenced commit's prelude (handover/traffic/fenced.py), for a hash whose fields the batch
-- decided on (a waiting conversation its customer leaves: its state, queue and offer). When the hash holds
-- something else now (an agent accepted or claimed it meanwhile), it touches the fence, which makes Redis
-- refuse the transaction's EXEC: the batch is redone from what is there now. 1: as the batch read it.
for i = 2, #ARGV, 2 do
  local value = redis.call('HGET', KEYS[1], ARGV[i]) or ''
  if value ~= ARGV[i + 1] then
    redis.call('INCR', KEYS[2])
    redis.call('PEXPIRE', KEYS[2], ARGV[1])
    return 0
  end
end
return 1
