"""What an agent's desk lists, a page at a time, newest activity first: the conversations they hold, those
waiting in their queues and those offered to them; a supervisor sees every held and waiting one.

A page is read from the activity index (handover/activity.py), never by loading whole queues: each index
the list draws on is read from the cursor down, the reads are merged in order, and only the conversations
that make the page are loaded, checked against what they are now (an index entry left behind by a change
is skipped, not listed). The cost grows with the page, not with how many wait."""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from handover import activity, keys, lua
from handover.agents import Agent, AgentStore
from handover.assignment.offers import OfferIndex
from handover.conversation import WARM_OFFER_FIELDS, Conversation, ConversationState
from handover.errors import Invalid
from handover.lifecycle import Place
from handover.numbers import knowing
from handover.rules.loader import LoadedRules
from handover.store import Store

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
OPEN = (ConversationState.QUEUED, *activity.HELD)
# What a page shows of each conversation (desk/models.py ConversationSummary) and checks it by: the whole
# hash (the bot's memory, the identity...) is several times as much to parse, and parsing is most of what a
# page costs. Stored as strings, which the model reads as they are or as numbers.
LISTED = (
    "id",
    "phone_number_id",
    "customer_key",
    "created_at",
    "updated_at",
    "state",
    "queue",
    "priority",
    "agent_id",
    "profile_name",
    "wa_id",
    "window_expires_at",
    *WARM_OFFER_FIELDS,
    "csat",
    "csat_score",
    # whether the agent reply clock flagged it (handover/clocks.py silent_since)
    "assigned_at",
    "answered_at",
    "customer_waiting_since",
    "agent_silent_since",
)


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to; they combine, and only ever narrow what the agent sees anyway."""

    state: ConversationState | None = None
    queue: str | None = None
    agent_id: str | None = None  # who holds it
    number: str | None = None  # the business number (phone_number_id) it belongs to


@dataclass(frozen=True, order=True)
class Position:
    """Where a conversation sits in the list: its last change, then its id (ties broken the same way
    Redis orders equal scores)."""

    at: float
    id: str

    def cursor(self) -> str:
        """Opaque to clients: the position of the last conversation of a page."""
        raw = json.dumps([self.at, self.id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def of_cursor(cls, cursor: str) -> Position:
        """Raises Invalid (422) for anything `cursor()` did not make."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            at, conversation_id = json.loads(raw)
        except (binascii.Error, ValueError, TypeError):
            raise Invalid("malformed cursor: pass back the X-Next-Cursor of the previous page") from None
        if not (
            isinstance(at, int | float)
            and not isinstance(at, bool)
            and math.isfinite(at)
            and isinstance(conversation_id, str)
            and 0 < len(conversation_id) <= 200
        ):
            raise Invalid("malformed cursor: pass back the X-Next-Cursor of the previous page")
        return cls(float(at), conversation_id)


@dataclass(frozen=True)
class Page:
    conversations: list[Conversation]
    next_cursor: str | None  # None on the last page


@dataclass(frozen=True)
class _Candidate:
    position: Position
    source: str | None  # the index key it was found in; None: an offer to the agent


class Inbox:
    def __init__(
        self,
        store: Store,
        agents: AgentStore,
        rules: Callable[..., LoadedRules],
        numbers: Callable[[], list[str]] | None = None,
    ) -> None:
        self.store = store
        self.client = store.client
        self.agents = agents
        self.offers = OfferIndex(store.client)
        self.rules = rules
        # the business numbers whose queues are read (handover/numbers.py `knowing`)
        self.numbers = numbers or knowing(store.client)
        self._read = lua.script(store.client, "listed")

    def page(
        self,
        agent: Agent,
        filters: Filters = Filters(),
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page:
        """Up to `limit` (1 to MAX_LIMIT) conversations the agent sees, after `cursor` (a previous page's
        `next_cursor`), newest activity first. Raises Invalid for a bad limit or cursor."""
        if not 1 <= limit <= MAX_LIMIT:
            raise Invalid(f"limit must be a whole number from 1 to {MAX_LIMIT}")
        after = Position.of_cursor(cursor) if cursor else None
        if not activity.is_built(self.client):
            self.rebuild()
        sources = self._sources(agent, filters)
        offers = [] if agent.is_supervisor else self.offered_to(agent)
        shown: list[tuple[Position, Conversation]] = []
        taken: set[str] = set()
        while len(shown) <= limit:
            want = limit + 1 - len(shown)
            candidates = self._candidates(sources, after, want)
            candidates += [
                _Candidate(Position(c.updated_at, c.id), None)
                for c in offers
                if after is None or Position(c.updated_at, c.id) < after
            ]
            candidates = sorted(candidates, key=lambda c: c.position, reverse=True)[:want]
            if not candidates:
                break
            loaded = self.listed([c.position.id for c in candidates])
            for candidate, conversation in zip(candidates, loaded, strict=True):
                if (
                    conversation is not None
                    and conversation.id not in taken
                    and _shows(agent, filters, candidate.source, conversation)
                ):
                    shown.append((candidate.position, conversation))
                    taken.add(conversation.id)
            after = candidates[-1].position
        more = len(shown) > limit
        return Page([c for _, c in shown[:limit]], shown[limit - 1][0].cursor() if more else None)

    def rebuild(self) -> int:
        """File what was written before the activity index existed (the first page read does it)."""
        queues = [(n, q) for n in self.numbers() for q in self.rules(n).rules.queues]
        return activity.rebuild(self.client, queues, self.agents.ids(), self.offers.offered())

    def _sources(self, agent: Agent, filters: Filters) -> list[str]:
        """The index keys whose union holds every conversation the page may list (and few others: held
        ones are few, at most every agent's capacity, so they are narrowed by queue on reading)."""
        state = filters.state
        held = state is None or state in activity.HELD
        waiting = state is None or state == ConversationState.QUEUED
        if agent.is_supervisor:
            if filters.agent_id is not None:
                return [activity.held_key(filters.agent_id)] if held else []
            if filters.queue is None:
                everyone = [activity.waiting_key(None, None)] if waiting else []
            else:  # the queue of each number that has one by that name
                everyone = [activity.waiting_key(n, filters.queue) for n in self.numbers()] if waiting else []
            return everyone + ([activity.held_key(None)] if held else [])
        sources = [activity.held_key(agent.id)] if held and filters.agent_id in (None, agent.id) else []
        if waiting and filters.agent_id is None:
            sources += [
                activity.waiting_key(n, q)
                for n in self.numbers()
                if agent.serves(n)
                for q in agent.queues
                if filters.queue in (None, q)
            ]
        return sources

    def offered_to(self, agent: Agent) -> list[Conversation]:
        """Conversations offered to the agent now, warm transfers and push queues' offers (offers are few:
        they last seconds to minutes, so all of them are read)."""
        offered = self.listed(self.offers.offered())
        return [c for c in offered if c is not None and c.offer_to == agent.id]

    def listed(self, conversation_ids: list[str]) -> list[Conversation | None]:
        """The conversations as a list shows them (their LISTED fields only), None where one is gone."""
        if not conversation_ids:
            return []
        rows = self._read(keys=[keys.conversation_key(c) for c in conversation_ids], args=LISTED)
        return [_listed(row) if row[0] is not None else None for row in rows]

    def _candidates(self, sources: list[str], after: Position | None, want: int) -> list[_Candidate]:
        """The entries of every source after `after`, merged, newest first, cut where one source's read
        stopped short (below that, an entry of that source may be missing)."""
        with self.client.pipeline(transaction=False) as pipe:
            for source in sources:
                activity.read_after(pipe, source, after, want)
            replies = iter(pipe.execute())
        found: list[_Candidate] = []
        floor: Position | None = None
        for source in sources:
            entries = [Position(at, i) for i, at in activity.entries_after(replies, after)]
            found += [_Candidate(position, source) for position in entries]
            if len(entries) >= want:  # this source may have more below its last entry
                floor = entries[-1] if floor is None else max(floor, entries[-1])
        return [c for c in found if floor is None or c.position >= floor]


def _listed(row: list[Any]) -> Conversation:
    fields = {name: keys.as_text(value) for name, value in zip(LISTED, row, strict=True) if value is not None}
    return Conversation.model_validate(fields)


def _shows(agent: Agent, filters: Filters, source: str | None, conversation: Conversation) -> bool:
    """Whether the conversation, as it is now, belongs where it was found and on this agent's page."""
    if source is None:
        if conversation.offer_to != agent.id:
            return False
    elif source not in activity.index_keys(conversation):
        return False  # the index entry was left behind by a change: it is listed where it went
    holder = Place.of(conversation).agent_id
    if (
        conversation.state not in OPEN
        or not agent.serves(conversation.phone_number_id)  # another business number's: not on their desk
        or (filters.state is not None and conversation.state != filters.state)
        or (filters.queue is not None and conversation.queue != filters.queue)
        or (filters.agent_id is not None and holder != filters.agent_id)
        or (filters.number is not None and conversation.phone_number_id != filters.number)
    ):
        return False
    waiting_for_me = (
        conversation.state == ConversationState.QUEUED
        and conversation.queue in agent.queues
        and agent.serves(conversation.phone_number_id)
    )
    return agent.is_supervisor or holder == agent.id or waiting_for_me or conversation.offer_to == agent.id
