-- KEYS: lease key, its fence key
-- ARGV: the holder's token, fence ttl ms
-- Sent between WATCH (of both keys) and MULTI (handover/traffic/fenced.py): when the lease is not the holder's, it
-- touches the fence, which makes Redis refuse the transaction's EXEC. 1: the lease is the holder's.
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 0
