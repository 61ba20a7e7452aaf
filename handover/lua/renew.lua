-- KEYS: lease key
-- ARGV: the holder's token, lease ms
-- Extend the lease only for its holder: 1 if extended, 0 if it is someone else's or gone.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
