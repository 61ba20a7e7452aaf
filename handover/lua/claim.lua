-- KEYS: the agent's load set, the agent's pending offers, counters, this hour's KPIs, desk events, then the
--       agent's Q queues, then each queue's recent waits list (same order), then the conversation hash of
--       each candidate (ARGV 8...), then the activity index keys (activity.claim_keys: waiting, held, the
--       agent's, each queue's)
-- ARGV: agent id, capacity, now, priority span, desk events kept, Q, the prefix of the agent's own KPI
--       fields, then each queue's sla_seconds ('' for none), then each queue's KPI field prefix (both in
--       the order of the queues), then the candidate conversation ids (the first few of each queue, as
--       read just before: the script takes the best only if it is one)
-- MOVES: queued -> assigned
-- USES: bump, activity, take
-- Capacity check, the best head across the agent's queues (lowest score: priority, then age), removal from
-- its queue, assignment, the wait sample, the counters and the desk event: one script, so two agents never
-- share a conversation and nobody goes past capacity. Returns {'full'}, {'empty'}, {'retry'} (the queues
-- changed since the candidates were read) or {'claimed', id, queue index}.
local load, offers, counters, hour, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local agent, now, span, q = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
-- what they were offered (push queues) and have not answered yet holds a place too
if redis.call('SCARD', load) + redis.call('SCARD', offers) >= tonumber(ARGV[2]) then return {'full'} end
local best, best_i, best_score = nil, nil, nil
for i = 1, q do
  local head = redis.call('ZRANGE', KEYS[5 + i], 0, 0, 'WITHSCORES')
  if head[1] and (best_score == nil or tonumber(head[2]) < best_score) then
    best, best_i, best_score = head[1], i, tonumber(head[2])
  end
end
if not best then return {'empty'} end
local first = 8 + 2 * q  -- the first candidate's ARGV
local conv = nil
for j = first, #ARGV do
  if ARGV[j] == best then conv = KEYS[5 + 2 * q + (j - first + 1)] end
end
if not conv then return {'retry'} end
if redis.call('HGET', conv, 'state') ~= 'queued' then
  -- not waiting any more (or gone): it has no place in a queue
  redis.call('ZREM', KEYS[5 + best_i], best)
  return {'retry'}
end
redis.call('ZREM', KEYS[5 + best_i], best)
local act = 5 + 2 * q + (#ARGV - first + 1)
take({conv = conv, id = best, agent = agent, now = ARGV[3], load = load, waits = KEYS[5 + q + best_i],
  score = best_score, span = span, counters = counters, hour = hour, events = events, kept = ARGV[5],
  queue = redis.call('HGET', conv, 'queue') or '', mine = ARGV[7],
  sla = tonumber(ARGV[7 + best_i]), qmine = ARGV[7 + q + best_i],
  gone = {KEYS[act + 1], KEYS[act + 3 + best_i]}, held = {KEYS[act + 2], KEYS[act + 3]}})
return {'claimed', best, best_i}
