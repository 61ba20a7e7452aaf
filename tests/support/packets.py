"""A context packet as an escalation writes it, for tests that need a waiting or held conversation to have
one (how many transfers it had: the KPIs count them at resolve)."""

from __future__ import annotations

from handover.packet import (
    Channel,
    ContextPacket,
    Customer,
    EscalationView,
    IdentityView,
    IntentView,
    Transfer,
    TriggerMessage,
)


def packet_with_transfers(conversation_id: str, queue: str, transfers: int, at: float) -> ContextPacket:
    """A customer who asked for a person, then moved `transfers` times (cold, between queues)."""
    moves = [
        Transfer.model_validate({"from": "general", "to": queue, "mode": "cold", "reason": "test", "at": at})
        for _ in range(transfers)
    ]
    return ContextPacket(
        conversation_id=conversation_id,
        channel=Channel(phone_number_id="PN"),
        customer=Customer(),
        identity=IdentityView(),
        intent=IntentView(name="human_request"),
        escalation=EscalationView(
            reason="customer_asked",
            rule="intents.human_request",
            rules_version="test",
            at=at,
            trigger_message=TriggerMessage(id=f"wamid.{conversation_id}"),
        ),
        queue=queue,
        priority="normal",
        summary="",
        transcript=[],
        transfers=moves,
    )
