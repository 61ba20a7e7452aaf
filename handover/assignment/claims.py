"""Claiming, resolving and releasing conversations: atomic in Redis, so two agents never hold the same one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import redis

from handover import clocks, coexistence, gestures, kpis
from handover.agents import Agent, Presence
from handover.clock import Clock, system_clock
from handover.conversation import Conversation, ConversationState
from handover.errors import Conflict, Invalid, NotFound, NotYours, Unavailable, WindowClosed
from handover.history import current_id
from handover.lifecycle import Lifecycle
from handover.message import Button, OutboundKind, OutboundRequest
from handover.numbers import knowing
from handover.rules.loader import LoadedRules
from handover.store import Store
from handover.traffic.enqueue import outbound_job, queue_send, reply, text_request


@dataclass(frozen=True)
class SentMedia:
    """A file an agent attached, as WhatsApp took it."""

    media_id: str
    kind: Literal["image", "audio", "video", "document"]
    mime_type: str
    filename: str
    caption: str | None = None


class Assignments:
    """The agent-side services; the desk API calls these and nothing else."""

    def __init__(
        self,
        store: Store,
        partitions: int,
        rules: Callable[..., LoadedRules] | None = None,
        clock: Clock = system_clock,
        numbers: Callable[[], list[str]] | None = None,
    ) -> None:
        self.store = store
        self.rules = rules
        self.client: redis.Redis = store.client
        self.partitions = partitions
        self.clock = clock
        self.lifecycle = Lifecycle(self.client, clock, self._slas)
        # every business number whose queues an agent may take from (handover/numbers.py `knowing`)
        self.numbers = numbers or knowing(self.client)

    def claim_next(self, agent: Agent, number: str | None = None) -> Conversation | None:
        """The best waiting conversation across the agent's queues of the numbers they serve (of `number`
        only, when given), now theirs; None when nothing waits."""
        if agent.status is not Presence.AVAILABLE:
            raise Unavailable("set your status to available to take conversations")
        pairs = [(n, q) for n, q in self.queues_of(agent) if number is None or n == number]
        if not pairs:
            return None
        claimed = self.lifecycle.claim(agent.id, agent.capacity, pairs)
        return None if claimed is None else self.store.conversation(claimed.conversation_id)

    def accept_offer(self, agent: Agent, conversation_id: str) -> Conversation:
        """Take what the assigner offered (push queues): theirs now, if in time and below capacity."""
        now = self.clock()
        self.lifecycle.accept_offer(agent.id, agent.capacity, conversation_id, now)
        taken = self.store.conversation(conversation_id)
        assert taken is not None  # assigned, not deleted
        return taken

    def queues_of(self, agent: Agent) -> list[tuple[str, str]]:
        """The (number, queue) pairs an agent takes from: each number they serve, their queues that number's
        rules have."""
        pairs = []
        for number in self.numbers():
            if not agent.serves(number):
                continue
            listed = None if self.rules is None else self.rules(number).rules.queues
            pairs += [(number, q) for q in agent.queues if listed is None or q in listed]
        return pairs

    def _slas(self, number: str) -> dict[str, int | None]:
        """Each queue's sla_seconds by `number`'s rules: taking a conversation counts whether it was within
        (service level)."""
        return {} if self.rules is None else kpis.slas_of(self.rules(number).rules)

    def decline_offer(self, agent: Agent, conversation_id: str) -> Conversation:
        """Not for me: it goes back to its place and on to the next suitable agent."""
        now = self.clock()
        withdrawn, _ = self.lifecycle.withdraw_offer(conversation_id, agent.id, "declined", 0, now)
        if not withdrawn:
            raise NotYours(conversation_id)
        back = self.store.conversation(conversation_id)
        assert back is not None
        return back

    def conversation_for(self, agent: Agent, conversation_id: str, earlier: bool = True) -> Conversation:
        """A conversation the agent may see: theirs, or waiting in one of their queues; supervisors: all.
        `earlier`: also an earlier conversation of a customer whose current one they may see (their
        history, read-only)."""
        conversation = self.store.conversation(conversation_id)
        if conversation is None:
            raise NotFound(conversation_id)
        if agent.is_supervisor or agent.id in (conversation.agent_id, conversation.offer_to):
            return conversation
        if conversation.state == ConversationState.QUEUED and conversation.queue in agent.queues:
            return conversation
        current = current_id(self.store, conversation.phone_number_id, conversation.customer_key)
        if earlier and current not in (None, conversation_id):
            self.conversation_for(agent, current, earlier=False)  # NotYours unless they see that one
            return conversation
        raise NotYours(conversation_id)

    def send(
        self,
        agent: Agent,
        conversation_id: str,
        text: str,
        reply_to: str | None = None,
    ) -> str:
        """An agent's reply, through the outbound worker; refused when the 24-hour window has closed.
        `reply_to`: a message of the conversation it quotes (its transcript id)."""
        now = self.clock()
        conversation = self._answerable(agent, conversation_id, now)
        request = text_request(conversation, text)
        if reply_to is not None:
            quoted = gestures.whatsapp_id(self.store, conversation_id, reply_to)
            request = request.model_copy(update={"reply_to": quoted})
        return self._queue_reply(agent, conversation, request, now)

    def react(self, agent: Agent, conversation_id: str, entry_id: str, emoji: str) -> str:
        """An emoji on a message of the conversation ("" takes it back), within the 24-hour window. Not an
        answer: the agent's reply clock keeps running."""
        now = self.clock()
        conversation = self._answerable(agent, conversation_id, now)
        request = OutboundRequest(
            kind=OutboundKind.REACTION,
            phone_number_id=conversation.phone_number_id,
            to=conversation.address,
            message_id=gestures.whatsapp_id(self.store, conversation_id, entry_id),
            text=gestures.check_emoji(emoji),
        )
        entry, job = reply(conversation, request, f"agent:{agent.id}", now, self.partitions)
        with self.client.pipeline(transaction=True) as pipe:
            self.store.queue_reply(pipe, conversation.id, entry, job)
            pipe.execute()
        return entry.id

    def typing(self, agent: Agent, conversation_id: str) -> bool:
        """Show the customer "typing…" on their newest message (which it marks read): at most once per 25 s
        a conversation, within the 24-hour window. Whether WhatsApp was asked now."""
        now = self.clock()
        conversation = self._answerable(agent, conversation_id, now)
        newest = gestures.last_customer_message(self.store, conversation_id)
        if newest is None or not gestures.typing_due(self.client, conversation_id):
            return False
        receipt = OutboundRequest(
            kind=OutboundKind.MARK_READ,
            phone_number_id=conversation.phone_number_id,
            to=conversation.address,
            message_id=newest,
            typing=True,
        )
        with self.client.pipeline(transaction=True) as pipe:
            queue_send(pipe, outbound_job(conversation, receipt, self.partitions, message_timestamp=int(now)))
            pipe.execute()
        return True

    def answerable(self, agent: Agent, conversation_id: str) -> Conversation:
        """The conversation, if the agent holds it and its 24-hour window is open (NotYours, WindowClosed)."""
        return self._answerable(agent, conversation_id, self.clock())

    def _answerable(self, agent: Agent, conversation_id: str, now: float) -> Conversation:
        """`answerable` at `now`, the time the caller's operation read once."""
        conversation = self._held(agent, conversation_id)
        if not conversation.is_window_open(now):
            raise WindowClosed(
                "more than 24 hours since the customer last wrote: send an approved template instead "
                f"(POST /api/v1/conversations/{conversation_id}/template; GET /api/v1/templates lists them)"
            )
        return conversation

    def send_media(self, agent: Agent, conversation_id: str, media: SentMedia) -> str:
        """A file the agent attached, already uploaded to WhatsApp (its media id), with its caption."""
        now = self.clock()
        conversation = self._answerable(agent, conversation_id, now)
        request = OutboundRequest(
            kind=OutboundKind.MEDIA,
            phone_number_id=conversation.phone_number_id,
            to=conversation.address,
            media_id=media.media_id,
            media_type=media.kind,
            mime_type=media.mime_type,
            filename=media.filename,
            text=media.caption,
        )
        return self._queue_reply(agent, conversation, request, now)

    def send_template(
        self,
        agent: Agent,
        conversation_id: str,
        name: str,
        language: str,
        params: list[str],
    ) -> str:
        """An approved template from the rules file: allowed in or out of the 24-hour window."""
        now = self.clock()
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
            if (
                conversation.assigned_at is not None
                and (conversation.answered_at or 0) < conversation.assigned_at
            ):
                # this agent's first reply since it became theirs
                Store.mark(pipe, conversation.id, {"answered_at": str(now)})
                Store.count_seconds(pipe, "agent_first_reply_seconds", now - conversation.assigned_at, at=now)
            clocks.agent_replied(pipe, conversation, now)
            self.store.queue_reply(pipe, conversation.id, entry, job)
            pipe.execute()
        return entry.id

    def resolve(self, agent: Agent, conversation_id: str) -> None:
        """Close it, and ask the customer how it went (the rules' `csat` survey) while the window is open."""
        now = self.clock()
        self.lifecycle.finish(agent.id, conversation_id, ConversationState.RESOLVED)
        self.ask_csat(conversation_id, now)

    def ask_csat(self, conversation_id: str, now: float) -> None:
        """The rules' `csat` survey, while the window is open (after a resolve; an idle close too)."""
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
            Store.mark(pipe, conversation_id, {"csat_asked_at": str(now)})
            self.store.queue_reply(pipe, conversation_id, entry, job)
            pipe.execute()

    def release_to_bot(self, agent: Agent, conversation_id: str) -> None:
        """Back to the bot: its memory of the conversation starts afresh; the history and identity stay.
        A conversation a person took over from the WhatsApp Business app is held by nobody at the desk: a
        supervisor (who sees every conversation) hands it back (handover/coexistence.py)."""
        now = self.clock()
        paused = self.store.conversation(conversation_id)
        if paused is not None and coexistence.is_paused(paused, now):
            if not agent.is_supervisor:
                raise NotYours(conversation_id)
            coexistence.resume(self.client, paused, agent.id)
            return
        self.lifecycle.finish(agent.id, conversation_id, ConversationState.BOT)

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
