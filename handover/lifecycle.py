"""The one place a conversation changes state.

Every change is checked against the state machine (`Conversation.move_to`, handover/conversation.py) and
written together with what follows from it: who holds it (the agents' load sets), where it waits (the
queues), its desk event and its counters, in one Lua call or one MULTI:

- `claim` and `finish` are scripts (handover/lua/claim.lua, finish.lua) that check the state they start
  from inside Redis, so a lost race is a `Conflict` (409), never a double assignment;
- `move` queues a change on a transaction whose caller WATCHes the conversation (transfers, warm offers,
  abandonment): the state it read is the state the change starts from, or the transaction fails;
- the webhook's batches change state in memory with `Conversation.move_to` and write the result under
  their partition's lease (handover/traffic/processing.py): the same table of allowed moves.

No other module writes a conversation's `state` (tests/unit/test_lifecycle_owner.py checks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import redis
from redis.client import Pipeline

from handover import activity, keys, kpis, lua
from handover.assignment.queues import PRIORITY_SPAN, best_heads, enqueue
from handover.clock import Clock, system_clock
from handover.conversation import BotState, Conversation, ConversationState
from handover.errors import Conflict, NotFound, NotYours
from handover.events import publish
from handover.keys import DESK_EVENTS_KEPT as EVENTS_KEPT

# the words a change is described with live in handover/moves.py; re-exported here, where they are used
from handover.moves import KEEP as KEEP
from handover.moves import Claimed as Claimed
from handover.moves import Decided as Decided
from handover.moves import Event as Event
from handover.moves import Place as Place
from handover.moves import _Keep
from handover.rules.model import Priority
from handover.store import Store

Slas = Mapping[str, int | None]
CANDIDATES = 5  # per queue: how many of its first entries a claim offers the script to choose from
CLAIM_ATTEMPTS = 20  # each retry means another agent took a candidate meanwhile: the queue moved


# the hash fields of an offer made by the assigner (a warm transfer's are in handover/warm.py)
PUSH_OFFER_FIELDS = ("offer_to", "offer_expires_at", "offer_score")


class Lifecycle:
    def __init__(
        self, client: redis.Redis, clock: Clock = system_clock, slas: Callable[[str], Slas] | None = None
    ) -> None:
        self.client = client
        self.clock = clock
        # each queue's sla_seconds, by the rules of the number given: the service level
        self.slas: Callable[[str], Slas] = slas or (lambda number: {})
        self._claim = lua.script(client, "claim")
        self._finish = lua.script(client, "finish")
        self._assign = lua.script(client, "assign")
        self._accept = lua.script(client, "accept_offer")
        self._withdraw = lua.script(client, "withdraw_offer")

    def claim(self, agent_id: str, capacity: int, queues: list[tuple[str, str]]) -> Claimed | None:
        """The best waiting conversation across `queues` ((number, queue) pairs: the queues of the numbers
        the agent serves), now the agent's; None when nothing waits. Raises Conflict at capacity.

        One script call takes from one number's queues only (no call touches two numbers' queues: each
        number's keys can live in a slot of their own): the number whose best head is best, as read just
        before; if that moved meanwhile, the heads are read again."""
        now = self.clock()
        slas = {number: self.slas(number) for number in dict.fromkeys(n for n, _ in queues)}
        everyone = queues
        for _ in range(CLAIM_ATTEMPTS):
            queues, candidates = best_heads(self.client, everyone, CANDIDATES)
            if not queues:
                return None
            result = [
                keys.as_text(x)
                for x in self._claim(
                    keys=[
                        keys.agent_load_key(agent_id),
                        keys.agent_offers_key(agent_id),
                        keys.COUNTERS,
                        kpis.hour_key(now),
                        keys.DESK_EVENTS,
                        *(keys.queue_key(n, q) for n, q in queues),
                        *(keys.queue_waits_key(n, q) for n, q in queues),
                        *(keys.conversation_key(c) for c in candidates),
                        *activity.claim_keys(agent_id, queues),
                    ],
                    args=[
                        agent_id,
                        capacity,
                        now,
                        PRIORITY_SPAN,
                        EVENTS_KEPT,
                        len(queues),
                        kpis.agent_prefix(agent_id),
                        *(kpis.sla_arg(slas[n].get(q)) for n, q in queues),
                        *(kpis.queue_prefix(q) for _, q in queues),
                        *candidates,
                    ],
                )
            ]
            if result[0] == "full":
                raise Conflict(f"at capacity ({capacity} conversations)")
            if result[0] == "empty" and queues == everyone:
                return None  # (one number's emptied since its heads were read: they are read again)
            if result[0] == "claimed":
                return Claimed(result[1], queues[int(result[2]) - 1][1])
        raise Conflict("others are taking conversations from these queues right now: try again")

    def assign(
        self,
        conversation_id: str,
        number: str,
        queue: str,
        agent_id: str,
        capacity: int,
        offer_timeout: float,
        now: float,
    ) -> Decided:
        """One push decision (handover/assignment/push.py makes them): the conversation waiting in `number`'s
        `queue` is
        the agent's at once (`offer_timeout` 0) or offered to them until the timeout, if both still hold
        where it is written (handover/lua/assign.lua)."""
        result = self._assign(
            keys=[
                keys.conversation_key(conversation_id),
                keys.queue_key(number, queue),
                keys.agent_key(agent_id),
                keys.agent_load_key(agent_id),
                keys.agent_offers_key(agent_id),
                keys.skip_key(conversation_id),
                keys.PUSH_OFFERS,
                keys.ROUTING_LAST,
                keys.assigned_today_key(int(now // 86400)),
                keys.COUNTERS,
                kpis.hour_key(now),
                keys.DESK_EVENTS,
                keys.queue_waits_key(number, queue),
                *activity.take_keys(agent_id, number, queue),
            ],
            args=[
                conversation_id,
                agent_id,
                capacity,
                now,
                offer_timeout,
                EVENTS_KEPT,
                PRIORITY_SPAN,
                queue,
                kpis.agent_prefix(agent_id),
                kpis.sla_arg(self.slas(number).get(queue)),
                kpis.queue_prefix(queue),
            ],
        )
        return Decided(keys.as_text(result[0]))

    def accept_offer(self, agent_id: str, capacity: int, conversation_id: str, now: float) -> None:
        """The agent takes what the assigner offered them. Raises NotFound, NotYours (not offered to them
        or not any more), Conflict (expired, or at capacity)."""
        number, queue = self._where(conversation_id)
        outcome = keys.as_text(
            self._accept(
                keys=[
                    keys.conversation_key(conversation_id),
                    keys.PUSH_OFFERS,
                    keys.agent_offers_key(agent_id),
                    keys.agent_load_key(agent_id),
                    keys.skip_key(conversation_id),
                    keys.ROUTING_MISSED,
                    keys.COUNTERS,
                    kpis.hour_key(now),
                    keys.DESK_EVENTS,
                    keys.queue_waits_key(number, queue),
                    *activity.take_keys(agent_id, number, queue),
                ],
                args=[
                    conversation_id,
                    agent_id,
                    capacity,
                    now,
                    EVENTS_KEPT,
                    PRIORITY_SPAN,
                    kpis.agent_prefix(agent_id),
                    kpis.sla_arg(self.slas(number).get(queue)),
                    kpis.queue_prefix(queue) if queue else "",
                ],
            )[0]
        )
        if outcome == "not_found":
            raise NotFound(conversation_id)
        if outcome == "not_offered":
            raise NotYours(conversation_id)
        if outcome == "expired":
            raise Conflict("the offer expired: it went on to the next agent")
        if outcome == "full":
            raise Conflict(f"at capacity ({capacity} conversations)")

    def withdraw_offer(
        self, conversation_id: str, agent_id: str, why: str, away_after: int, now: float
    ) -> tuple[bool, bool]:
        """An offer ends unaccepted (`why`: declined, timeout, unavailable): back to its place in the queue,
        the agent skipped for it. Returns (withdrawn, the agent was set away for missing offers)."""
        conversation = keys.conversation_key(conversation_id)
        number, queue = self._where(conversation_id)
        result = self._withdraw(
            keys=[
                conversation,
                keys.queue_key(number, queue),
                keys.PUSH_OFFERS,
                keys.agent_offers_key(agent_id),
                keys.skip_key(conversation_id),
                keys.agent_key(agent_id),
                keys.ROUTING_MISSED,
                keys.COUNTERS,
                kpis.hour_key(now),
                keys.DESK_EVENTS,
            ],
            args=[conversation_id, agent_id, why, now, EVENTS_KEPT, away_after, kpis.agent_prefix(agent_id)],
        )
        done = keys.as_text(result[0]) == "withdrawn"
        return done, done and int(result[1]) == 1

    def _where(self, conversation_id: str) -> tuple[str, str]:
        """The business number and queue a conversation waits in ('' for what it lacks; the scripts check
        again that it is still there)."""
        number, queue = self.client.hmget(
            keys.conversation_key(conversation_id), ["phone_number_id", "queue"]
        )
        return keys.as_text(number or ""), keys.as_text(queue or "")

    def finish(
        self,
        agent_id: str,
        conversation_id: str,
        to: ConversationState,
        expect: Mapping[str, str] | None = None,
    ) -> None:
        """Out of the agent's hands: resolved (counted with the transfers its packet holds), or back to
        the bot (whose memory starts afresh). `expect`: fields of the conversation that must still hold
        these values ('' for absent), else Conflict and nothing changes."""
        if to not in (ConversationState.RESOLVED, ConversationState.BOT):
            raise ValueError(f"finish goes to resolved or bot, not {to}")
        now = self.clock()
        bot = BotState().model_dump_json() if to == ConversationState.BOT else ""
        queue = keys.as_text(self.client.hget(keys.conversation_key(conversation_id), "queue") or "")
        outcome = [
            keys.as_text(x)
            for x in self._finish(
                keys=[
                    keys.conversation_key(conversation_id),
                    keys.agent_load_key(agent_id),
                    keys.COUNTERS,
                    kpis.hour_key(now),
                    keys.DESK_EVENTS,
                    *activity.finish_keys(agent_id),
                    keys.fcr_hour_key(int(now // 3600)),
                ],
                args=[
                    agent_id,
                    to.value,
                    now,
                    bot,
                    EVENTS_KEPT,
                    conversation_id,
                    kpis.agent_prefix(agent_id),
                    kpis.queue_prefix(queue) if queue else "",
                    kpis.transfers_field(kpis.transfers_of(self.client, conversation_id)),
                    *(part for pair in (expect or {}).items() for part in pair),
                ],
            )
        ]
        if outcome[0] == "not_found":
            raise NotFound(conversation_id)
        if outcome[0] == "not_yours":
            raise NotYours(conversation_id)
        if outcome[0] == "changed":
            raise Conflict(f"conversation changed meanwhile ({outcome[1]})")
        if outcome[0] != "ok":
            raise Conflict(f"conversation is {outcome[1]}")

    def move(
        self,
        pipe: Pipeline,
        conversation: Conversation,
        to: ConversationState,
        now: float,
        *,
        holder: str | _Keep | None = KEEP,
        queue: str | None = None,
        priority: Priority | None = None,
        waiting_since: float | None = None,
        fields: Mapping[str, str] | None = None,
        drop: Iterable[str] = (),
        events: Iterable[Event] = (),
        count: Iterable[str] = (),
    ) -> None:
        """Queue a checked change on the caller's transaction (which WATCHes the conversation).

        `holder`: the agent holding it after the move (None: nobody; KEEP: as before). `queue`, `priority`
        and `waiting_since`: where it waits after a move to `queued` (ahead of those who asked later).
        An agent who becomes the holder is announced (`assigned`) here, and only here."""
        before = Place.of(conversation)
        conversation.move_to(to, now)  # IllegalMove (409) if the state machine does not allow it
        dropped = list(drop)
        if before.offered_to is not None:  # moved while offered: the offer ends with the move
            conversation.offer_to = conversation.offer_expires_at = None
            dropped += PUSH_OFFER_FIELDS
        if not isinstance(holder, _Keep):
            conversation.agent_id = holder
        conversation.queue = queue or conversation.queue
        conversation.priority = priority.value if priority is not None else conversation.priority
        key = keys.conversation_key(conversation.id)
        mapping = {"state": to.value, "updated_at": str(now), **(fields or {})}
        if conversation.agent_id is None:
            dropped += ["agent_id", "assigned_at"]
        elif conversation.agent_id != before.agent_id:
            mapping |= {"agent_id": conversation.agent_id, "assigned_at": str(now)}
        if queue is not None:
            mapping["queue"] = queue
        if priority is not None:
            mapping["priority"] = priority.value
        if to == ConversationState.TRANSFERRING:
            if "offer_expires_at" not in mapping:
                raise ValueError("a warm transfer offer says when it expires")
            conversation.offer_expires_at = float(mapping["offer_expires_at"])
        pipe.hset(key, mapping=mapping)
        if dropped:
            pipe.hdel(key, *dropped)
        for event in events:
            publish(
                pipe, event.kind, conversation.id, agent_id=event.agent_id, queue=event.queue, **event.data
            )
        self.follow(pipe, before, conversation, now if waiting_since is None else waiting_since)
        for name in count:
            Store.count(pipe, name, at=now)

    @staticmethod
    def follow(pipe: Pipeline, before: Place, after: Conversation, waiting_since: float) -> None:
        """What follows from a change of state or holder, whoever wrote the fields: the holders' load
        sets, the queues, the offers index, the desk's activity index, and `assigned` when someone new holds
        it (announced here only)."""
        activity.touch(pipe, after.id, before, Place.of(after), after.updated_at)
        holder = Place.of(after).agent_id
        if before.agent_id and before.agent_id != holder:
            pipe.srem(keys.agent_load_key(before.agent_id), after.id)
        if holder and holder != before.agent_id:
            pipe.sadd(keys.agent_load_key(holder), after.id)
            publish(pipe, "assigned", after.id, agent_id=holder, queue=after.queue)
        if before.state == ConversationState.QUEUED and before.queue:
            # a conversation's number never changes: its queues are all of that number
            pipe.zrem(keys.queue_key(after.phone_number_id, before.queue), after.id)
        if after.state == ConversationState.QUEUED:
            if after.queue is None:
                raise ValueError("a conversation waits in a queue: name it")
            priority = Priority(after.priority or "normal")
            enqueue(pipe, after.phone_number_id, after.queue, after.id, priority, waiting_since)
        if before.offered_to is not None and (Place.of(after).offered_to != before.offered_to):
            pipe.srem(keys.agent_offers_key(before.offered_to), after.id)
            pipe.zrem(keys.PUSH_OFFERS, after.id)
        if before.state == ConversationState.TRANSFERRING and after.state != ConversationState.TRANSFERRING:
            pipe.zrem(keys.OFFERS, after.id)
        if after.state == ConversationState.TRANSFERRING and after.offer_expires_at is not None:
            pipe.zadd(keys.OFFERS, {after.id: after.offer_expires_at})

    def let_go(self, agent_id: str, conversation_id: str) -> None:
        """Repair: a conversation in an agent's load set that is not theirs to hold any more."""
        self.client.srem(keys.agent_load_key(agent_id), conversation_id)

    @staticmethod
    def forget_offer(pipe: Pipeline, conversation_id: str) -> None:
        """An expiring offer whose conversation has moved on already: only its index entry is left."""
        pipe.zrem(keys.OFFERS, conversation_id)
