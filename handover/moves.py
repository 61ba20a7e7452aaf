"""What a change of a conversation's state is described with (handover/lifecycle.py makes the change):
where it stood before (`Place`), the desk events it publishes, what a claim and a push decision gave."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from handover.conversation import Conversation, ConversationState
from handover.events import EventType


class _Keep:
    """The holder stays who it was."""


KEEP = _Keep()


@dataclass
class Event:
    kind: EventType
    agent_id: str | None = None
    queue: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Place:
    """Where a conversation stood before a change: its state, who held it, where it waited (a queue of its
    business number, `phone_number_id`)."""

    state: ConversationState
    agent_id: str | None
    queue: str | None
    offered_to: str | None = None  # waiting, and offered by the assigner to this agent (out of its queue)
    phone_number_id: str | None = None

    @classmethod
    def of(cls, conversation: Conversation | None) -> Place:
        """A closed conversation remembers who resolved it, but nobody holds it any more."""
        if conversation is None:
            return cls(ConversationState.BOT, None, None)
        held = conversation.state in (ConversationState.ASSIGNED, ConversationState.TRANSFERRING)
        queued = conversation.state == ConversationState.QUEUED
        return cls(
            conversation.state,
            conversation.agent_id if held else None,
            conversation.queue,
            conversation.offer_to if queued else None,
            conversation.phone_number_id,
        )


@dataclass(frozen=True)
class Claimed:
    conversation_id: str
    queue: str


class Decided(StrEnum):
    """What one push decision (`Lifecycle.assign`) did."""

    ASSIGNED = "assigned"
    OFFERED = "offered"
    GONE = "gone"  # the conversation does not wait in that queue any more
    BUSY = "busy"  # the agent cannot take it now (presence, capacity, skipped it before)
