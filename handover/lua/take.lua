-- KEYS: partition stream, its lease key, its wake key
-- ARGV: token, lease ms, group, consumer, count, cursor ("0": our pending entries, then new ones; ">": new
--       ones), take ("1": take the free lease; "0": renew ours), release ("1": give the lease up when
--       nothing is left to read)
-- A drainer's next batch in one round trip: take (or renew) the partition's lease, then read; a batch's
-- commit runs it last in its transaction, so reading on costs no round trip of its own. Our consumer's
-- pending entries (a holder that died mid-batch left them) come before new ones. Nothing left: the lease
-- is given up at once (an entry added after that wakes a drainer as usual). Returns false when the lease
-- is not ours (taken by another, or expired); else {the cursor read, the entries, 1 if given up}.
local stream, lease, wake_key = KEYS[1], KEYS[2], KEYS[3]
local token, lease_ms, group, consumer, count, cursor = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if ARGV[7] == '1' then
  if not redis.call('SET', lease, token, 'NX', 'PX', lease_ms) then return false end
  redis.call('DEL', wake_key)
elseif redis.call('GET', lease) == token then
  redis.call('PEXPIRE', lease, lease_ms)
else
  return false
end
local function read(from)
  local reply = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, from)
  if not reply then return {} end
  return reply[1][2]
end
local entries = read(cursor)
if #entries == 0 and cursor == '0' then
  cursor = '>'
  entries = read(cursor)
end
if #entries == 0 and cursor == '>' and ARGV[8] == '1' then
  redis.call('DEL', lease)
  return {cursor, entries, 1}
end
return {cursor, entries, 0}
