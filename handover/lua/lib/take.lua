-- A waiting conversation becomes an agent's (needs lib/bump.lua and lib/activity.lua before it): its state and holder, the
-- agent's load set, the wait it had (from its queue score: priority band, then milliseconds since the
-- epoch), the counters (overall and the agent's own), and the desk event `assigned`. Pull claims, push
-- assignments and accepted offers all end here, so they count and announce alike.
-- t: {conv, id, agent, now, load, waits, score, span, counters, hour, events, kept, queue, mine (the
-- prefix of the agent's own KPI fields), qmine (the prefix of its queue's, '' for none), sla (the queue's
-- sla_seconds, nil for none), gone (its waiting activity index keys), held (its held ones)}
-- Per queue: taken (`claimed`) and its wait, and whether it was taken within the queue's SLA (`sla_met` or
-- `sla_missed`, also per queue in the counters for /metrics): the service level (handover/kpireport.py).
local function take(t)
  redis.call('HSET', t.conv, 'state', 'assigned', 'agent_id', t.agent, 'assigned_at', t.now, 'updated_at', t.now)
  redis.call('SADD', t.load, t.id)
  activity_touch(t.gone, t.held, t.id, t.now)
  local began = (t.score % t.span) / 1000
  local waited = tonumber(t.now) - began
  -- `waited began band`: the wait estimate keeps those that began and ended in business hours, of its
  -- priority band, and counts who stood ahead (handover/waits.py; 200 kept: waits.WAITS_KEPT)
  redis.call('LPUSH', t.waits, string.format('%.3f %.3f %d', waited, began, math.floor(t.score / t.span)))
  redis.call('LTRIM', t.waits, 0, 199)
  bump(t.counters, t.hour, 'claimed', 1)
  bump(t.counters, t.hour, 'queue_wait_seconds_sum', string.format('%.3f', math.max(0, waited)))
  bump(t.counters, t.hour, 'queue_wait_seconds_count', 1)
  bump_hour(t.hour, t.mine .. 'assigned', 1)
  if t.qmine ~= '' then
    bump_hour(t.hour, t.qmine .. 'claimed', 1)
    bump_hour(t.hour, t.qmine .. 'queue_wait_seconds_sum', string.format('%.3f', math.max(0, waited)))
    bump_hour(t.hour, t.qmine .. 'queue_wait_seconds_count', 1)
  end
  if t.sla then
    local within = 'sla_missed'
    if waited <= t.sla then within = 'sla_met' end
    bump(t.counters, t.hour, within, 1)
    if t.qmine ~= '' then bump(t.counters, t.hour, t.qmine .. within, 1) end
  end
  redis.call('XADD', t.events, 'MAXLEN', '~', t.kept, '*', 'type', 'assigned', 'conversation_id', t.id,
    'agent_id', t.agent, 'queue', t.queue, 'data', '{}')
  return waited
end
