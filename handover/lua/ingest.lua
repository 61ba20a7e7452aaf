-- KEYS: wakeups list; then per item: its seen key (its stream key again when it has no dedupe id), its
--       stream key; then per partition the items go to: its lease key, its wake key
-- ARGV: seen ttl (s), wake ms, item count n; then per item: payload, its partition's position (1-based,
--       in the partitions' order in KEYS); then per partition: its "lane:partition"
-- USES: wake
-- Store webhook items once each and wake the drainers they need. An item whose seen slot repeats its
-- stream key has no dedupe id (statuses): it is never deduplicated. Returns {added, duplicates, the
-- duplicates' positions among the items (1-based)}.
local ttl, wake_ms, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local first_partition = 2 + 2 * n
local added, dup = 0, 0
local touched = {}
local dups = {}
for i = 1, n do
  local seen, stream = KEYS[2 * i], KEYS[2 * i + 1]
  local payload, at = ARGV[2 * i + 2], tonumber(ARGV[2 * i + 3])
  if seen == stream or redis.call('SET', seen, '1', 'NX', 'EX', ttl) then
    redis.call('XADD', stream, '*', 'd', payload)
    added = added + 1
    touched[at] = true
  else
    dup = dup + 1
    table.insert(dups, i)
  end
end
for at = 1, (#KEYS - first_partition + 1) / 2 do
  if touched[at] then
    local k = first_partition + 2 * (at - 1)
    wake(KEYS[k], KEYS[k + 1], KEYS[1], ARGV[3 + 2 * n + at], wake_ms)
  end
end
return {added, dup, dups}
