"""One-off repairs of data written by an earlier version, run when a worker starts (each once per Redis: a
marker key says it was done; running it twice changes nothing)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis
import structlog

from handover import keys
from handover.numbers import Numbers, known

log = structlog.get_logger(__name__)


def forget_typed_identity(client: redis.Redis, batch: int = 1000) -> int:
    """Before identity values got a key of their own with a TTL (hv:identity:<id>), the bot kept the CPF or
    birth date typed so far in the conversation hash (`bot.pending_identity`), with no end. Drop them from
    every conversation; how many were cleaned."""
    if client.exists(keys.UPGRADED_TYPED_IDENTITY):
        return 0
    cleaned = 0
    for key in client.scan_iter(match=keys.conversation_key("*"), count=batch, _type="hash"):
        raw = client.hget(key, "bot")
        if not raw or "pending_identity" not in keys.as_text(raw):
            continue
        bot = json.loads(raw)
        bot.pop("pending_identity", None)
        client.hset(key, "bot", json.dumps(bot, ensure_ascii=False))
        cleaned += 1
    client.set(keys.UPGRADED_TYPED_IDENTITY, "1")
    if cleaned:
        log.info("upgrade_typed_identity_forgotten", conversations=cleaned)
    return cleaned


_CHUNK = 1000  # members moved per transaction
_KEPT_WAITS = 200  # as lua/lib/take.lua trims a waits list (waits.WAITS_KEPT)


@dataclass
class QueuesMoved:
    """What `queues_per_number` did: conversations moved into their number's queue (and activity index)
    entries, waits lists moved, entries dropped (their conversation is gone), the numbers found."""

    conversations: int = 0
    activity: int = 0
    waits: int = 0
    dropped: int = 0
    numbers: list[str] = field(default_factory=list)
    already: bool = False  # done before on this Redis: nothing looked at

    def __str__(self) -> str:
        if self.already:
            return "queues per number: done before"
        return (
            f"queues per number: {self.conversations} waiting conversations and {self.activity} activity "
            f"entries moved to their number's queues, {self.waits} waits lists, {self.dropped} entries of "
            f"conversations gone dropped; numbers: {', '.join(self.numbers) or 'none'}"
        )


def queues_per_number(
    client: redis.Redis, numbers: Numbers | None = None, configured: list[str] | None = None
) -> QueuesMoved:
    """Before queues were per business number, every number's customers waited in one `hv:queue:<name>`
    (with its `:waits` list and the desk's `hv:activity:waiting:<name>`). Move each waiting conversation to
    `hv:{<its phone_number_id>}:queue:<name>` at the same score (its place), and the same for the activity
    index; register the numbers found (numbers.known lists them from then on).

    A waits list names no conversation: its samples go to that queue of every number known (found in the
    queues, registered, listed or configured), so each number's estimate keeps working from the start and
    becomes its own as its waits replace them (200 kept). With no number known it stays where it was.
    Each chunk moves in one transaction (added at the new key, removed from the old), so a run cut short
    goes on where it stopped; once done, a marker key makes it a no-op."""
    if client.exists(keys.UPGRADED_QUEUES):
        return QueuesMoved(already=True)
    moved = QueuesMoved()
    found: set[str] = set()
    for old, name in _old_keys(client, keys.old_queue_key("*"), "zset", keys.old_queue_key("")):
        moved.conversations += _move_members(client, old, name, keys.queue_key, found, moved)
    old_activity = keys.old_activity_waiting_key("")
    for old, name in _old_keys(client, old_activity + "*", "zset", old_activity):
        moved.activity += _move_members(client, old, name, keys.activity_waiting_key, found, moved)
    found |= _numbers_held(client)  # a held one may go back to its queue: its number's must be read
    for number in sorted(found):
        client.sadd(keys.NUMBERS, number)
    every = known(client, numbers or Numbers(Path("rules.yaml")), configured)
    for old, name in _old_keys(client, keys.old_queue_waits_key("*"), "list", keys.old_queue_key("")):
        name = name.removesuffix(":waits")
        if not every:
            continue
        samples = client.lrange(old, 0, _KEPT_WAITS - 1)
        with client.pipeline(transaction=True) as pipe:
            for number in every:
                if samples:  # older than any written since: after them, newest first
                    pipe.rpush(keys.queue_waits_key(number, name), *samples)
                    pipe.ltrim(keys.queue_waits_key(number, name), 0, _KEPT_WAITS - 1)
            pipe.delete(old)
            pipe.execute()
        moved.waits += 1
    moved.numbers = every
    client.set(keys.UPGRADED_QUEUES, "1")
    if moved.conversations or moved.activity or moved.waits:
        log.info(
            "upgrade_queues_per_number",
            conversations=moved.conversations,
            activity=moved.activity,
            waits=moved.waits,
            dropped=moved.dropped,
            numbers=len(every),
        )
    return moved


def _numbers_held(client: redis.Redis) -> set[str]:
    """The numbers of the conversations agents hold now (their load sets)."""
    held = {
        keys.as_text(c)
        for agent_id in client.smembers(keys.AGENTS)
        for c in client.smembers(keys.agent_load_key(keys.as_text(agent_id)))
    }
    with client.pipeline(transaction=False) as pipe:
        for conversation_id in held:
            pipe.hget(keys.conversation_key(conversation_id), "phone_number_id")
        found = pipe.execute()
    return {keys.as_text(n) for n in found if n}


def _old_keys(client: redis.Redis, match: str, kind: str, prefix: str) -> list[tuple[str, str]]:
    """The old layout's keys of one kind, with the queue name each is for."""
    found = {keys.as_text(k) for k in client.scan_iter(match=match, count=1000, _type=kind)}
    return sorted((key, key.removeprefix(prefix)) for key in found if "{" not in key)


def _move_members(
    client: redis.Redis,
    old: str,
    name: str,
    key_of: Callable[[str, str], str],
    found: set[str],
    moved: QueuesMoved,
) -> int:
    """Each member of the zset `old` to `key_of(its number, name)` at its score; a member whose
    conversation is gone (or has no number) is dropped. Returns how many moved."""
    count = 0
    while entries := client.zrange(old, 0, _CHUNK - 1, withscores=True):
        ids = [keys.as_text(m) for m, _ in entries]
        with client.pipeline(transaction=False) as read:
            for conversation_id in ids:
                read.hget(keys.conversation_key(conversation_id), "phone_number_id")
            numbers = [keys.as_text(n) for n in read.execute()]
        with client.pipeline(transaction=True) as pipe:
            for conversation_id, (_, score), number in zip(ids, entries, numbers, strict=True):
                if number:
                    pipe.zadd(key_of(number, name), {conversation_id: score})
                    found.add(number)
                    count += 1
                else:
                    moved.dropped += 1
            pipe.zrem(old, *ids)
            pipe.execute()
    return count
