"""Desk events: what agents' screens must learn as it happens, appended to one capped Redis stream."""

from __future__ import annotations

import json
from typing import Any, Literal

import redis
from redis.asyncio import Redis as AsyncRedis
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
    "offered",  # the assigner offers a waiting conversation to an agent (handover/lua/assign.lua)
    "offer_withdrawn",  # ... who declined, let it expire or left: it waits again (withdraw_offer.lua)
    "note_added",  # an agent's private note (handover/notes.py)
    "agent_silent",  # a customer message waited past the queue's agent_reply_seconds (handover clocks)
    "csat",  # the customer rated the service (hooks hear of it; desks refresh)
    "agent_removed",  # their token is dead: every web process closes their streams (assignment/removal.py)
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


# The web process's one reader of the stream (desk/live.py) reads through these


async def newest_id(client: AsyncRedis) -> str:
    """Where the stream ends now ("0-0" when empty): reading on from there misses nothing published later."""
    return _newest(await client.xrevrange(keys.DESK_EVENTS, count=1))


async def read_after(
    client: AsyncRedis, after: str, block_ms: int, count: int
) -> list[tuple[str, dict[str, str]]]:
    """Events after the id `after`, oldest first, waiting up to `block_ms` for one."""
    return _entries(await client.xread({keys.DESK_EVENTS: after}, block=block_ms, count=count))


# ... and the assigner (workers/assigner.py), on a thread of a worker, through these


def newest_id_now(client: redis.Redis) -> str:
    return _newest(client.xrevrange(keys.DESK_EVENTS, count=1))


def read_after_now(
    client: redis.Redis, after: str, block_ms: int, count: int
) -> list[tuple[str, dict[str, str]]]:
    return _entries(client.xread({keys.DESK_EVENTS: after}, block=block_ms, count=count))


async def numbers_of(client: AsyncRedis, conversation_ids: list[str]) -> dict[str, str]:
    """The business number of each conversation still stored, in one round trip: the web process's reader
    hands a person of some numbers only their numbers' events (a conversation's number never changes)."""
    async with client.pipeline(transaction=False) as pipe:
        for conversation_id in conversation_ids:
            pipe.hget(keys.conversation_key(conversation_id), "phone_number_id")
        found = await pipe.execute()
    return {c: keys.as_text(n) for c, n in zip(conversation_ids, found, strict=True) if n is not None}


def _newest(newest: Any) -> str:
    return keys.as_text(newest[0][0]) if newest else "0-0"


def _entries(replies: Any) -> list[tuple[str, dict[str, str]]]:
    return [
        (keys.as_text(entry_id), {keys.as_text(k): keys.as_text(v) for k, v in fields.items()})
        for _, entries in replies or []
        for entry_id, fields in entries
    ]
