"""A subscription: where to post, which events, in which format, signed with which secret."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

# The events a subscription may ask for, and when each is sent (docs/hooks.md, and the desk API's OpenAPI
# document under `webhooks`).
DESCRIBED = {
    "handed_over": "the bot handed the customer over: waiting in a queue (data: escalation, packet)",
    "assigned": "a person has the conversation (claimed, pushed, an offer or a warm transfer accepted)",
    "transferred": "moved to another queue or agent, or back to its queue (data: transfer, transfers)",
    "resolved": "the agent resolved it, or the customer idle clock closed it (data: reason)",
    "released": "given back to the bot",
    "abandoned": "the customer left the queue, or their window closed while waiting (data: reason)",
    "agent_silent": "a customer message waited past the queue's agent_reply_seconds",
    "csat": "the customer rated the service (data: score, option)",
}
EVENTS = tuple(DESCRIBED)
MAX_URL = 2048


def shown_url(url: str) -> str:
    """A hook's URL as anyone but an admin sees it (the audit log, the ops view): its scheme and host only,
    as the rest can be a secret in itself (a Slack incoming webhook's path is)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


class HookFormat(StrEnum):
    JSON = "json"  # {"type", "timestamp", "data"}, signed (Standard Webhooks)
    SLACK = "slack"  # an incoming-webhook message for a channel


class HookConversation(BaseModel):
    """The conversation as a receiver needs it to file or route it (every event carries it)."""

    id: str
    phone_number_id: str
    customer_key: str
    wa_id: str | None
    user_id: str | None
    customer_name: str | None
    state: str
    queue: str | None
    priority: str | None
    agent_id: str | None
    previous_agent: str | None
    identity_verified: bool
    customer_reference: str | None
    created_at: float
    updated_at: float
    resolved_at: float | None
    csat_score: int | None


class EventData(BaseModel):
    conversation: HookConversation
    escalation: dict[str, str] | None = Field(default=None, description="handed_over: reason and rule")
    packet: dict[str, Any] | None = Field(
        default=None,
        description="handed_over: the context packet (`handover packet schema`), what people wrote masked",
    )
    transfer: dict[str, Any] | None = Field(default=None, description="transferred: the last move")
    transfers: int | None = Field(default=None, description="transferred: people's moves so far")
    reason: str | None = None
    score: int | None = Field(default=None, description="csat")
    option: str | None = Field(default=None, description="csat: the option the customer tapped")


class HookEvent(BaseModel):
    """What a hook receives (the Standard Webhooks envelope), signed in the headers webhook-id,
    webhook-timestamp and webhook-signature."""

    type: str = Field(description="one of the events, or `test` (handover hooks test)")
    timestamp: str = Field(description="when it happened, ISO 8601 in UTC")
    data: EventData


class Hook(BaseModel):
    id: str
    url: str = Field(max_length=MAX_URL)
    events: list[str] = Field(min_length=1)
    format: HookFormat = HookFormat.JSON
    # The secret is read from this environment variable of each worker when set (never stored in Redis);
    # otherwise one was made when the hook was added, shown once, and kept in Redis to sign with.
    secret_env: str | None = None
    numbers: list[str] = Field(default_factory=list)  # the business numbers it hears of; empty: every one
    created_at: float
    created_by: str = ""

    def wants(self, event: str, number: str | None) -> bool:
        return event in self.events and (not self.numbers or number is None or number in self.numbers)
