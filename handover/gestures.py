"""WhatsApp's ways of answering besides a message of one's own (issue 29, item 2): quoting a message of the
conversation (Graph's `context.message_id`), reacting to one with an emoji, and showing the customer that
the agent is typing (Graph's `typing_indicator` on a read receipt). Agents name messages by their transcript
ids; WhatsApp knows them by its own ids, which these look up."""

from __future__ import annotations

import redis

from handover import keys
from handover.errors import Conflict, Invalid, NotFound
from handover.message import RECEIPTED
from handover.store import Store
from handover.transcript import Delivery

TYPING_SECONDS = 25  # WhatsApp shows "typing…" this long, or until the reply: one call per stretch is enough
REACTIONS_MOST = 16  # characters of one emoji, skin tones and joiners included


def whatsapp_id(store: Store, conversation_id: str, entry_id: str) -> str:
    """WhatsApp's id of a message in the conversation, from its transcript id: a customer's message is
    kept under its own; ours once WhatsApp took it (Conflict before: there is nothing to point at yet)."""
    entry = store.entry(conversation_id, entry_id)
    if entry is None:
        raise NotFound(f"no message {entry_id!r} in conversation {conversation_id}")
    if entry.direction == "in":
        return entry.id
    if entry.direction != "out":
        raise Invalid("a private note is not a message the customer has: it cannot be quoted or reacted to")
    raw = store.client.hget(keys.delivery_key(conversation_id), entry_id)
    wamid = Delivery.model_validate_json(raw).wa_message_id if raw else None
    if not wamid:
        raise Conflict("that message has not reached WhatsApp yet: try again in a moment")
    return wamid


def check_emoji(emoji: str) -> str:
    """One emoji (or "" to take a reaction back); Invalid for words."""
    emoji = emoji.strip()
    if len(emoji) > REACTIONS_MOST or any(c.isalnum() for c in emoji):
        raise Invalid("a reaction is one emoji, or empty to take it back")
    return emoji


def last_customer_message(store: Store, conversation_id: str) -> str | None:
    """WhatsApp's id of the customer's newest message in the transcript (what "typing…" is shown on)."""
    for entry in reversed(store.transcript(conversation_id)):
        if entry.direction == "in" and entry.kind in RECEIPTED:
            return entry.id
    return None


def typing_due(client: redis.Redis, conversation_id: str) -> bool:
    """Whether to tell WhatsApp again: at most once per TYPING_SECONDS per conversation, whoever types."""
    return bool(client.set(keys.typing_key(conversation_id), "1", nx=True, ex=TYPING_SECONDS))
