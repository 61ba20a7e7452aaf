"""A subscription: where to post, which events, in which format, signed with which secret."""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

# The events a subscription may ask for, as the README's "Events out" documents each one's JSON.
EVENTS = (
    "handed_over",  # the bot handed the customer over: waiting in a queue, with the context packet
    "assigned",  # a person has the conversation (claimed, assigned, an offer accepted)
    "transferred",  # moved to another queue or agent
    "resolved",  # the agent resolved it
    "released",  # given back to the bot
    "abandoned",  # the customer left the queue, or their window closed while waiting
    "agent_silent",  # the agent did not answer within the queue's agent_reply_seconds
    "csat",  # the customer rated the service
)
MAX_URL = 2048


def shown_url(url: str) -> str:
    """A hook's URL as anyone but an admin sees it (the audit log, the ops view): its scheme and host only,
    as the rest can be a secret in itself (a Slack incoming webhook's path is)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


class HookFormat(StrEnum):
    JSON = "json"  # {"type", "timestamp", "data"}, signed (Standard Webhooks)
    SLACK = "slack"  # an incoming-webhook message for a channel


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
