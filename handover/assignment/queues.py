"""Waiting queues in Redis: priority first, then the longest wait; positions, wait estimates and the
figures the desk shows, each read without loading a whole queue where a count or a range will do.

A queue is a business number's (`keys.queue_key(number, queue)`): the `general` queue of one number and
of another are two queues, and a customer's place counts only those of their own number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
from redis.client import Pipeline

from handover import keys
from handover.clock import Clock, system_clock
from handover.rules.model import Hours, Priority
from handover.waits import WAITS_KEPT, Wait, seconds_per_place

PRIORITY_SPAN = 10**13  # milliseconds: each priority level sorts entirely before the next lower one


def queue_score(priority: Priority, enqueued_at: float) -> int:
    return (Priority.URGENT.weight - priority.weight) * PRIORITY_SPAN + int(enqueued_at * 1000)


def enqueued_at(score: float) -> float:
    """When a conversation joined its queue, from its score."""
    return (int(score) % PRIORITY_SPAN) / 1000


def enqueue(
    pipe: Pipeline, number: str, queue: str, conversation_id: str, priority: Priority, at: float
) -> None:
    """Put a conversation in exactly one queue of its number (any earlier place is removed by the caller's
    state change)."""
    pipe.zadd(keys.queue_key(number, queue), {conversation_id: queue_score(priority, at)})


def best_heads(
    client: redis.Redis, queues: list[tuple[str, str]], count: int
) -> tuple[list[tuple[str, str]], list[str]]:
    """For a claim across `queues` ((number, queue) pairs), in one read of each queue's first `count`: the
    pairs of the number whose first waiting conversation is the best (lowest score: priority, then age) and
    those first conversations of its queues, the candidates a claim chooses from. When nothing waits: the
    pairs still if they are of one number (the script then answers, `full` at capacity before `empty`),
    else ([], []). One claim script call then takes from one number's queues only."""
    with client.pipeline(transaction=False) as pipe:
        for number, queue in queues:
            pipe.zrange(keys.queue_key(number, queue), 0, count - 1, withscores=True)
        heads = pipe.execute()
    best: dict[str, float] = {}
    for (number, _), head in zip(queues, heads, strict=True):
        if head:
            best[number] = min(best.get(number, float("inf")), float(head[0][1]))
    if not best:
        return (queues if len({number for number, _ in queues}) == 1 else []), []
    chosen = min(best, key=lambda number: (best[number], number))
    pairs = [pair for pair in queues if pair[0] == chosen]
    found = (head for (number, _), head in zip(queues, heads, strict=True) if number == chosen)
    return pairs, list(dict.fromkeys(keys.as_text(c) for head in found for c, _ in head))


def note_told(pipe: Pipeline, conversation_id: str, wait: str, at: float) -> None:
    """Remember what a waiting customer was last told of their wait, and when."""
    pipe.hset(keys.announced_key(conversation_id), mapping={"wait": wait, "at": at})


# The score bands, one per priority: [start, start + PRIORITY_SPAN), most urgent first.
_BANDS = sorted((Priority.URGENT.weight - p.weight) * PRIORITY_SPAN for p in Priority)


@dataclass(frozen=True)
class QueueFigures:
    """One queue of one business number as the desk shows it: how many wait, since when the oldest, how
    many past the SLA."""

    number: str
    name: str
    waiting: int
    oldest_enqueued_at: float | None
    sla_breaches: int


@dataclass(frozen=True)
class LastTold:
    wait: str | None
    at: float


class Queues:
    """The waiting queues: who waits where, in the order agents take them."""

    def __init__(self, client: redis.Redis, clock: Clock = system_clock) -> None:
        self.client = client
        self.clock = clock

    def waiting(self, number: str, queue: str, start: int = 0, stop: int = -1) -> list[str]:
        """Conversation ids waiting in `number`'s `queue`, next to be taken first (ZRANGE's start/stop,
        inclusive)."""
        return [keys.as_text(c) for c in self.client.zrange(keys.queue_key(number, queue), start, stop)]

    def waiting_in(self, queues: list[tuple[str, str]]) -> list[str]:
        """Everyone waiting in these (number, queue) pairs, queue by queue, in one pipelined round trip."""
        with self.client.pipeline(transaction=False) as pipe:
            for number, queue in queues:
                pipe.zrange(keys.queue_key(number, queue), 0, -1)
            found = pipe.execute()
        return [keys.as_text(c) for ids in found for c in ids]

    def stats(
        self, queues: list[tuple[str, str]], sla: dict[tuple[str, str], int | None]
    ) -> list[QueueFigures]:
        """Counts, oldest wait and SLA breaches of each (number, queue) (`sla`: seconds per pair, by that
        number's rules; None for none), in one pipelined round trip: per priority band, its oldest entry
        and a count by score range."""
        now = self.clock()
        with self.client.pipeline(transaction=False) as pipe:
            for number, name in queues:
                key = keys.queue_key(number, name)
                pipe.zcard(key)
                for band in _BANDS:
                    pipe.zrangebyscore(key, band, band + PRIORITY_SPAN - 1, start=0, num=1, withscores=True)
                limit = sla.get((number, name))
                if limit is not None:
                    cutoff_ms = (now - limit) * 1000  # joined before this: waited longer than the SLA
                    for band in _BANDS:
                        pipe.zcount(key, band, f"({band + cutoff_ms!r}")
            replies = iter(pipe.execute())
        return [self._figures(pair, sla.get(pair) is not None, replies) for pair in queues]

    @staticmethod
    def _figures(pair: tuple[str, str], has_sla: bool, replies: Any) -> QueueFigures:
        waiting = int(next(replies))
        heads = [next(replies) for _ in _BANDS]
        breaches = sum(int(next(replies)) for _ in _BANDS) if has_sla else 0
        oldest = min((enqueued_at(head[0][1]) for head in heads if head), default=None)
        number, name = pair
        return QueueFigures(
            number=number, name=name, waiting=waiting, oldest_enqueued_at=oldest, sla_breaches=breaches
        )

    def last_told(self, conversation_id: str) -> LastTold:
        """What a waiting customer was last told of their wait (see `note_told`); at 0 when never."""
        raw = {
            keys.as_text(k): keys.as_text(v)
            for k, v in self.client.hgetall(keys.announced_key(conversation_id)).items()
        }
        return LastTold(wait=raw.get("wait"), at=float(raw.get("at", 0)))


class RedisQueueView:
    """Where a newcomer would stand, and how long one place in line has recently taken: in the queue of
    the customer's own business number."""

    def __init__(self, client: redis.Redis, clock: Clock = system_clock) -> None:
        self.client = client
        self.clock = clock

    def position(self, number: str, queue: str, priority: Priority, at: float) -> int:
        ahead = self.client.zcount(keys.queue_key(number, queue), "-inf", queue_score(priority, at))
        return int(ahead) + 1

    def typical_wait(
        self,
        number: str,
        queue: str,
        priority: Priority,
        hours: Hours | None,
        now: float,
    ) -> float | None:
        """Seconds one place in line takes, from the queue's recent waits of `priority` that began and
        ended inside `hours` (handover/waits.py); None when none did."""
        raw = self.client.lrange(keys.queue_waits_key(number, queue), 0, WAITS_KEPT - 1)
        waits = [w for w in (Wait.parse(keys.as_text(r)) for r in raw) if w is not None]
        return seconds_per_place(waits, priority, hours, now)
