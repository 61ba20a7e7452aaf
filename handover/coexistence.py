"""Coexistence: a person answering from the WhatsApp Business app on our number. What they send comes back
as an echo (`smb_message_echoes`); one to a customer the bot serves is a human takeover: the bot stays quiet
in that conversation until a supervisor releases it (POST /conversations/{id}/release), or until
`pause_seconds` (HANDOVER_PHONE_PAUSE_MINUTES) after the person's last echo, whichever comes first. An echo
to a conversation waiting for or held by an agent only goes into its transcript."""

from __future__ import annotations

import redis

from handover import keys
from handover.conversation import BotState, Conversation, ConversationState
from handover.events import publish
from handover.message import DeliveryStatus, InboundMessage
from handover.transcript import Delivery, TranscriptEntry

AUTHOR = "phone"  # the transcript's author of what was sent from the WhatsApp Business app
PAUSE_MINUTES = 240  # HANDOVER_PHONE_PAUSE_MINUTES' default
PAUSE_FIELD = "phone_paused_until"


def is_paused(conversation: Conversation, now: float) -> bool:
    """With the bot, and a person on the phone wrote to this customer lately: the bot does not answer."""
    until = conversation.phone_paused_until
    return conversation.state == ConversationState.BOT and until is not None and now < until


def heard(conversation: Conversation, message: InboundMessage, now: float, pause_seconds: float) -> bool:
    """An echo to this conversation: the bot pauses (or stays paused longer) when it is with the bot;
    whether it did. Nothing else changes: an echo is no customer message, it opens no 24-hour window."""
    conversation.messages_out += 1
    conversation.updated_at = now
    if conversation.state != ConversationState.BOT:
        return False
    conversation.phone_paused_until = max(conversation.phone_paused_until or 0.0, now + pause_seconds)
    return True


def entry(message: InboundMessage, seq: int) -> TranscriptEntry:
    """The echo as the transcript keeps it: sent to the customer, by the person on the phone, delivered by
    WhatsApp already (it was sent before we heard of it)."""
    kept = TranscriptEntry.from_inbound(message, seq)
    sent = Delivery(status=DeliveryStatus.SENT, wa_message_id=message.id, updated_at=float(message.timestamp))
    return kept.model_copy(update={"direction": "out", "author": AUTHOR, "delivery": sent})


def resume(client: redis.Redis, conversation: Conversation, agent_id: str) -> None:
    """Back to the bot after a takeover from the phone (the desk's release): its memory starts afresh, as
    after an agent's release."""
    key = keys.conversation_key(conversation.id)
    with client.pipeline(transaction=True) as pipe:
        pipe.hdel(key, PAUSE_FIELD)
        pipe.hset(key, "bot", BotState().model_dump_json())  # with the bot: in no desk index to move
        publish(pipe, "released", conversation.id, agent_id=agent_id)
        pipe.execute()
