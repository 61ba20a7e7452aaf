-- A conversation's numbered sends from its "next to send" cursor on: step over the numbers that were
-- dead-lettered (held as the tombstone 'skip'), put back in the stream, in order, the held sends from there
-- on up to a gap or a tombstone, and keep the cursor, or forget the conversation once every number it was
-- given is finished. cursors, numbers, held and stream are advance_sends' keys. Returns how many went back.
local function release(cursors, numbers, held, stream, conversation, next, since)
  while redis.call('HGET', held, tostring(next)) == 'skip' do
    redis.call('HDEL', held, tostring(next))
    next = next + 1
  end
  local back = 0
  while true do
    local n = tostring(next + back)
    local send = redis.call('HGET', held, n)
    if not send or send == 'skip' then break end
    redis.call('XADD', stream, '*', 'd', send, 'n', n)
    redis.call('HDEL', held, n)
    back = back + 1
  end
  if next > tonumber(redis.call('HGET', numbers, conversation) or '0') then
    redis.call('HDEL', cursors, conversation)
    redis.call('HDEL', numbers, conversation)
    redis.call('DEL', held)
  else
    redis.call('HSET', cursors, conversation, next .. ' ' .. string.format('%d', since))
  end
  return back
end
