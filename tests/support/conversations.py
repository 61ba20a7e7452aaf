"""Conversations stored the way the worker stores them: customer turns ingested as webhook items, then
drained through the real Processor with the rule bot, in this process (unit tests, the what-if bench)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio

from handover.assignment.queues import RedisQueueView
from handover.keys import Lane
from handover.message import CustomerRef, InboundKind, InboundMessage
from handover.rules.bot import RuleBot
from handover.rules.directory import RulesDirectory
from handover.rules.loader import LoadedRules
from handover.store import Store
from handover.traffic.enqueue import InboundItem, ingest
from handover.traffic.processing import Processor
from handover.traffic.streams import drain, ensure_groups

PARTITIONS = 4
PNID = "1122334455667"


@dataclass(frozen=True)
class Say:
    """One customer turn: a text, a tapped button (id and title), or a media kind."""

    text: str | None = None
    button: str | None = None
    media: str | None = None


def item(mid: str, wa_id: str, at: int, turn: Say) -> InboundItem:
    customer = CustomerRef(phone_number_id=PNID, wa_id=wa_id, profile_name="Cliente")
    if turn.media:
        kind, wa_type, text = InboundKind(turn.media), turn.media, None
    elif turn.button:
        kind, wa_type, text = InboundKind.BUTTON_REPLY, "interactive", turn.text or turn.button
    else:
        kind, wa_type, text = InboundKind.TEXT, "text", turn.text
    message = InboundMessage(
        id=mid,
        customer=customer,
        timestamp=at,
        kind=kind,
        wa_type=wa_type,
        text=text,
        reply_id=turn.button,
        media_id=f"media.{mid}" if turn.media else None,
    )
    return InboundItem(type="message", message=message)


async def _ingest(given: redis.asyncio.Redis, items: list[InboundItem]) -> None:
    # a client of its own on the same server, with a pool made in this event loop: connections made in
    # an earlier loop (an earlier call) are not usable here (with hiredis's parser they fail outright)
    pool = given.connection_pool
    aclient = redis.asyncio.Redis.from_pool(  # owns the pool: aclose() disconnects it
        type(pool)(connection_class=pool.connection_class, **pool.connection_kwargs)
    )
    try:
        for start in range(0, len(items), 500):
            await ingest(aclient, items[start : start + 500], PARTITIONS)
    finally:
        await aclient.aclose()  # its connections belong to this event loop, which ends here


def store_conversations(
    client: redis.Redis,
    aclient: redis.asyncio.Redis,
    loaded: LoadedRules,
    scripts: dict[str, list[tuple[int, Say]]],
    batch_size: int = 200,
) -> None:
    """Each customer (wa_id) says their turns at the given WhatsApp times; the worker's code stores them,
    `batch_size` messages a batch (1: each as if it came alone, e.g. a waiting customer's after the
    handover, which the worker hears only in a later batch than the one that handed over)."""
    ensure_groups(client, PARTITIONS)
    items = [
        item(f"wamid.{wa_id}.{n}", wa_id, at, turn)
        for wa_id, turns in scripts.items()
        for n, (at, turn) in enumerate(turns)
    ]
    asyncio.run(_ingest(aclient, items))
    store = Store(client)
    bot = RuleBot(lambda *_: loaded, RedisQueueView(client), RulesDirectory(lambda: loaded))
    processor = Processor(store=store, bot=bot, partitions=PARTITIONS, rules=lambda *_: loaded)
    while sum(
        drain(client, Lane.INBOUND, p, processor.handle, batch_size=batch_size, lease_seconds=30)
        for p in range(PARTITIONS)
    ):
        pass


def conversation_of(client: redis.Redis, wa_id: str) -> str:
    """The id of the customer's current conversation."""
    conversation = Store(client).current_conversation(CustomerRef(phone_number_id=PNID, wa_id=wa_id))
    assert conversation is not None, wa_id
    return conversation.id


def everything(client: Any) -> dict[str, Any]:
    """What Redis holds, key by key, as values (not DUMP bytes: a hash's dump changes when Redis rehashes
    it on a read, with the same content). Give a client without response decoding where rq keeps its
    pickles."""
    readers = {
        "string": client.get,
        "hash": client.hgetall,
        "list": lambda k: client.lrange(k, 0, -1),
        "set": client.smembers,
        "zset": lambda k: client.zrange(k, 0, -1, withscores=True),
        "stream": lambda k: client.xrange(k),
    }

    def kind(key: Any) -> str:
        found = client.type(key)
        return found.decode() if isinstance(found, bytes) else str(found)

    found = {k: kind(k) for k in client.keys("*")}
    # a key may expire between KEYS and TYPE (a lease, a wake-up marker): it is gone, not a write
    return {k: readers[t](k) for k, t in found.items() if t != "none"}
