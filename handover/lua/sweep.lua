-- KEYS: wakeups list, urgent wakeups list, send retries zset; then per lane (in the order of ARGV's
--       lanes) and per partition 0..n-1: its stream key, lease key, wake key
-- ARGV: partitions n, wake ms, now ms, max retries to move, consumer group, the outbound lane's position
--       among the lanes (0-based), how old a wake-up's mark may get before it is taken for lost (ms); then
--       per lane and partition, in the KEYS' order: its "lane:partition"
-- USES: wake
-- Wake drainers for partitions with work and no holder (urgently where entries were read and never
-- acknowledged: their drainer died), wake again those whose wake-up was popped and lost (lib/wake.lua
-- rewake), and move due send retries into their outbound stream, by the partition `p` each one carries.
-- Returns {how many retries moved, the "lane:partition"s woken again}.
local n, wake_ms, now, max = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local group, outbound, stale_ms = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local first = 8
local slots = (#KEYS - 3) / 3
local function at(slot) return 4 + 3 * slot end
local rewoken = {}
for slot = 0, slots - 1 do
  local k = at(slot)
  if redis.call('XLEN', KEYS[k]) > 0 then
    -- entries read but never acknowledged, and no lease: their drainer died. Taking over is urgent: it
    -- must not queue behind ordinary work
    local pending = redis.call('XPENDING', KEYS[k], group)[1]
    local to = pending > 0 and KEYS[2] or KEYS[1]
    local lp = ARGV[first + slot]
    if wake(KEYS[k + 1], KEYS[k + 2], to, lp, wake_ms) == 0
       and rewake(KEYS[k + 1], KEYS[k + 2], to, KEYS[1], KEYS[2], lp, wake_ms, stale_ms) == 1 then
      table.insert(rewoken, lp)
    end
  end
end
local moved = 0
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, max)) do
  redis.call('ZREM', KEYS[3], member)
  -- a retry from before a change of the partition count lands in the partition its number folds into
  local slot = outbound * n + tonumber(cjson.decode(member)['p']) % n
  local k = at(slot)
  redis.call('XADD', KEYS[k], '*', 'd', member)
  wake(KEYS[k + 1], KEYS[k + 2], KEYS[1], ARGV[first + slot], wake_ms)
  moved = moved + 1
end
return {moved, rewoken}
