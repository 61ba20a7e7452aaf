"""What the bot's escalation does to a conversation, inside the batch that decided it: the conversation
goes to its queue with the rule's priority, the agent's context packet is built from everything so far
(what is stored and what the batch adds), and the batch's commit saves the packet, tells the queue's wait
estimate once and counts it. The rules decide *whether* (handover/rules/bot.py `_escalate`); the state
change itself is lifecycle's (`Lifecycle.follow`, from the batch's write in processing.py)."""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from redis.client import Pipeline

from handover import botstats
from handover.assignment.queues import note_told
from handover.bot import EscalationDecision
from handover.conversation import Conversation, ConversationState
from handover.message import InboundMessage
from handover.packet import ContextPacket, build_packet
from handover.store import Store
from handover.transcript import TranscriptEntry, placed

log = structlog.get_logger(__name__)

# How far back the sticky agent is looked for: the customer's last conversations a person served, not only
# the last one (which the bot may have handled alone).
STICKY_LOOKBACK = 5


def queue(
    conversation: Conversation, escalation: EscalationDecision, message: InboundMessage, now: float
) -> None:
    """The conversation waits in the escalation's queue from `now`, with its priority."""
    conversation.move_to(ConversationState.QUEUED, now)
    conversation.queue = escalation.queue
    conversation.priority = escalation.priority
    log.info(
        "handover_requested",
        conversation_id=conversation.id,
        message_id=message.id,
        queue=escalation.queue,
        reason=escalation.reason,
        rule=escalation.rule,
    )


def packet(
    store: Store,
    conversation: Conversation,
    escalation: EscalationDecision,
    fresh: Iterable[TranscriptEntry],
    language: str,
) -> ContextPacket:
    """The packet the agent reads first: what is stored, and `fresh` (this batch's entries of the
    conversation, not yet committed). Sets what push queues route on: the skills asked and the agent who
    last served the customer."""
    stored = store.transcript(conversation.id)
    known = {e.id for e in stored}
    transcript = placed(stored, [e for e in fresh if e.id not in known])
    past = store.past_conversations(conversation)
    conversation.skills = list(escalation.skills)
    conversation.previous_agent = next(
        (c.agent_id for c in store.conversations(past[:STICKY_LOOKBACK]) if c and c.agent_id), None
    )
    return build_packet(conversation, escalation, transcript, language, past)


def write(
    pipe: Pipeline,
    store: Store,
    escalations: list[tuple[Conversation, EscalationDecision]],
    packets: list[ContextPacket],
) -> None:
    """In the batch's commit: each packet saved, the wait the escalation told noted (so the queue's
    announcements do not tell it again), the bot's idle clock forgotten, and the escalations counted."""
    for (conversation, escalation), made in zip(escalations, packets, strict=True):
        botstats.forget_idle(pipe, conversation.id)
        store.save_packet(pipe, made)
        if escalation.wait_told is not None:
            note_told(pipe, conversation.id, escalation.wait_told, escalation.at)
    Store.count(pipe, "escalations", len(escalations))
