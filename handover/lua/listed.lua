-- KEYS: the hashes of the conversations to read
-- ARGV: the field names to read of each
-- What a list shows of many conversations, in one call: those fields of each hash, in order (nil where a
-- field or the whole hash is missing). It only reads: one command to send and few values to parse, where
-- a pipeline of HGETALLs costs the desk more in parsing whole hashes than Redis spends answering.
local found = {}
for i, key in ipairs(KEYS) do
  found[i] = redis.call('HMGET', key, unpack(ARGV))
end
return found
