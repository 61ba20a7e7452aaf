-- Start a drainer for a partition only if it has no lease holder and no wake-up already pending:
-- lease and wake are the partition's keys, wakeups the list a dispatcher pops, lp its "lane:partition".
local function wake(lease, wake_key, wakeups, lp, wake_ms)
  if redis.call('EXISTS', lease) == 0
     and redis.call('SET', wake_key, '1', 'NX', 'PX', wake_ms) then
    redis.call('LPUSH', wakeups, lp)
    return 1
  end
  return 0
end
