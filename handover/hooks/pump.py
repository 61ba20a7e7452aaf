"""The desk events, read by the workers in a consumer group of their own (`hooks`), become deliveries
(handover/hooks/outbox.py) for every hook that asked for them: queued and acknowledged in one transaction,
so an event is neither lost nor queued twice (a delivery's id is the event's and the hook's)."""

from __future__ import annotations

import json
from typing import Any

import redis
import structlog

from handover import keys
from handover.hooks import outbox, payload
from handover.hooks.events import hook_event
from handover.hooks.model import Hook
from handover.store import Store

log = structlog.get_logger(__name__)

RECLAIM_IDLE_MS = 60_000  # events a worker read and died before queueing: taken over after this
RECLAIM_EVERY_SECONDS = 10.0  # how often a worker looks for them (not on every read)


def ensure_group(client: redis.Redis) -> None:
    """The hooks' consumer group on the desk events, from now on (what happened before it is not told)."""
    try:
        client.xgroup_create(keys.DESK_EVENTS, keys.HOOKS_GROUP, id="$", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def pump(
    client: redis.Redis,
    hooks: list[Hook],
    consumer: str,
    now: float,
    block_ms: int = 200,
    count: int = 200,
    console_url: str = "",
    reclaim: bool = True,
) -> int:
    """Read the next desk events (and, with `reclaim`, any a dead worker left), queue their deliveries,
    acknowledge them. Returns how many deliveries were queued."""
    entries = _reclaimed(client, consumer, count) if reclaim else []
    if not entries:
        read = client.xreadgroup(
            keys.HOOKS_GROUP, consumer, {keys.DESK_EVENTS: ">"}, count=count, block=block_ms
        )
        entries = [entry for _, batch in read or [] for entry in batch]
    if not entries:
        return 0
    store = Store(client)
    deliveries = []
    for entry_id, fields in entries:
        entry_id = keys.as_text(entry_id)
        if not hooks or not fields:  # nobody listens, or an entry trimmed before it was read
            continue
        deliveries += _deliveries(store, hooks, entry_id, fields, now, console_url)
    with client.pipeline(transaction=True) as pipe:
        for delivery in deliveries:
            outbox.queue(pipe, delivery)
        pipe.xack(keys.DESK_EVENTS, keys.HOOKS_GROUP, *[keys.as_text(i) for i, _ in entries])
        pipe.execute()
    return len(deliveries)


def _reclaimed(client: redis.Redis, consumer: str, count: int) -> list[Any]:
    found = client.xautoclaim(
        keys.DESK_EVENTS, keys.HOOKS_GROUP, consumer, RECLAIM_IDLE_MS, start_id="0-0", count=count
    )
    claimed = found[1] if len(found) > 1 else []
    gone = found[2] if len(found) > 2 else []  # trimmed from the stream while pending: nothing to read
    if gone:
        client.xack(keys.DESK_EVENTS, keys.HOOKS_GROUP, *gone)
    return list(claimed)


def _deliveries(
    store: Store,
    hooks: list[Hook],
    entry_id: str,
    fields: dict[Any, Any],
    now: float,
    console_url: str,
) -> list[outbox.Delivery]:
    fields = {keys.as_text(k): keys.as_text(v) for k, v in fields.items()}
    kind = fields.get("type", "")
    try:
        data = json.loads(fields.get("data") or "{}")
        found = hook_event(store, kind, fields.get("conversation_id", ""), data)
    except Exception:  # one event the hooks cannot read never stops the others
        log.exception("hook_event_unreadable", entry_id=entry_id, type=kind)
        return []
    if found is None:
        return []
    name, number, out = found
    at = int(entry_id.split("-")[0]) / 1000
    event = payload.envelope(name, at, out)
    return [
        outbox.Delivery(
            id=f"msg_{entry_id.replace('-', '_')}_{hook.id}",
            hook=hook.id,
            type=name,
            at=at,
            body=payload.body(hook.format, event, console_url).decode(),
            first_at=now,
            number=number,
        )
        for hook in hooks
        if hook.wants(name, number)
    ]
