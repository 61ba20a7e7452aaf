"""The desk's activity index: every open conversation filed by its last change (`updated_at`) under where it
is (waiting in a queue, or held by an agent), so a page of the desk's list is a range read, however many
wait (handover/inbox.py reads it).

It is kept by one rule, `touch`, wherever a conversation's state, holder, queue or `updated_at` changes:
`Lifecycle.follow` (every move made in Python), the webhook's batches (traffic/processing.py) and, inside
the claim and finish scripts, its Lua twin `activity_touch` (handover/lua/lib/activity.lua), given the
keys `claim_keys`/`finish_keys` list. tests/unit/test_activity_guard.py holds every writer to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import redis
from redis.client import Pipeline

from handover import keys
from handover.conversation import ConversationState
from handover.unit import guarded

HELD = (ConversationState.ASSIGNED, ConversationState.TRANSFERRING)
BUILT_VERSION = "1"  # what ACTIVITY_BUILT holds once `rebuild` has run
_SPOT_FIELDS = ["state", "queue", "agent_id", "updated_at", "phone_number_id"]


class Spot(Protocol):
    """Where a conversation is: a Conversation, or lifecycle's Place (who holds it, where it waits)."""

    @property
    def state(self) -> ConversationState: ...

    @property
    def queue(self) -> str | None: ...

    @property
    def agent_id(self) -> str | None: ...

    @property
    def phone_number_id(self) -> str | None: ...  # the business number whose queue it waits in


class _Found:
    """A conversation's spot as read from its hash (for `rebuild`)."""

    def __init__(self, state: str, queue: str | None, agent_id: str | None, number: str | None) -> None:
        self.state = ConversationState(state)
        self.queue = queue
        self.agent_id = agent_id
        self.phone_number_id = number


class Tied(Protocol):
    """A position in the index: a score (`at`) and a member (`id`), as the desk's cursor holds them."""

    @property
    def at(self) -> float: ...

    @property
    def id(self) -> str: ...


def waiting_key(number: str | None, queue: str | None) -> str:
    """The index of the conversations of `number` waiting in `queue` (None: in any queue of any number)."""
    return (
        keys.ACTIVITY_WAITING if number is None or queue is None else keys.activity_waiting_key(number, queue)
    )


def held_key(agent_id: str | None) -> str:
    """The index of the conversations `agent_id` holds (None: anyone)."""
    return keys.ACTIVITY_HELD if agent_id is None else keys.activity_held_key(agent_id)


def index_keys(spot: Spot | None) -> list[str]:
    """The index keys a conversation is filed under: waiting ones by queue, held ones by holder; none
    for the bot's and closed ones (the desk lists only open conversations)."""
    if spot is None:
        return []
    if spot.state == ConversationState.QUEUED and spot.queue and spot.phone_number_id:
        return [waiting_key(None, None), waiting_key(spot.phone_number_id, spot.queue)]
    if spot.state in HELD:
        return [held_key(None)] + ([held_key(spot.agent_id)] if spot.agent_id else [])
    return []


def read_after(pipe: Pipeline, key: str, after: Tied | None, count: int) -> None:
    """Queue the reads of one index's entries after `after`, newest first: those tied with it (few: the
    same instant), then up to `count` below it. `entries_after` reads their replies."""
    if after is None:
        pipe.zrange(key, "+inf", "-inf", desc=True, byscore=True, offset=0, num=count, withscores=True)
        return
    at = repr(after.at)
    pipe.zrange(key, at, at, desc=True, byscore=True, withscores=True)
    pipe.zrange(key, f"({at}", "-inf", desc=True, byscore=True, offset=0, num=count, withscores=True)


def entries_after(replies: Iterator[Any], after: Tied | None) -> list[tuple[str, float]]:
    """(conversation id, score) of one `read_after`, taken from the pipeline's replies, newest first."""
    found = [(keys.as_text(m), float(s)) for m, s in next(replies)]
    if after is None:
        return found
    ties = [(i, at) for i, at in found if i < after.id]  # equal scores: Redis orders by member
    return ties + [(keys.as_text(m), float(s)) for m, s in next(replies)]


def touch(pipe: Pipeline, conversation_id: str, before: Spot | None, after: Spot, at: float) -> None:
    """File a conversation that was at `before` (None: nowhere yet) under where it is now, at `at` (its
    `updated_at`), on the caller's transaction. Nothing is written for one that stays with the bot or closed.

    One that stays where it was (a customer's message) only moves up where it is still filed (ZADD XX): a
    batch writes it without WATCHing it, and whoever moved it meanwhile has filed it where it went."""
    was, now = index_keys(before), index_keys(after)
    for key in was:
        if key not in now:
            pipe.zrem(key, conversation_id)
    for key in now:
        pipe.zadd(key, {conversation_id: at}, xx=was == now)


def claim_keys(agent_id: str, queues: list[tuple[str, str]]) -> list[str]:
    """What claim.lua passes to `activity_touch`: the waiting and held indexes, the agent's, then each
    queue's (`queues`: (number, queue) pairs, in the order the script gets them, so it picks the one it
    took from)."""
    return [
        keys.ACTIVITY_WAITING,
        keys.ACTIVITY_HELD,
        keys.activity_held_key(agent_id),
        *(keys.activity_waiting_key(n, q) for n, q in queues),
    ]


def take_keys(agent_id: str, number: str, queue: str) -> list[str]:
    """What the push scripts (assign.lua, accept_offer.lua) pass: where a waiting conversation of `number`'s
    `queue` was filed, then where it is filed once the agent holds it."""
    return [
        keys.ACTIVITY_WAITING,
        keys.activity_waiting_key(number, queue),
        keys.ACTIVITY_HELD,
        keys.activity_held_key(agent_id),
    ]


def finish_keys(agent_id: str) -> list[str]:
    """What finish.lua passes to `activity_touch`: where a conversation the agent held was filed."""
    return [keys.ACTIVITY_HELD, keys.activity_held_key(agent_id)]


def is_built(client: redis.Redis) -> bool:
    """Whether `rebuild` has filed what was written before the index existed."""
    return bool(keys.as_text(client.get(keys.ACTIVITY_BUILT)) == BUILT_VERSION)


def rebuild(
    client: redis.Redis, queues: list[tuple[str, str]], holders: list[str], offered: list[str]
) -> int:
    """File every open conversation found where the services keep them (the `queues`: (number, queue)
    pairs, the `holders'` load
    sets, the `offered` ids), then mark the index built: for data written before the index existed. Each
    chunk is read and filed in one WATCHed transaction, so a conversation moved meanwhile is read again
    rather than filed where it was. Returns how many it filed."""
    with client.pipeline(transaction=False) as pipe:
        for number, queue in queues:
            pipe.zrange(keys.queue_key(number, queue), 0, -1)
        for agent_id in holders:
            pipe.smembers(keys.agent_load_key(agent_id))
        found = pipe.execute()
    ids = sorted({keys.as_text(c) for members in found for c in members} | set(offered))
    filed = sum(_file(client, ids[start : start + _CHUNK]) for start in range(0, len(ids), _CHUNK))
    client.set(keys.ACTIVITY_BUILT, BUILT_VERSION)
    return filed


_CHUNK = 500


def _file(client: redis.Redis, chunk: list[str]) -> int:
    while True:
        try:
            with guarded(client, *(keys.conversation_key(c) for c in chunk)) as pipe:
                with client.pipeline(transaction=False) as read:  # WATCH sees changes from any connection
                    for conversation_id in chunk:
                        read.hmget(keys.conversation_key(conversation_id), _SPOT_FIELDS)
                    spots = [(c, _spot(row)) for c, row in zip(chunk, read.execute(), strict=True)]
                pipe.multi()
                filed = 0
                for conversation_id, (spot, at) in spots:
                    if spot is not None and index_keys(spot):
                        touch(pipe, conversation_id, None, spot, at)
                        filed += 1
            return filed
        except redis.WatchError:
            continue


def _spot(row: list[object]) -> tuple[_Found | None, float]:
    state, queue, agent_id, updated_at, number = (keys.as_text(v) for v in row)
    if state is None or updated_at is None:
        return None, 0.0  # gone
    return _Found(state, queue, agent_id, number), float(updated_at)
