"""The conversation: its state, its customer, and the 24-hour window WhatsApp allows free-form replies in."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from handover.errors import Conflict
from handover.identity import VerifiedIdentity
from handover.message import CustomerRef, routing_key

WINDOW_SECONDS = 24 * 3600


# a warm transfer under way (handover/warm.py): what is dropped when it ends, and what the desk lists
WARM_OFFER_FIELDS = (
    "offer_to",
    "offer_by",
    "offer_reason",
    "offer_customer_reason",
    "offer_note",
    "offer_expires_at",
)


class ConversationState(StrEnum):
    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    TRANSFERRING = "transferring"
    RESOLVED = "resolved"
    ABANDONED = "abandoned"

    @property
    def is_closed(self) -> bool:
        return self in (ConversationState.RESOLVED, ConversationState.ABANDONED)


_MOVES = {
    ConversationState.BOT: {ConversationState.QUEUED, ConversationState.RESOLVED},
    ConversationState.QUEUED: {
        ConversationState.ASSIGNED,
        ConversationState.ABANDONED,
        ConversationState.QUEUED,
    },
    ConversationState.ASSIGNED: {
        ConversationState.ASSIGNED,  # a cold transfer straight to another agent
        ConversationState.TRANSFERRING,
        ConversationState.RESOLVED,
        ConversationState.BOT,
        ConversationState.QUEUED,
    },
    ConversationState.TRANSFERRING: {ConversationState.ASSIGNED, ConversationState.QUEUED},
    # the customer wrote again soon after: back to the same agent, or to the queue
    ConversationState.RESOLVED: {ConversationState.ASSIGNED, ConversationState.QUEUED},
    ConversationState.ABANDONED: set(),
}


class IllegalMove(Conflict):
    """A state change the conversation's state machine does not allow (the desk answers 409)."""

    code = "illegal_move"


class Awaiting(BaseModel):
    """The bot asked for something and the next message is the answer: a slot, or an identity field."""

    kind: Literal["slot", "identity"]
    intent: str
    field: str
    attempts: int = 0


class BotState(BaseModel):
    """What the bot remembers between turns; reset when an agent hands the conversation back."""

    language: str | None = None
    turns: int = 0
    unrecognized: int = 0  # in a row
    awaiting: Awaiting | None = None
    collected: dict[str, str] = Field(default_factory=dict)
    # identity values typed so far, cleaned, kept only until the directory answers: never serialised with
    # the conversation (nor in the transcript), but in their own expiring key (Store.save_conversation)
    pending_identity: dict[str, str] = Field(default_factory=dict, exclude=True)
    identity_attempts: int = 0
    intent: str | None = None  # the last intent recognised
    intent_how: str | None = None
    unrecognized_total: int = 0

    @property
    def awaits_identity(self) -> str | None:
        """The identity field the bot asked for and waits for, if any."""
        return self.awaiting.field if self.awaiting is not None and self.awaiting.kind == "identity" else None

    def stop_awaiting(self) -> None:
        """No question pending any more: what was typed to prove an identity goes with it."""
        self.awaiting = None
        self.pending_identity = {}


class Conversation(BaseModel):
    """One conversation with one customer on one business number; a new one starts after the last closes."""

    id: str
    phone_number_id: str
    customer_key: str
    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None  # Meta's portfolio-wide id, kept beside user_id (never a key)
    profile_name: str | None = None
    state: ConversationState = ConversationState.BOT
    created_at: float
    updated_at: float
    last_customer_message_at: float | None = None  # WhatsApp's timestamp of the customer's latest message
    window_expires_at: float | None = None
    messages_in: int = 0
    messages_out: int = 0
    bot: BotState = Field(default_factory=BotState)
    identity: VerifiedIdentity | None = None
    queue: str | None = None
    priority: str | None = None
    agent_id: str | None = None
    # routing: what the escalation asked the agent to know, and who served the customer last (sticky)
    skills: list[str] = Field(default_factory=list)
    previous_agent: str | None = None
    assigned_at: float | None = None
    answered_at: float | None = None  # the holding agent's first reply since assigned_at
    # the clocks on a held conversation (handover/clocks.py): the earliest customer message no agent
    # answered yet, the holding agent's last message, the unanswered stretch flagged agent_silent (its
    # start), and the last reminder sent to a quiet customer
    customer_waiting_since: float | None = None
    agent_replied_at: float | None = None
    agent_silent_since: float | None = None
    idle_reminded_at: float | None = None
    idle_closed_at: float | None = None  # resolved by the customer idle clock (not by an agent) at
    agent_changed_at: float | None = None  # when the customer was last told messages.agent_changed
    offer_to: str | None = None  # warm transfer under way: offered to this agent
    offer_by: str | None = None
    offer_reason: str | None = None  # internal: the offering agent's words
    offer_customer_reason: str | None = None  # a name from the rules' transfers.customer_reasons
    offer_note: str | None = None
    offer_expires_at: float | None = None
    resolved_at: float | None = None
    window_closing_flagged: bool = False  # waiting, and the 24-hour window closes soon
    abandoned_at: float | None = None
    abandon_reason: str | None = None  # customer_left (they left the queue) or window_closed
    csat_asked_at: float | None = None
    csat: str | None = None  # the option the customer tapped
    csat_score: int | None = None
    # how the bot's part ended, counted once (handover/botstats.py): "contained" or "escalated"
    bot_outcome: str | None = None
    bot_outcome_at: float | None = None
    bot_outcome_version: str | None = None  # the rules version that made the outcome
    # coexistence (handover/coexistence.py): a person wrote from the WhatsApp Business app, the bot is quiet
    phone_paused_until: float | None = None

    @classmethod
    def start(cls, customer: CustomerRef, now: float) -> Conversation:
        return cls(
            id=uuid.uuid4().hex,
            phone_number_id=customer.phone_number_id,
            customer_key=customer.key,
            wa_id=customer.wa_id,
            user_id=customer.user_id,
            parent_user_id=customer.parent_user_id,
            profile_name=customer.profile_name,
            created_at=now,
            updated_at=now,
        )

    @property
    def address(self) -> str:
        """Where replies go: the phone number when known, else the business-scoped user id."""
        return self.wa_id or self.user_id or self.customer_key

    @property
    def routing_key(self) -> str:
        """The customer's partition routing key (the same as their messages')."""
        return routing_key(self.phone_number_id, self.customer_key)

    def note_customer_message(self, customer: CustomerRef, sent_at: float, now: float) -> None:
        """A customer message opens (or extends) the 24-hour window; late deliveries never shorten it."""
        if self.last_customer_message_at is None or sent_at > self.last_customer_message_at:
            self.last_customer_message_at = sent_at
            self.window_expires_at = sent_at + WINDOW_SECONDS
        # Keep what we learn about the customer: a username customer may later show a number, or a new name.
        self.wa_id = customer.wa_id or self.wa_id
        self.user_id = customer.user_id or self.user_id
        self.parent_user_id = customer.parent_user_id or self.parent_user_id
        self.profile_name = customer.profile_name or self.profile_name
        self.messages_in += 1
        self.updated_at = now

    def set_bot_outcome(self, outcome: str, version: str, now: float) -> None:
        self.bot_outcome, self.bot_outcome_version, self.bot_outcome_at = outcome, version, now

    def idle_with_bot(self, sent_at: float, idle_seconds: float) -> bool:
        """Still with the bot, and the customer's last message was `idle_seconds` before this one: the
        bot's conversation has ended, and this message starts a new one."""
        return (
            self.state == ConversationState.BOT
            and self.last_customer_message_at is not None
            and sent_at - self.last_customer_message_at >= idle_seconds
        )

    @property
    def identity_typed(self) -> dict[str, str]:
        """The identity values to keep for now: only while the bot still waits for the rest of them."""
        awaiting = self.state == ConversationState.BOT and self.bot.awaits_identity is not None
        return self.bot.pending_identity if awaiting else {}

    def move_to(self, state: ConversationState, now: float) -> None:
        """Change state along the allowed moves: bot → queued → assigned → (transferring → assigned)* →
        resolved; queued → abandoned; assigned → bot (release) or back to a queue. Written to Redis only by
        handover/lifecycle.py (or, for the webhook's batches, under their lease by traffic/processing.py)."""
        if state not in _MOVES[self.state]:
            raise IllegalMove(f"{self.state} -> {state}")
        self.state = state
        self.updated_at = now

    @property
    def resolve_reason(self) -> str | None:
        """Why its last resolve happened when no agent asked for it: customer_idle (the idle clock)."""
        closed, resolved = self.idle_closed_at, self.resolved_at
        idle = self.state == ConversationState.RESOLVED and closed is not None and resolved is not None
        return "customer_idle" if idle and closed >= resolved else None  # type: ignore[operator]

    @property
    def entry_count(self) -> int:
        """Messages both ways so far: the next transcript entry's position."""
        return self.messages_in + self.messages_out

    def is_window_open(self, now: float) -> bool:
        return self.window_expires_at is not None and now < self.window_expires_at
