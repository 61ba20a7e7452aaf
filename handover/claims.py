"""Claiming, resolving and releasing conversations: atomic in Redis, so two agents never hold the same one."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from handover import keys, kpis
from handover.agents import Agent, Presence
from handover.conversation import BotState, Conversation, ConversationState
from handover.enqueue import queue_sends, reply, text_request
from handover.errors import Conflict, Invalid, NotFound, NotYours, Unavailable, WindowClosed
from handover.events import EventType, publish
from handover.message import Button, OutboundKind, OutboundRequest
from handover.queues import PRIORITY_SPAN
from handover.rules.loader import LoadedRules
from handover.store import Store

# Capacity check, best head across the agent's queues (lowest score: priority, then age), removal from the
# queue, assignment and the wait sample: one script, so concurrent claims can never share a conversation.
CLAIM_LUA = (
    kpis.BUMP_LUA
    + """
-- KEYS: agent load set, counters, this hour's KPIs; ARGV: agent id, capacity, now, prefix, span, queues...
local load, prefix, span = KEYS[1], ARGV[4], tonumber(ARGV[5])
if redis.call('SCARD', load) >= tonumber(ARGV[2]) then return {'full'} end
local best, best_queue, best_score = nil, nil, nil
for i = 6, #ARGV do
  local head = redis.call('ZRANGE', prefix .. 'queue:' .. ARGV[i], 0, 0, 'WITHSCORES')
  if head[1] and (best_score == nil or tonumber(head[2]) < best_score) then
    best, best_queue, best_score = head[1], ARGV[i], tonumber(head[2])
  end
end
if not best then return {'empty'} end
redis.call('ZREM', prefix .. 'queue:' .. best_queue, best)
local conv = prefix .. 'conv:' .. best
redis.call('HSET', conv, 'state', 'assigned', 'agent_id', ARGV[1], 'assigned_at', ARGV[3])
redis.call('SADD', load, best)
local waited = tonumber(ARGV[3]) - (best_score % span) / 1000
local waits = prefix .. 'queue:' .. best_queue .. ':waits'
redis.call('LPUSH', waits, string.format('%.3f', waited))
redis.call('LTRIM', waits, 0, 99)
bump(KEYS[2], KEYS[3], 'claimed', 1)
bump(KEYS[2], KEYS[3], 'queue_wait_seconds_sum', string.format('%.3f', math.max(0, waited)))
bump(KEYS[2], KEYS[3], 'queue_wait_seconds_count', 1)
return {'claimed', best, best_queue}
"""
)

# Leave an agent's hands: only from `assigned`, only by the agent who holds it.
FINISH_LUA = (
    kpis.BUMP_LUA
    + """
-- KEYS: conversation, agent load set, counters, this hour's KPIs; ARGV: agent id, new state, now, bot json
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'not_found' end
if state ~= 'assigned' then return 'state:' .. state end
if redis.call('HGET', KEYS[1], 'agent_id') ~= ARGV[1] then return 'not_yours' end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'updated_at', ARGV[3])
if ARGV[2] == 'resolved' then
  redis.call('HSET', KEYS[1], 'resolved_at', ARGV[3])
  local mine = 'agent:' .. ARGV[1] .. ':'
  bump(KEYS[3], KEYS[4], 'resolved', 1)
  bump_hour(KEYS[4], mine .. 'resolved', 1)
  local since = tonumber(redis.call('HGET', KEYS[1], 'assigned_at'))
  if since then
    local held = string.format('%.3f', math.max(0, tonumber(ARGV[3]) - since))
    bump(KEYS[3], KEYS[4], 'handle_seconds_sum', held)
    bump(KEYS[3], KEYS[4], 'handle_seconds_count', 1)
    bump_hour(KEYS[4], mine .. 'handle_seconds_sum', held)
    bump_hour(KEYS[4], mine .. 'handle_seconds_count', 1)
  end
end
if ARGV[2] == 'bot' then
  bump(KEYS[3], KEYS[4], 'released', 1)
  redis.call('HDEL', KEYS[1], 'agent_id', 'assigned_at', 'queue', 'priority')
  redis.call('HSET', KEYS[1], 'bot', ARGV[4])
end
redis.call('SREM', KEYS[2], redis.call('HGET', KEYS[1], 'id'))
return 'ok'
"""
)


class Assignments:
    """The agent-side services; the desk API calls these and nothing else."""

    def __init__(self, store: Store, partitions: int, rules: Callable[[], LoadedRules] | None = None) -> None:
        self.store = store
        self.rules = rules
        self.client: redis.Redis = store.client
        self.partitions = partitions
        self._claim = self.client.register_script(CLAIM_LUA)
        self._finish = self.client.register_script(FINISH_LUA)

    def claim_next(self, agent: Agent, now: float | None = None) -> Conversation | None:
        """The best waiting conversation across the agent's queues, now theirs; None when nothing waits."""
        if agent.status is not Presence.AVAILABLE:
            raise Unavailable("set your status to available to take conversations")
        now = time.time() if now is None else now
        result = [
            keys.as_text(x)
            for x in self._claim(
                keys=[keys.agent_load_key(agent.id), keys.COUNTERS, kpis.hour_key(now)],
                args=[agent.id, agent.capacity, now, keys.PREFIX, PRIORITY_SPAN, *agent.queues],
            )
        ]
        if result[0] == "full":
            raise Conflict(f"at capacity ({agent.capacity} conversations)")
        if result[0] == "empty":
            return None
        self._announce("assigned", result[1], agent.id, result[2])
        return self.store.conversation(result[1])

    def conversation_for(self, agent: Agent, conversation_id: str) -> Conversation:
        """A conversation the agent may see: theirs, or waiting in one of their queues; supervisors: all."""
        conversation = self.store.conversation(conversation_id)
        if conversation is None:
            raise NotFound(conversation_id)
        if agent.is_supervisor or agent.id in (conversation.agent_id, conversation.offer_to):
            return conversation
        if conversation.state == ConversationState.QUEUED and conversation.queue in agent.queues:
            return conversation
        raise NotYours(conversation_id)

    def send(self, agent: Agent, conversation_id: str, text: str, now: float | None = None) -> str:
        """An agent's reply, through the outbound worker; refused when the 24-hour window has closed."""
        now = time.time() if now is None else now
        conversation = self._held(agent, conversation_id)
        if not conversation.is_window_open(now):
            raise WindowClosed(
                "more than 24 hours since the customer last wrote: send an approved template instead "
                f"(POST /api/v1/conversations/{conversation_id}/template; GET /api/v1/templates lists them)"
            )
        return self._queue_reply(agent, conversation, text_request(conversation, text), now)

    def send_template(
        self,
        agent: Agent,
        conversation_id: str,
        name: str,
        language: str,
        params: list[str],
        now: float | None = None,
    ) -> str:
        """An approved template from the rules file: allowed in or out of the 24-hour window."""
        now = time.time() if now is None else now
        conversation = self._held(agent, conversation_id)
        templates = self.rules().rules.templates if self.rules is not None else {}
        template = templates.get(name)
        if template is None:
            known = ", ".join(sorted(templates)) or "none in the rules file"
            raise Invalid(f"unknown template {name!r} (known: {known})")
        if language not in template.languages:
            raise Invalid(
                f"template {name!r} has no {language!r} text (has: {', '.join(template.languages)})"
            )
        if len(params) != template.params(language):
            raise Invalid(
                f"template {name!r} takes {template.params(language)} parameters, got {len(params)}"
            )
        request = OutboundRequest(
            kind=OutboundKind.TEMPLATE,
            phone_number_id=conversation.phone_number_id,
            to=conversation.address,
            text=template.render(language, params),  # what the agent and the transcript read
            template_name=name,
            template_language=language,
            template_params=params,
        )
        return self._queue_reply(agent, conversation, request, now)

    def _queue_reply(
        self, agent: Agent, conversation: Conversation, request: OutboundRequest, now: float
    ) -> str:
        entry, job = reply(conversation, request, f"agent:{agent.id}", now, self.partitions)
        with self.client.pipeline(transaction=True) as pipe:
            key = keys.conversation_key(conversation.id)
            pipe.hincrby(key, "messages_out", 1)
            if (
                conversation.assigned_at is not None
                and (conversation.answered_at or 0) < conversation.assigned_at
            ):
                # this agent's first reply since it became theirs
                pipe.hset(key, "answered_at", str(now))
                Store.count_seconds(pipe, "agent_first_reply_seconds", now - conversation.assigned_at)
            self.store.append_entry(pipe, conversation.id, entry)
            queue_sends(pipe, [job])
            pipe.execute()
        return entry.id

    def resolve(self, agent: Agent, conversation_id: str, now: float | None = None) -> None:
        """Close it, and ask the customer how it went (the rules' `csat` survey) while the window is open."""
        now = time.time() if now is None else now
        self._leave(agent, conversation_id, ConversationState.RESOLVED, now)
        self._announce("closed", conversation_id, agent.id, None)
        self._ask_csat(conversation_id, now)

    def _ask_csat(self, conversation_id: str, now: float) -> None:
        rules = self.rules().rules if self.rules is not None else None
        csat = rules.csat if rules is not None else None
        conversation = self.store.conversation(conversation_id)
        if rules is None or csat is None or conversation is None or not conversation.is_window_open(now):
            return
        language = conversation.bot.language or rules.default_language

        def local(texts: dict[str, str]) -> str:
            return texts.get(language) or texts[rules.default_language]

        request = OutboundRequest(
            kind=OutboundKind.BUTTONS,
            phone_number_id=conversation.phone_number_id,
            to=conversation.address,
            text=local(csat.question),
            buttons=[Button(id=o.id, title=local(o.title)) for o in csat.options],
        )
        entry, job = reply(conversation, request, "system", now, self.partitions)
        with self.client.pipeline(transaction=True) as pipe:
            key = keys.conversation_key(conversation_id)
            pipe.hset(key, "csat_asked_at", str(now))
            pipe.hincrby(key, "messages_out", 1)
            self.store.append_entry(pipe, conversation_id, entry)
            queue_sends(pipe, [job])
            pipe.execute()

    def release_to_bot(self, agent: Agent, conversation_id: str, now: float | None = None) -> None:
        """Back to the bot: its memory of the conversation starts afresh; the history and identity stay."""
        self._leave(agent, conversation_id, ConversationState.BOT, now)
        self._announce("released", conversation_id, agent.id, None)

    def _announce(self, kind: EventType, conversation_id: str, agent_id: str, queue: str | None) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            publish(pipe, kind, conversation_id, agent_id=agent_id, queue=queue)
            pipe.execute()

    def _held(self, agent: Agent, conversation_id: str) -> Conversation:
        conversation = self.store.conversation(conversation_id)
        if conversation is None:
            raise NotFound(conversation_id)
        if conversation.agent_id != agent.id:
            raise NotYours(conversation_id)
        if conversation.state not in (ConversationState.ASSIGNED, ConversationState.TRANSFERRING):
            raise Conflict(
                f"conversation is {conversation.state}"
            )  # an offer pending: still theirs to answer
        return conversation

    def _leave(self, agent: Agent, conversation_id: str, state: ConversationState, now: float | None) -> None:
        now = time.time() if now is None else now
        bot = BotState().model_dump_json() if state == ConversationState.BOT else ""
        outcome = keys.as_text(
            self._finish(
                keys=[
                    keys.conversation_key(conversation_id),
                    keys.agent_load_key(agent.id),
                    keys.COUNTERS,
                    kpis.hour_key(now),
                ],
                args=[agent.id, state.value, now, bot],
            )
        )
        if outcome == "not_found":
            raise NotFound(conversation_id)
        if outcome == "not_yours":
            raise NotYours(conversation_id)
        if outcome != "ok":
            raise Conflict(f"conversation is {outcome.removeprefix('state:')}")
