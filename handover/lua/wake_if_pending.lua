-- KEYS: partition stream, its lease key, its wake key, wakeups list
-- ARGV: "lane:partition", wake ms
-- USES: wake
-- A drainer's last look, and a send queued: wake the partition if it has entries (1 if woken).
if redis.call('XLEN', KEYS[1]) > 0 then return wake(KEYS[2], KEYS[3], KEYS[4], ARGV[1], tonumber(ARGV[2])) end
return 0
