-- The desk's activity index (handover/activity.py `touch`, the same rule): a conversation leaves the index
-- keys of where it was (`gone`) and is filed under those of where it is now (`kept`) at its latest change.
local function activity_touch(gone, kept, id, at)
  for _, key in ipairs(gone) do redis.call('ZREM', key, id) end
  for _, key in ipairs(kept) do redis.call('ZADD', key, at, id) end
end
