"""What WhatsApp tells about a customer that is not the customer writing, applied to a batch's effects: their
number or id changed (handover/rekey.py), or a person wrote to them from the WhatsApp Business app on our
number (handover/coexistence.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from handover import botstats, coexistence, rekey
from handover.conversation import Conversation, ConversationState
from handover.message import InboundMessage
from handover.store import Store

if TYPE_CHECKING:  # the processor hands its batch's effects in
    from handover.traffic.processing import _Effects

log = structlog.get_logger(__name__)


def apply(store: Store, message: InboundMessage, effects: _Effects, now: float, pause_seconds: float) -> None:
    """A change of number or id, or an echo, into the batch's `effects` (written with the batch)."""
    if message.changed_from is not None:
        changed(store, message, effects, now)
    else:
        echoed(message, effects, now, pause_seconds)


def changed(store: Store, message: InboundMessage, effects: _Effects, now: float) -> None:
    """The customer changed number or id: their conversation goes on under the new one."""
    done = rekey.rekey(store, message, effects.conversations, effects.loaded, effects.entries, now)
    if done is not None:
        effects.rekeys.append(done.moved)
        effects.entries.append((done.conversation.id, done.entry))
        effects.ended += [done.folded] if done.folded is not None else []
        held = done.conversation
        effects.events.append(("customer_wrote", held.id, held.agent_id, held.queue))


def echoed(message: InboundMessage, effects: _Effects, now: float, pause_seconds: float) -> None:
    """Sent from the WhatsApp Business app: in the transcript, and with the bot it pauses it; with nobody
    yet (or a bot conversation a customer message would end as idle), it starts one the bot leaves to the
    phone, so the customer's answer is not the bot's to take."""
    conversation = effects.conversations.get(message.customer.routing_key)
    if conversation is not None and conversation.idle_with_bot(message.timestamp, botstats.IDLE_SECONDS):
        conversation.move_to(ConversationState.RESOLVED, now)  # as a customer message would end it
        effects.ended.append(conversation)
    if conversation is None or conversation.state.is_closed:
        conversation = Conversation.start(message.customer, now)
        effects.started.add(conversation.id)
        effects.conversations[message.customer.routing_key] = conversation
    entry = coexistence.entry(message, conversation.entry_count)
    if coexistence.heard(conversation, message, now, pause_seconds):
        log.info("bot_paused_by_phone", conversation_id=conversation.id, message_id=message.id)
    effects.entries.append((conversation.id, entry))
    effects.events.append(("customer_wrote", conversation.id, conversation.agent_id, conversation.queue))
