"""Desk events: what agents' screens must learn as it happens, appended to one capped Redis stream."""

from __future__ import annotations

import json
from typing import Any, Literal

from redis.client import Pipeline

from handover import keys

EventType = Literal[
    "waiting",
    "assigned",
    "customer_wrote",
    "transferred",
    "closed",
    "released",
    "transfer_offered",
    "transfer_accepted",
    "transfer_declined",
    "window_closing",
    "abandoned",
    "agent_status",
    "message_status",  # published by the store's delivery scripts (handover/store.py), not here
]


def publish(
    pipe: Pipeline,
    kind: EventType,
    conversation_id: str,
    *,
    agent_id: str | None = None,
    queue: str | None = None,
    **data: Any,
) -> None:
    """Queue an event on the caller's transaction: it exists exactly when what it announces does."""
    fields = {
        "type": kind,
        "conversation_id": conversation_id,
        "agent_id": agent_id or "",
        "queue": queue or "",
        "data": json.dumps(data, ensure_ascii=False),
    }
    pipe.xadd(keys.DESK_EVENTS, fields, maxlen=keys.DESK_EVENTS_KEPT, approximate=True)


def is_for(event: dict[str, str], agent_id: str, queues: list[str], supervisor: bool) -> bool:
    """An agent hears about their own conversations and what happens in their queues; supervisors, all."""
    if supervisor:
        return True
    return event.get("agent_id") == agent_id or (bool(event.get("queue")) and event["queue"] in queues)
