"""The periodic sweep of the clocks on held conversations (handover/clocks.py says when each is due):
a customer waiting too long for the agent's answer is flagged `agent_silent` once a stretch, then, on a
queue with `on_agent_silence: requeue`, goes back to the queue for someone else; a customer who stopped
answering the agent is reminded once, then the conversation is resolved (reason `customer_idle`).

It reads the desk's index of held conversations (keys.ACTIVITY_HELD) and a few fields of each in one round
trip; only the due ones are loaded and changed, each under a WATCH, so an agent who answers meanwhile wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis
import structlog

from handover import clocks, keys, kpis
from handover.agents import AgentStore, UnknownAgent
from handover.assignment.claims import Assignments
from handover.clock import Clock, system_clock
from handover.clocks import Due
from handover.conversation import Conversation, ConversationState
from handover.errors import Conflict, NotFound, NotYours
from handover.events import publish
from handover.lifecycle import Lifecycle
from handover.rules.loader import LoadedRules
from handover.rules.texts import render, tidy
from handover.store import Store
from handover.traffic.enqueue import reply, text_request
from handover.transfers import Transfers

log = structlog.get_logger(__name__)

SILENT = "agent_silent"  # the reason a silent agent's conversation went back (packet, `transferred` event)
IDLE = "customer_idle"  # the reason a quiet customer's conversation was resolved (`closed` event)


@dataclass
class _Fields:
    """The few fields of a held conversation the clocks read (handover/clocks.py Clocked)."""

    id: str
    state: ConversationState
    queue: str | None
    agent_id: str | None
    number: str | None = None  # the business number, whose rules hold the queue's clocks
    assigned_at: float | None = None
    answered_at: float | None = None
    resolved_at: float | None = None
    customer_waiting_since: float | None = None
    agent_replied_at: float | None = None
    agent_silent_since: float | None = None
    idle_reminded_at: float | None = None

    @classmethod
    def of(cls, conversation_id: str, raw: list[str | None]) -> _Fields | None:
        values = dict(zip(_READ, raw, strict=True))
        if values["state"] is None:
            return None
        times = {k: float(v) for k, v in values.items() if v is not None and k.endswith(_TIMES)}
        return cls(
            id=conversation_id,
            state=ConversationState(values["state"]),
            queue=values["queue"],
            agent_id=values["agent_id"],
            number=values["phone_number_id"],
            **times,
        )


_TIMES = ("_at", "_since")
_READ = (*clocks.CLOCK_FIELDS, "phone_number_id")


@dataclass
class ClockWatch:
    """The sweep, with the services it acts through: the desk's (resolve, survey), transfers (requeue)."""

    store: Store
    rules: Callable[..., LoadedRules]  # by number: each conversation's clocks are its number's rules'
    partitions: int
    clock: Clock = system_clock

    def __post_init__(self) -> None:
        self.agents = AgentStore(self.store.client)
        self.assignments = Assignments(self.store, self.partitions, self.rules, clock=self.clock)
        self.transfers = Transfers(self.store, self.agents, self.rules, self.partitions, clock=self.clock)
        self.lifecycle = Lifecycle(self.store.client, self.clock)

    def sweep(self) -> dict[str, int]:
        """Act on every clock due at `now`; returns how many of each kind (alert, requeue, remind, close)."""
        now = self.clock()
        done = {d.value: 0 for d in Due}
        if not self._any_clocks():
            return done
        for fields in self._held():
            rules = self.rules(fields.number).rules
            queue = rules.queues.get(fields.queue or "")
            if queue is None:
                continue
            found = clocks.due(fields, queue, clocks.queue_hours(rules, queue), now)
            if found is not None and self._act(fields.id, found[0], now):
                done[found[0].value] += 1
        return done

    def _held(self) -> list[_Fields]:
        ids = [keys.as_text(c) for c in self.store.client.zrange(keys.ACTIVITY_HELD, 0, -1)]
        with self.store.client.pipeline(transaction=False) as pipe:
            for conversation_id in ids:
                pipe.hmget(keys.conversation_key(conversation_id), list(_READ))
            found = pipe.execute()
        read = (_Fields.of(c, [keys.as_text(v) for v in raw]) for c, raw in zip(ids, found, strict=True))
        return [f for f in read if f is not None]

    def _act(self, conversation_id: str, due: Due, now: float) -> bool:
        """One due clock, checked again on the conversation as it is now; False when nothing was done."""
        try:
            if due is Due.ALERT:
                return self._alert(conversation_id, now) is not None
            if due is Due.REQUEUE:
                return self._requeue(conversation_id, now)
            if due is Due.REMIND:
                return self._remind(conversation_id, now)
            return self._close(conversation_id, now)
        except (Conflict, NotFound, NotYours, redis.WatchError):
            return False  # changed meanwhile (an answer, a move): the next sweep looks again

    def _any_clocks(self) -> bool:
        """Some number's rules have a clock: else the sweep reads nothing."""
        holders = getattr(self.rules, "holders", None)  # a Rulebook: every number's; a holder: its own
        every = [h() for h in holders().values()] if holders is not None else [self.rules()]
        return any(clocks.has_clocks(loaded.rules) for loaded in every)

    def _due_now(self, conversation: Conversation, now: float) -> tuple[Due, float] | None:
        rules = self.rules(conversation.phone_number_id).rules
        queue = rules.queues.get(conversation.queue or "")
        if queue is None:
            return None
        return clocks.due(conversation, queue, clocks.queue_hours(rules, queue), now)

    def _alert(self, conversation_id: str, now: float) -> tuple[Conversation, Due] | None:
        """Flag the unanswered stretch once: the agent's and supervisors' desks mark it, KPIs count it."""
        with self.store.client.pipeline(transaction=True) as pipe:
            self.store.watch(pipe, conversation_id)
            conversation = self.store.conversation(conversation_id)
            start = clocks.reply_wait_start(conversation) if conversation is not None else None
            found = self._due_now(conversation, now) if conversation is not None else None
            if (
                conversation is None
                or start is None
                or found is None
                or found[0] not in (Due.ALERT, Due.REQUEUE)
            ):
                return None
            if conversation.agent_silent_since == start:
                return conversation, found[0]  # flagged already (a requeue follows)
            waited = round(found[1])
            pipe.multi()
            Store.mark(pipe, conversation_id, {"agent_silent_since": str(start)})
            publish(
                pipe,
                "agent_silent",
                conversation_id,
                agent_id=conversation.agent_id,
                queue=conversation.queue,
                since=start,
                waited_seconds=waited,
            )
            kpis.tally(pipe, "agent_silent", now, queue=conversation.queue, agent_id=conversation.agent_id)
            pipe.execute()
        log.info(
            "agent_silent",
            conversation_id=conversation_id,
            agent_id=conversation.agent_id,
            queue=conversation.queue,
            waited_seconds=waited,
        )
        conversation.agent_silent_since = start
        return conversation, found[0]

    def _requeue(self, conversation_id: str, now: float) -> bool:
        """Alerted first (if not yet), then back to its queue ahead of newer ones, skipped for the silent
        agent (push queues offer it to the next one); the customer hears messages.agent_changed if any."""
        alerted = self._alert(conversation_id, now)
        if alerted is None or alerted[1] is not Due.REQUEUE or alerted[0].agent_id is None:
            return False
        conversation = alerted[0]
        agent_id: str = alerted[0].agent_id
        try:
            agent = self.agents.get(agent_id)
        except UnknownAgent:
            return False
        skip = keys.skip_key(conversation_id)
        self.store.client.sadd(skip, agent_id)  # before it waits: the assigner must never see it unskipped
        try:
            self.transfers.requeue_one(agent, conversation_id, SILENT, still=self._still_silent(now))
        except Conflict:
            self.store.client.srem(skip, agent_id)
            raise
        with self.store.client.pipeline(transaction=True) as pipe:
            kpis.tally(pipe, "agent_silent_requeued", now, queue=conversation.queue, agent_id=agent_id)
            # once until they write again: taken again and left again, it is not news to them
            told_at, waiting_since = conversation.agent_changed_at, conversation.customer_waiting_since
            if (told_at is None or (waiting_since is not None and waiting_since > told_at)) and self._tell(
                pipe, conversation, "agent_changed", now
            ):
                Store.mark(pipe, conversation_id, {"agent_changed_at": str(now)})
            pipe.execute()
        log.info("agent_silent_requeued", conversation_id=conversation_id, agent_id=agent_id)
        return True

    def _still_silent(self, now: float) -> Callable[[Conversation], bool]:
        """Whether a conversation is still due for its requeue, as the requeue commits (an agent whose answer
        lands between the alert and the move keeps the conversation)."""

        def still(conversation: Conversation) -> bool:
            found = self._due_now(conversation, now)
            return found is not None and found[0] is Due.REQUEUE

        return still

    def _remind(self, conversation_id: str, now: float) -> bool:
        """One reminder a quiet stretch (nothing sent outside the 24-hour window, or without the text)."""
        with self.store.client.pipeline(transaction=True) as pipe:
            self.store.watch(pipe, conversation_id)
            conversation = self.store.conversation(conversation_id)
            found = self._due_now(conversation, now) if conversation is not None else None
            if conversation is None or found is None or found[0] is not Due.REMIND:
                return False
            pipe.multi()
            Store.mark(pipe, conversation_id, {"idle_reminded_at": str(now)})
            told = self._tell(pipe, conversation, "idle_reminder", now)
            if told:
                kpis.tally(
                    pipe, "idle_reminded", now, queue=conversation.queue, agent_id=conversation.agent_id
                )
            pipe.execute()
        log.info("customer_idle_reminded", conversation_id=conversation_id, sent=told)
        return told

    def _close(self, conversation_id: str, now: float) -> bool:
        """Resolved as the agent's resolve does it (Lifecycle.finish: capacity freed, handle time counted),
        with reason customer_idle; messages.idle_closed and, with csat.on_idle_close, the survey. Closed only
        as seen: a customer who writes, or an agent who answers, just before it commits wins (Conflict)."""
        replied = self.store.client.hget(keys.conversation_key(conversation_id), "agent_replied_at")
        conversation = self.store.conversation(conversation_id)
        found = self._due_now(conversation, now) if conversation is not None else None
        if (
            conversation is None
            or conversation.agent_id is None
            or found is None
            or found[0] is not Due.CLOSE
        ):
            return False
        agent_id = conversation.agent_id
        seen = {"customer_waiting_since": "", "agent_replied_at": keys.as_text(replied or "")}
        try:
            self.lifecycle.finish(agent_id, conversation_id, ConversationState.RESOLVED, expect=seen)
        except Conflict:
            log.info("customer_idle_close_skipped", conversation_id=conversation_id)  # they spoke: not idle
            return False
        with self.store.client.pipeline(transaction=True) as pipe:
            # the agent's desk says why it left them (the finish script's `closed` carries no reason)
            publish(pipe, "closed", conversation_id, agent_id=agent_id, queue=conversation.queue, reason=IDLE)
            Store.mark(pipe, conversation_id, {"idle_closed_at": str(now)})
            kpis.tally(pipe, "idle_closed", now, queue=conversation.queue, agent_id=agent_id)
            self._tell(pipe, conversation, "idle_closed", now)
            pipe.execute()
        csat = self.rules(conversation.phone_number_id).rules.csat
        if csat is not None and csat.on_idle_close:
            self.assignments.ask_csat(conversation_id, now)
        log.info("customer_idle_closed", conversation_id=conversation_id, agent_id=agent_id)
        return True

    def _tell(self, pipe: redis.client.Pipeline, conversation: Conversation, name: str, now: float) -> bool:
        """messages.<name> to the customer on the caller's transaction, if the rules have it and the
        24-hour window is open; False when nothing is sent."""
        if not conversation.is_window_open(now):
            return False
        who = (
            conversation.identity.display_name if conversation.identity else None
        ) or conversation.profile_name
        rules = self.rules(conversation.phone_number_id).rules
        texts = rules.messages.get(name)
        if texts is None:
            return False  # ops did not write it: the customer hears nothing
        language = conversation.bot.language or rules.default_language
        said = render(texts.get(language) or texts[rules.default_language], {"name": who or ""})
        text = tidy(said)  # "Desculpe a demora, ." for a customer with no name: "... demora."
        entry, job = reply(conversation, text_request(conversation, text), "system", now, self.partitions)
        self.store.queue_reply(pipe, conversation.id, entry, job)
        return True
