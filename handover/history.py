"""A customer's conversations on one business number, newest first (the current one included): what the desk
shows an agent beside the conversation they answer, and what lets them open the older ones read-only."""

from __future__ import annotations

from dataclasses import dataclass

from handover import keys
from handover.conversation import Conversation
from handover.packet import ContextPacket
from handover.store import Store


@dataclass(frozen=True)
class Past:
    conversation: Conversation
    intent: str | None  # what the escalation was about, else the last intent the bot recognised


def current_id(store: Store, phone_number_id: str, customer_key: str) -> str | None:
    found = store.client.hget(keys.customer_key(phone_number_id, customer_key), "conversation")
    return keys.as_text(found) if found else None


def customer_history(store: Store, phone_number_id: str, customer_key: str) -> list[Past]:
    """Up to the last HISTORY_KEPT conversations (handover/store.py), newest first, in three round trips."""
    history = keys.history_key(phone_number_id, customer_key)
    ids = [keys.as_text(c) for c in store.client.lrange(history, 0, -1)]
    conversations = store.conversations(ids)
    packets = store.client.mget([keys.packet_key(i) for i in ids]) if ids else []
    past = []
    for conversation, packet in zip(conversations, packets, strict=True):
        if conversation is None:
            continue  # gone (retention)
        intent = ContextPacket.model_validate_json(packet).intent.name if packet else conversation.bot.intent
        past.append(Past(conversation, intent))
    return past
