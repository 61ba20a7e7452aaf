"""Deliveries to hooks in Redis: queued with the change that caused them (through the desk events), taken
by a worker under a lease, settled with what the receiver answered. At least once, with the same
webhook-id on every attempt of one event; retried with exponential backoff for HANDOVER_HOOKS_RETRY_HOURS,
then set aside (`hooks deliveries --failed`, `hooks replay`). A hook that keeps failing has its breaker
opened: its deliveries wait, unposted, until it closes, and no other hook ever waits for it."""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
from redis.asyncio import Redis as AsyncRedis
from redis.client import Pipeline

from handover import keys, lua

LEASE_SECONDS = 60.0  # a worker that died posting: its deliveries are taken again after this
FIRST_RETRY_SECONDS = 5.0
LONGEST_RETRY_SECONDS = 3600.0
BREAKER_FAILURES = 5  # failures in a row that open a hook's breaker
BREAKER_SECONDS = 60.0  # how long it first stays open; doubled each time it opens again, up to:
BREAKER_LONGEST_SECONDS = 600.0


@dataclass
class Delivery:
    id: str  # the webhook-id: one event for one hook, the same on every attempt
    hook: str
    type: str
    at: float  # when the event happened
    body: str  # exactly what is posted and signed
    attempts: int = 0
    first_at: float = 0.0  # when it was queued: retries stop HANDOVER_HOOKS_RETRY_HOURS after
    last_error: str | None = None
    number: str | None = None

    def dump(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def load(cls, raw: str | bytes) -> Delivery:
        return cls(**json.loads(raw))


@dataclass
class Breaker:
    failures: int = 0  # in a row
    opened: int = 0  # how many times in a row it opened
    open_until: float = 0.0

    def is_open(self, now: float) -> bool:
        return self.open_until > now


@dataclass
class Settled:
    delivery: Delivery
    status: int | None
    error: str | None
    seconds: float
    at: float
    next_at: float | None = None  # when it is tried again; None: delivered, or given up
    gave_up: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


def queue(pipe: Pipeline, delivery: Delivery) -> None:
    """Queue a delivery on the caller's transaction, due at once. Queued twice (an event read again), it
    is the same delivery: its id is the event's and the hook's."""
    pipe.hsetnx(keys.HOOKS_PENDING, delivery.id, delivery.dump())
    pipe.zadd(keys.HOOKS_DUE, {delivery.id: delivery.first_at}, nx=True)


def take(client: redis.Redis, now: float, limit: int) -> list[Delivery]:
    """Up to `limit` deliveries due by now, leased to this worker for LEASE_SECONDS."""
    found = lua.run(
        client, "hooks_claim", [keys.HOOKS_DUE, keys.HOOKS_PENDING], [now, now + LEASE_SECONDS, limit]
    )
    return [Delivery.load(found[i + 1]) for i in range(0, len(found), 2)]


def later(client: redis.Redis, delivery_ids: list[str], at: float) -> None:
    """Leave deliveries for later, unposted (their hook's breaker is open, or it has enough in flight)."""
    if delivery_ids:
        client.zadd(keys.HOOKS_DUE, dict.fromkeys(delivery_ids, at))


def drop(client: redis.Redis, delivery_id: str) -> None:
    """Forget a delivery whose hook was removed."""
    with client.pipeline(transaction=True) as pipe:
        pipe.hdel(keys.HOOKS_PENDING, delivery_id)
        pipe.zrem(keys.HOOKS_DUE, delivery_id)
        pipe.execute()


def breakers(client: redis.Redis) -> dict[str, Breaker]:
    return {keys.as_text(k): Breaker(**json.loads(v)) for k, v in client.hgetall(keys.HOOKS_BREAKERS).items()}


def backoff(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: 5 s, 10 s, 20 s... up to an hour, with ±20 % jitter so that
    many deliveries failed together do not come back together."""
    base = min(FIRST_RETRY_SECONDS * 2.0 ** max(0, attempts - 1), LONGEST_RETRY_SECONDS)
    return float(base * random.uniform(0.8, 1.2))


def settle(
    client: redis.Redis,
    delivery: Delivery,
    status: int | None,
    error: str | None,
    seconds: float,
    now: float,
    retry_seconds: float,
) -> Settled:
    """What an attempt came to, written in one transaction: delivered (gone from the queue), tried again
    later, or given up (set aside); the attempt logged, the hook's counters and breaker updated."""
    delivery.attempts += 1
    delivery.last_error = error
    outcome = Settled(delivery, status, error, seconds, now)
    raw = client.hget(keys.HOOKS_BREAKERS, delivery.hook)
    breaker = Breaker(**json.loads(raw)) if raw else Breaker()
    with client.pipeline(transaction=True) as pipe:
        if error is None:
            pipe.hdel(keys.HOOKS_PENDING, delivery.id)
            pipe.zrem(keys.HOOKS_DUE, delivery.id)
            breaker = Breaker()
            _count(pipe, delivery.hook, "sent", seconds)
        else:
            breaker.failures += 1
            if breaker.failures >= BREAKER_FAILURES and not breaker.is_open(now):
                breaker.opened += 1
                wait = min(BREAKER_SECONDS * 2 ** (breaker.opened - 1), BREAKER_LONGEST_SECONDS)
                breaker.open_until = now + wait
                pipe.hincrby(keys.HOOKS_COUNTERS, f"breaker_opened:{delivery.hook}", 1)
            _count(pipe, delivery.hook, "failed", seconds)
            delay = backoff(delivery.attempts)
            if now + delay - delivery.first_at > retry_seconds:
                outcome.gave_up = True
                pipe.hdel(keys.HOOKS_PENDING, delivery.id)
                pipe.zrem(keys.HOOKS_DUE, delivery.id)
                pipe.lpush(keys.HOOKS_DEAD, delivery.dump())
                pipe.ltrim(keys.HOOKS_DEAD, 0, keys.HOOKS_DEAD_KEPT - 1)
            else:
                outcome.next_at = max(now + delay, breaker.open_until)
                pipe.hset(keys.HOOKS_PENDING, delivery.id, delivery.dump())
                pipe.zadd(keys.HOOKS_DUE, {delivery.id: outcome.next_at})
        pipe.hset(keys.HOOKS_BREAKERS, delivery.hook, json.dumps(asdict(breaker)))
        entry = {
            "id": delivery.id,
            "hook": delivery.hook,
            "type": delivery.type,
            "attempt": delivery.attempts,
            "at": now,
            "status": status,
            "error": error,
            "seconds": round(seconds, 3),
            "next_at": outcome.next_at,
            "gave_up": outcome.gave_up,
        }
        pipe.lpush(keys.HOOKS_LOG, json.dumps(entry))
        pipe.ltrim(keys.HOOKS_LOG, 0, keys.HOOKS_LOG_KEPT - 1)
        pipe.execute()
    return outcome


def _count(pipe: Pipeline, hook: str, what: str, seconds: float) -> None:
    pipe.hincrby(keys.HOOKS_COUNTERS, f"{what}:{hook}", 1)
    pipe.hincrbyfloat(keys.HOOKS_COUNTERS, f"seconds_sum:{hook}", seconds)
    pipe.hincrby(keys.HOOKS_COUNTERS, f"seconds_count:{hook}", 1)


def attempts(client: redis.Redis, failed: bool = False, limit: int = 50) -> list[dict[str, Any]]:
    """The newest attempts, newest first (only the failed ones with `failed`)."""
    found = [json.loads(raw) for raw in client.lrange(keys.HOOKS_LOG, 0, keys.HOOKS_LOG_KEPT - 1)]
    return [a for a in found if not failed or a["error"] is not None][:limit]


def given_up(client: redis.Redis) -> list[Delivery]:
    return [Delivery.load(raw) for raw in client.lrange(keys.HOOKS_DEAD, 0, -1)]


def replay(client: redis.Redis, now: float, ids: list[str] | None = None, since: float | None = None) -> int:
    """Queue again the deliveries given up on (those with these ids, or whose event happened since), with
    their ids: a receiver that saw one already knows it. Returns how many."""
    chosen: list[tuple[bytes | str, Delivery]] = []
    for raw in client.lrange(keys.HOOKS_DEAD, 0, -1):
        delivery = Delivery.load(raw)
        if (ids is not None and delivery.id in ids) or (since is not None and delivery.at >= since):
            chosen.append((raw, delivery))
    with client.pipeline(transaction=True) as pipe:
        for raw, delivery in chosen:
            pipe.lrem(keys.HOOKS_DEAD, 1, raw)
            delivery.attempts, delivery.first_at, delivery.last_error = 0, now, None
            queue(pipe, delivery)
        pipe.execute()
    return len(chosen)


def counters(client: redis.Redis) -> dict[str, float]:
    return {keys.as_text(k): float(v) for k, v in client.hgetall(keys.HOOKS_COUNTERS).items()}


async def figures(client: AsyncRedis) -> tuple[dict[str, float], dict[str, Breaker]]:
    """The counters and breakers, for /metrics (the web process reads them asynchronously)."""
    async with client.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.HOOKS_COUNTERS)
        pipe.hgetall(keys.HOOKS_BREAKERS)
        raw_counters, raw_breakers = await pipe.execute()
    counted = {keys.as_text(k): float(v) for k, v in raw_counters.items()}
    return counted, {keys.as_text(k): Breaker(**json.loads(v)) for k, v in raw_breakers.items()}
