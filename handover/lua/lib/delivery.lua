-- Read-modify-write of a delivery record, forward-only; shared by the status and send scripts.
-- RANK is DeliveryStatus.rank and EVENTS_KEPT keys.DESK_EVENTS_KEPT (tests/unit/test_lua_registry.py).
local RANK = {pending = 0, sent = 1, failed = 2, delivered = 3, read = 4, played = 5}
local EVENTS_KEPT = 10000
local function advance(d, status, at, code, title)
  if (RANK[d.status] or 0) >= (RANK[status] or 0) then return false end
  d.status = status
  d.updated_at = at
  if code and code ~= '' then d.error_code = tonumber(code); d.error_title = title end
  return true
end
-- An agent holding the conversation sees the tick move: a desk event (see handover/events.py), only for
-- conversations someone holds, so the bot's own traffic never floods the stream.
local function publish_status(conv_key, events, conv, entry, d)
  local agent = redis.call('HGET', conv_key, 'agent_id')
  if not agent or agent == '' then return end
  local data = {entry_id = entry, status = d.status, error_code = d.error_code, error_title = d.error_title}
  redis.call('XADD', events, 'MAXLEN', '~', EVENTS_KEPT, '*', 'type', 'message_status',
    'conversation_id', conv, 'agent_id', agent, 'queue', '', 'data', cjson.encode(data))
end
local function load(dkey, entry)
  local cur = redis.call('HGET', dkey, entry)
  if cur then return cjson.decode(cur) end
  return {status = 'pending', attempts = 0}
end
