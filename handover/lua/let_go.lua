-- KEYS: partition stream, its lease key, its wake key, wakeups list
-- ARGV: the holder's token, "lane:partition", wake ms
-- USES: wake
-- A drainer's way out in one round trip: give the lease up if it is still ours, then wake the partition if
-- entries arrived meanwhile (1 if woken).
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if redis.call('XLEN', KEYS[1]) > 0 then return wake(KEYS[2], KEYS[3], KEYS[4], ARGV[2], tonumber(ARGV[3])) end
return 0
