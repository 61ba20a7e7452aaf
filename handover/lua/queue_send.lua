-- KEYS: send numbers hash (conversation -> the last number given), the outbound stream
-- ARGV: conversation id, the send (OutboundJob JSON)
-- Queue a send with the next number of its conversation (1, 2, ...), given in the same step that puts it
-- in the stream, so the numbers follow the order the sends were queued in. traffic/outbound.py lets a send go only
-- when its number is the conversation's "next to send" (advance_sends.lua). Returns the number.
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('XADD', KEYS[2], '*', 'd', ARGV[2], 'n', n)
return n
