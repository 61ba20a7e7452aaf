"""Many conversations waiting for a person, written fast but through the services' own code: each is saved
by the Store and moved to its queue by Lifecycle.move (queue, activity index, `waiting` event), with an
escalation packet and a short transcript. For the desk's paging tests and the desk benchmark."""

from __future__ import annotations

from collections.abc import Sequence

import redis

from handover.bot import EscalationDecision
from handover.conversation import Conversation, ConversationState
from handover.lifecycle import Event, Lifecycle
from handover.message import CustomerRef
from handover.numbers import register
from handover.packet import build_packet
from handover.rules.model import Priority
from handover.store import Store
from handover.transcript import TranscriptEntry

PNID = "100000000000001"
CHUNK = 500


def seed_waiting(
    client: redis.Redis,
    who: Sequence[tuple[str, str, float]],
    *,
    priority: Priority = Priority.NORMAL,
    entries: int = 1,
    pnid: str = PNID,
) -> list[Conversation]:
    """(wa_id, queue, when) for each customer: a conversation that asked for a person then, waiting in
    that queue, with `entries` customer messages and its packet; written in pipelined chunks."""
    store, lifecycle = Store(client), Lifecycle(client)
    register(client, pnid)  # as the webhook does when a number first reaches it: its queues are read
    made: list[Conversation] = []
    for start in range(0, len(who), CHUNK):
        with client.pipeline(transaction=False) as pipe:
            for wa_id, queue, at in who[start : start + CHUNK]:
                customer = CustomerRef(
                    phone_number_id=pnid, wa_id=wa_id, profile_name=f"Cliente {wa_id[-4:]}"
                )
                conversation = Conversation.start(customer, at - 60)
                conversation.note_customer_message(customer, at - 60, at - 60)
                transcript = [
                    TranscriptEntry(
                        id=f"wamid.{conversation.id}.{n}",
                        direction="in",
                        at=at - 60 + n,
                        kind="text",
                        text="quero falar com um atendente",
                    )
                    for n in range(entries)
                ]
                escalation = EscalationDecision(
                    queue=queue,
                    priority=priority.value,
                    reason="customer_asked",
                    rule="intents.human_request",
                    rules_version="seed",
                    at=at,
                    trigger_message_id=transcript[-1].id if transcript else "wamid.none",
                )
                store.save_conversation(pipe, conversation)
                store.link_to_customer(pipe, conversation)
                for entry in transcript:
                    store.append_entry(pipe, conversation.id, entry)
                lifecycle.move(
                    pipe,
                    conversation,
                    ConversationState.QUEUED,
                    at,
                    queue=queue,
                    priority=priority,
                    events=[Event("waiting", queue=queue)],
                )
                store.save_packet(pipe, build_packet(conversation, escalation, transcript))
                made.append(conversation)
            pipe.execute()
    return made
