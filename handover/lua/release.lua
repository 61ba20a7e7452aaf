-- KEYS: lease key
-- ARGV: the holder's token
-- Give the lease up only if it is still ours: 1 if released, 0 if someone else holds it or it expired.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
