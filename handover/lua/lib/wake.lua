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

-- A wake-up popped and never turned into a drain (its worker died, was stopping, or lost Redis) leaves its
-- mark behind, and the mark would keep every other wake-up out until it expires. So a mark older than
-- stale_ms whose wake-up is in neither list (`ordinary`, `urgent`), on a partition nobody holds, is taken
-- for lost: the partition is woken again, into `to` (1 if woken). A wake-up still waiting in a list is
-- left alone: the mark only dedupes those.
local function rewake(lease, wake_key, to, ordinary, urgent, lp, wake_ms, stale_ms)
  if redis.call('EXISTS', lease) == 1 then return 0 end
  local left = redis.call('PTTL', wake_key)
  if left < 0 or wake_ms - left < stale_ms then return 0 end
  if redis.call('LPOS', ordinary, lp) or redis.call('LPOS', urgent, lp) then return 0 end
  redis.call('SET', wake_key, '1', 'PX', wake_ms)
  redis.call('LPUSH', to, lp)
  return 1
end
