"""From the desk's events to the hooks' (handover/events.py is the source: everything that happens to a
conversation is published there with the change itself). Each hook event carries the conversation as
stored, and `handed_over` the whole context packet. What proves an identity is never kept, so never sent;
and what people wrote leaves the deployment masked as ops' views show it (handover/masking.py: digit runs
and e-mail addresses), so a CPF a customer typed unasked never reaches another system either. The
structured values stay: the verified customer reference and what the bot collected."""

from __future__ import annotations

from typing import Any

from handover.conversation import Conversation
from handover.hooks.model import HookConversation
from handover.masking import mask
from handover.packet import people_moves
from handover.store import Store

# desk event -> hook event; `waiting` and `closed` are told apart below
DIRECT = {
    "assigned": "assigned",
    "transfer_accepted": "assigned",
    "transferred": "transferred",
    "released": "released",
    "abandoned": "abandoned",
    "agent_silent": "agent_silent",
    "csat": "csat",
}


def summary(conversation: Conversation) -> dict[str, Any]:
    """The conversation as a receiver needs it to file or route it (model.HookConversation)."""
    return HookConversation(
        id=conversation.id,
        phone_number_id=conversation.phone_number_id,
        customer_key=conversation.customer_key,
        wa_id=conversation.wa_id,
        user_id=conversation.user_id,
        customer_name=conversation.profile_name,
        state=conversation.state.value,
        queue=conversation.queue,
        priority=conversation.priority,
        agent_id=conversation.agent_id,
        previous_agent=conversation.previous_agent,
        identity_verified=conversation.identity is not None,
        customer_reference=conversation.identity.customer_reference if conversation.identity else None,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
        resolved_at=conversation.resolved_at,
        csat_score=conversation.csat_score,
    ).model_dump(mode="json")


def masked(packet: dict[str, Any]) -> dict[str, Any]:
    """The packet with what people wrote masked: transcript texts and their content (captions, names of
    places...), the trigger message, notes."""
    for entry in packet.get("transcript") or []:
        if entry.get("text"):
            entry["text"] = mask(entry["text"])
        entry["content"] = _masked(entry.get("content") or {})
    for note in packet.get("notes") or []:
        if note.get("text"):
            note["text"] = mask(note["text"])
    trigger = (packet.get("escalation") or {}).get("trigger_message") or {}
    if trigger.get("text"):
        trigger["text"] = mask(trigger["text"])
    return packet


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def hook_event(
    store: Store, kind: str, conversation_id: str, data: dict[str, Any]
) -> tuple[str, str, dict[str, Any]] | None:
    """(hook event, the conversation's number, its data) for one desk event; None when hooks do not hear
    of it (presence, notes, deliveries...) or the conversation is gone."""
    if (kind not in DIRECT and kind not in ("waiting", "closed")) or not conversation_id:
        return None
    conversation = store.conversation(conversation_id)
    if conversation is None:
        return None
    out: dict[str, Any] = {"conversation": summary(conversation)}
    name = DIRECT.get(kind)
    if kind == "waiting":
        packet = store.packet(conversation_id)
        moved = packet is not None and bool(packet.transfers)
        name = "transferred" if moved else "handed_over"
        if packet is not None and not moved:
            out["packet"] = masked(packet.model_dump(mode="json", by_alias=True))
            out["escalation"] = {"reason": packet.escalation.reason, "rule": packet.escalation.rule}
        elif packet is not None:
            last = packet.transfers[-1]
            out["transfer"] = last.model_dump(mode="json", by_alias=True, exclude={"note"})
            out["transfers"] = len(people_moves(packet.transfers))
    elif kind == "closed":
        name = "resolved"
        out["reason"] = data.get("reason") or "resolved"
    elif kind == "abandoned":
        out["reason"] = data.get("reason")
    elif kind == "csat":
        out["score"] = conversation.csat_score
        out["option"] = conversation.csat
    elif kind == "transferred":
        out["reason"] = data.get("reason")
    assert name is not None
    return name, conversation.phone_number_id, out
