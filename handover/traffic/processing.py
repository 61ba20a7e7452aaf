"""The conversation handler: applies a batch of inbound items in order and commits their effects at once."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from pydantic import ValidationError
from redis.client import Pipeline

from handover import activity, botstats, clocks, coexistence, fcr, kpis, notices, rekey, waiting
from handover.agents import AgentStore, Presence, UnknownAgent
from handover.bot import Bot, BotTurn, Decision, EscalationDecision
from handover.clock import Clock, system_clock
from handover.conversation import Conversation, ConversationState
from handover.events import EventType, publish
from handover.lifecycle import Lifecycle, Place
from handover.message import (
    RECEIPTED,
    InboundKind,
    InboundMessage,
    OutboundKind,
    OutboundRequest,
    StatusUpdate,
)
from handover.packet import ContextPacket
from handover.rules.loader import LoadedRules
from handover.rules.texts import render
from handover.store import Store
from handover.traffic import escalation
from handover.traffic.deliveries import Located
from handover.traffic.enqueue import InboundItem, OutboundJob, outbound_job, queue_sends, reply, text_request
from handover.traffic.streams import Batch
from handover.transcript import TranscriptEntry

log = structlog.get_logger(__name__)

# Kinds we acknowledge with a read receipt: what a person would have "seen" (not reactions, revokes, system).
_READABLE = RECEIPTED  # a customer's message is marked read once stored


_Event = tuple[EventType, str, str | None, str | None]  # type, conversation, agent, queue


@dataclass
class _Effects:
    """What a batch decided, written in one transaction at the end."""

    conversations: dict[str, Conversation] = field(default_factory=dict)
    entries: list[tuple[str, TranscriptEntry]] = field(default_factory=list)
    sends: list[OutboundJob] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    decisions: list[tuple[str, Decision]] = field(default_factory=list)
    escalations: list[tuple[Conversation, EscalationDecision]] = field(default_factory=list)
    packets: list[ContextPacket] = field(default_factory=list)
    started: set[str] = field(default_factory=set)  # conversations this batch opened
    loaded: dict[str, Conversation] = field(default_factory=dict)  # as read, to write only what changed
    csat: list[tuple[int, str | None]] = field(default_factory=list)  # score, the agent who resolved
    events: list[_Event] = field(default_factory=list)
    requeued: list[Conversation] = field(default_factory=list)  # reopened into their queue
    outcomes: list[botstats.Outcome] = field(default_factory=list)  # how the bot's part ended
    missed: list[botstats.Missed] = field(default_factory=list)  # what the bot did not understand
    bot_csat: list[tuple[str, int, float]] = field(default_factory=list)  # of handed-over conversations
    bot_answered: dict[str, float] = field(default_factory=dict)  # conversation -> the bot's last answer
    ended: list[Conversation] = field(default_factory=list)  # with the bot, replaced by a new one
    waits: list[waiting.Heard] = field(default_factory=list)  # waiting customers who left or asked how long
    returns: list[fcr.Return] = field(default_factory=list)  # customers back after a resolution (FCR)
    rekeys: list[rekey.Moved] = field(default_factory=list)  # customers now known by another number or id
    malformed: int = 0


@dataclass
class Processor:
    """Turns inbound stream entries into transcript entries, conversation updates and sends."""

    store: Store
    bot: Bot
    partitions: int
    clock: Clock = system_clock
    summary_language: str = "pt"  # without rules; with them, the default language of the number's rules
    # each number's rules (a Rulebook; a RulesHolder for one): the survey's answers, the packet's language
    rules: Callable[..., LoadedRules] | None = None
    phone_pause_seconds: float = coexistence.PAUSE_MINUTES * 60  # a takeover from the phone, if unreleased

    def handle(self, batch: Batch) -> None:
        effects = _Effects()
        messages: list[tuple[int, InboundMessage]] = []
        for index, (entry_id, fields) in enumerate(batch.entries):
            try:
                item = InboundItem.model_validate_json(fields["d"])
            except (KeyError, ValidationError):
                log.error("inbound_entry_malformed", entry=entry_id)
                effects.malformed += 1
                continue
            if item.message is not None:
                messages.append((index, item.message))
            elif item.status is not None:
                effects.statuses.append(item.status)
        self._load_conversations([m for _, m in messages], effects)
        # WhatsApp time first, arrival second: a batch may hold a customer's messages out of order.
        messages.sort(key=lambda pair: (pair[1].customer.key, pair[1].timestamp, pair[0]))
        for _, message in messages:
            batch.keep_alive()
            self._apply_message(message, effects)
        effects.packets = [
            escalation.packet(self.store, asked, why, self._fresh(asked, effects), self._language(asked))
            for asked, why in effects.escalations
        ]
        located = self.store.locate(effects.statuses)  # the status scripts need their sends' keys
        expect = [*waiting.expected(effects.waits), *(e for moved in effects.rekeys for e in moved.expect)]
        batch.commit(lambda pipe: self._write(pipe, effects, located), expect)
        self.store.apply_moved(effects.statuses, located)
        for conversation_id, entry in effects.entries:
            if entry.direction == "in":
                log.info(
                    "message_processed", conversation_id=conversation_id, message_id=entry.id, kind=entry.kind
                )

    def _apply_message(self, message: InboundMessage, effects: _Effects) -> None:
        now = self.clock()
        if message.changed_from is not None or message.echo:  # not the customer writing (notices.py)
            notices.apply(self.store, message, effects, now, self.phone_pause_seconds)
            return
        surveyed = effects.conversations.get(message.customer.routing_key)
        if surveyed is not None and self._is_csat_answer(surveyed, message):
            self._record_csat(surveyed, message, effects, now)
            return
        conversation = self._conversation_for(message, effects, now)
        conversation.note_customer_message(message.customer, float(message.timestamp), now)
        entry = TranscriptEntry.from_inbound(message, conversation.entry_count)
        if message.kind in _READABLE:
            receipt = OutboundRequest(
                kind=OutboundKind.MARK_READ,
                phone_number_id=conversation.phone_number_id,
                to=conversation.address,
                message_id=message.id,
            )
            effects.sends.append(
                outbound_job(conversation, receipt, self.partitions, message_timestamp=message.timestamp)
            )
        if conversation.state != ConversationState.BOT or coexistence.is_paused(conversation, now):
            if conversation.state != ConversationState.BOT:  # paused by the phone: nobody's clock runs
                clocks.customer_wrote(conversation, now)
            effects.entries.append(
                (conversation.id, entry.kept(edited=self._edited(entry, conversation, effects)))
            )
            effects.events.append(
                ("customer_wrote", conversation.id, conversation.agent_id, conversation.queue)
            )
            before = effects.loaded.get(conversation.id)
            heard = waiting.hear(self.bot, self.store, before, conversation, message, self.partitions, now)
            if heard is not None:  # waiting, they left the queue or asked how long (handover/waiting.py)
                effects.entries += heard.entries
                effects.sends += heard.sends
                effects.decisions.append((conversation.id, heard.decision))
                effects.waits.append(heard)
            return
        awaited = conversation.bot.awaits_identity  # whatever the turn makes of the message
        turn = self.bot.handle(conversation, message)
        # What proves an identity is never kept: the transcript says what it was, not what it said.
        edited = self._edited(entry, conversation, effects)
        effects.entries.append((conversation.id, entry.kept(turn.redact, awaited, edited)))
        effects.decisions.append((conversation.id, turn.decision))
        self._tally(conversation, message, turn, effects, now)
        # Meta's clock and ours differ: an answer never shows before the message it answers.
        answered_at = max(now, float(message.timestamp))
        for request in turn.replies:
            answer, job = reply(conversation, request, "bot", answered_at, self.partitions)
            effects.entries.append((conversation.id, answer))
            effects.sends.append(job)
        if turn.escalation is not None:  # what the escalation does: traffic/escalation.py
            escalation.queue(conversation, turn.escalation, message, now)
            effects.escalations.append((conversation, turn.escalation))
            effects.events.append(("waiting", conversation.id, None, turn.escalation.queue))

    @staticmethod
    def _fresh(conversation: Conversation, effects: _Effects) -> list[TranscriptEntry]:
        """This batch's entries of a conversation, not yet committed."""
        return [e for c, e in effects.entries if c == conversation.id]

    def _edited(
        self, entry: TranscriptEntry, conversation: Conversation, effects: _Effects
    ) -> TranscriptEntry | None:
        """The message an edit changes, as kept (this batch's, else the stored one); None for others."""
        if entry.kind != InboundKind.EDIT or not entry.context_id:
            return None
        fresh = [e for c, e in effects.entries if c == conversation.id and e.id == entry.context_id]
        return fresh[-1] if fresh else self.store.entry(conversation.id, entry.context_id)

    def _tally(
        self,
        conversation: Conversation,
        message: InboundMessage,
        turn: BotTurn,
        effects: _Effects,
        now: float,
    ) -> None:
        """What the bot's stats count of this turn (handover/botstats.py): its outcome, once; its misses."""
        decision = turn.decision
        if decision.action == "unrecognized" and message.text:
            effects.missed.append(botstats.Missed("unrecognized", conversation.id, message.text, now))
        if turn.could_not_help:
            said = message.text or f"[{message.kind}]"
            effects.missed.append(botstats.Missed("could_not_help", conversation.id, said, now))
        if turn.escalation is not None:
            effects.bot_answered.pop(conversation.id, None)
            if conversation.bot_outcome == "escalated":
                return  # handed back and over again: it ended once
            taken_back = None
            if conversation.bot_outcome == "contained":
                taken_back = (conversation.bot_outcome_version or "none", conversation.bot_outcome_at or now)
            conversation.set_bot_outcome("escalated", decision.rules_version, now)
            effects.outcomes.append(botstats.Outcome("escalated", decision.rules_version, now, taken_back))
        elif conversation.bot_outcome is None and turn.done:
            conversation.set_bot_outcome("contained", decision.rules_version, now)
            effects.outcomes.append(botstats.Outcome("contained", decision.rules_version, now))
            effects.bot_answered.pop(conversation.id, None)
        elif conversation.bot_outcome is None and turn.replies:
            effects.bot_answered[conversation.id] = now

    def _language(self, conversation: Conversation) -> str:
        """The language of a packet's summary: the default of the conversation's number's rules."""
        if self.rules is None:
            return self.summary_language
        return self.rules(conversation.phone_number_id).rules.default_language

    def _is_csat_answer(self, conversation: Conversation, message: InboundMessage) -> bool:
        """A tap on the survey sent when the conversation was resolved (it must not open a new one)."""
        if self.rules is None or conversation.state != ConversationState.RESOLVED:
            return False
        csat = self.rules(conversation.phone_number_id).rules.csat
        return bool(
            csat
            and conversation.csat_asked_at
            and conversation.csat is None
            and message.reply_id
            and message.reply_id in {o.id for o in csat.options}
        )

    def _record_csat(
        self, conversation: Conversation, message: InboundMessage, effects: _Effects, now: float
    ) -> None:
        rules = self.rules(conversation.phone_number_id).rules if self.rules is not None else None
        assert rules is not None and rules.csat is not None
        option = next(o for o in rules.csat.options if o.id == message.reply_id)
        conversation.note_customer_message(message.customer, float(message.timestamp), now)
        conversation.csat, conversation.csat_score = option.id, option.score
        effects.entries.append(
            (conversation.id, TranscriptEntry.from_inbound(message, conversation.entry_count))
        )
        language = conversation.bot.language or rules.default_language
        thanks = render(rules.csat.thanks.get(language) or rules.csat.thanks[rules.default_language], {})
        answer, job = reply(conversation, text_request(conversation, thanks), "system", now, self.partitions)
        effects.entries.append((conversation.id, answer))
        effects.sends.append(job)
        effects.csat.append((option.score, conversation.agent_id))
        effects.events.append(("csat", conversation.id, conversation.agent_id, conversation.queue))
        if conversation.bot_outcome == "escalated":
            effects.bot_csat.append((conversation.bot_outcome_version or "none", option.score, now))
        log.info("csat_recorded", conversation_id=conversation.id, message_id=message.id, score=option.score)

    def _load_conversations(self, messages: list[InboundMessage], effects: _Effects) -> None:
        customers = list({m.customer.routing_key: m.customer for m in messages}.values())
        for customer, conversation in zip(
            customers, self.store.current_conversations(customers), strict=True
        ):
            if conversation is not None:
                effects.conversations[customer.routing_key] = conversation
                effects.loaded[conversation.id] = conversation.model_copy(deep=True)

    def _conversation_for(self, message: InboundMessage, effects: _Effects, now: float) -> Conversation:
        routing = message.customer.routing_key
        conversation = effects.conversations.get(routing)
        number = message.customer.phone_number_id
        rules = self.rules(number).rules if self.rules is not None else None
        effects.returns += fcr.returns(conversation, float(message.timestamp), now, rules)
        if conversation is not None and self._reopens(conversation, now):
            self._reopen(conversation, effects, now)
            return conversation
        if conversation is not None and conversation.idle_with_bot(
            float(message.timestamp), botstats.IDLE_SECONDS
        ):
            # nobody wrote for a day: the bot's conversation ended (end_idle counts it); a new one starts
            conversation.move_to(ConversationState.RESOLVED, now)
            effects.ended.append(conversation)
            log.info("conversation_ended_with_bot", conversation_id=conversation.id)
            conversation = None
        if conversation is None or conversation.state.is_closed:
            conversation = Conversation.start(message.customer, now)
            effects.started.add(conversation.id)
            effects.conversations[routing] = conversation
            log.info("conversation_started", conversation_id=conversation.id)
        return conversation

    def _reopens(self, conversation: Conversation, now: float) -> bool:
        if self.rules is None or conversation.state != ConversationState.RESOLVED:
            return False
        window = self.rules(conversation.phone_number_id).rules.reopen_within_seconds
        return conversation.resolved_at is not None and now - conversation.resolved_at <= window

    def _reopen(self, conversation: Conversation, effects: _Effects, now: float) -> None:
        """Back to the agent who resolved it if they can take it, else to its queue with the old packet."""
        agent = None
        if conversation.agent_id:
            with contextlib.suppress(UnknownAgent):
                agent = AgentStore(self.store.client).get(conversation.agent_id)
        load = AgentStore(self.store.client).load(agent.id) if agent is not None else 0
        if agent is not None and agent.status is Presence.AVAILABLE and load < agent.capacity:
            conversation.move_to(ConversationState.ASSIGNED, now)
            log.info("conversation_reopened", conversation_id=conversation.id, to="agent")
            return
        conversation.move_to(ConversationState.QUEUED, now)
        conversation.previous_agent, conversation.agent_id = conversation.agent_id, None
        effects.requeued.append(conversation)
        log.info("conversation_reopened", conversation_id=conversation.id, to="queue")

    def _write(self, pipe: Pipeline, effects: _Effects, located: Located) -> None:
        asked_at = {conversation.id: asked.at for conversation, asked in effects.escalations}
        for conversation in waiting.written(effects.ended, effects.waits, effects.conversations):
            loaded = effects.loaded.get(conversation.id)
            self.store.save_conversation(pipe, conversation, loaded)
            if conversation.id in effects.started:
                self.store.link_to_customer(pipe, conversation)
            if Place.of(loaded) != Place.of(conversation):
                # queues, load sets and `assigned`, as for every change of state (handover/lifecycle.py)
                Lifecycle.follow(
                    pipe, Place.of(loaded), conversation, asked_at.get(conversation.id, self.clock())
                )
            else:  # the customer wrote: where it is stays, its latest change moves (the desk's list order)
                activity.touch(pipe, conversation.id, loaded, conversation, conversation.updated_at)
        for moved in effects.rekeys:  # after the conversations: a folded one is linked, then moved past
            moved.write(pipe, self.store)
        for conversation_id, entry in effects.entries:
            self.store.append_entry(pipe, conversation_id, entry)
        queue_sends(pipe, effects.sends)
        for status in effects.statuses:
            self.store.apply_status(pipe, status, located)
        by_conversation: dict[str, list[Decision]] = {}
        for conversation_id, decision in effects.decisions:
            by_conversation.setdefault(conversation_id, []).append(decision)
        for conversation_id, decisions in by_conversation.items():
            self.store.record_decisions(pipe, conversation_id, decisions)
        botstats.write(
            pipe,
            botstats.Tally(
                decisions=[d for _, d in effects.decisions],
                escalations=[e for _, e in effects.escalations],
                started=[by_conversation[c][0] for c in effects.started if c in by_conversation],
                outcomes=effects.outcomes,
                missed=effects.missed,
                csat=effects.bot_csat,
            ),
        )
        fcr.write(pipe, effects.returns)
        for conversation_id, at in effects.bot_answered.items():
            botstats.note_answered(pipe, conversation_id, at)
        escalation.write(pipe, self.store, effects.escalations, effects.packets)
        for conversation in effects.requeued:
            publish(pipe, "waiting", conversation.id, queue=conversation.queue)
        for kind, about, holder, queue in effects.events:
            publish(pipe, kind, about, agent_id=holder, queue=queue)
        for heard in effects.waits:
            heard.write(pipe)
        for score, resolver in effects.csat:
            Store.count(pipe, f"csat:{score}")
            if resolver:
                kpis.for_agent(pipe, resolver, f"csat:{score}", 1, self.clock())
        inbound = sum(1 for _, e in effects.entries if e.direction == "in")
        Store.count(pipe, "messages_processed", inbound)
        Store.count(pipe, "statuses_processed", len(effects.statuses))
        Store.count(pipe, "malformed_entries", effects.malformed)
        Store.note_processed(pipe, self.clock())
