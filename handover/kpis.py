"""Support KPIs by the hour: what /metrics counts for ever, also kept in hourly buckets, so a supervisor
can read the last hours (escalations, claims, resolves, transfers, CSAT, waits and handle times).

Every bucket is a Redis hash `hv:kpi:<hours since the epoch>` that expires after HOURS_KEPT; it is
written in the same transaction or script as the counter it mirrors, so the two never disagree."""

from __future__ import annotations

from typing import Any

import redis
from pydantic import BaseModel

from handover import keys

HOURS_KEPT = 8 * 24
TTL_SECONDS = (HOURS_KEPT + 1) * 3600
# counters mirrored by the hour (csat:<score> and transfers:<mode> by their prefix)
COUNTED = ("escalations", "claimed", "resolved", "released", "abandoned")
PREFIXED = ("csat:", "transfers:")
DURATIONS = ("queue_wait_seconds", "agent_first_reply_seconds", "handle_seconds")

# For the scripts that count inside Redis: bump a counter and its hour's bucket together.
BUMP_LUA = f"""
local function bump(counters, hour, field, by)
  redis.call('HINCRBYFLOAT', counters, field, by)
  redis.call('HINCRBYFLOAT', hour, field, by)
  redis.call('EXPIRE', hour, {TTL_SECONDS})
end
"""


def hour_key(at: float) -> str:
    return keys.kpi_hour_key(int(at // 3600))


def is_kpi(name: str) -> bool:
    base = name.removesuffix("_sum").removesuffix("_count")
    return name in COUNTED or name.startswith(PREFIXED) or base in DURATIONS


class Average(BaseModel):
    count: int
    average_seconds: float | None


class Csat(BaseModel):
    answers: int
    average_score: float | None
    by_score: dict[str, int]


class Kpis(BaseModel):
    """The last `hours` hours, the current one included."""

    hours: int
    since: float  # start of the oldest hour counted
    escalations: int
    claimed: int
    resolved: int
    released: int
    abandoned: int
    transfers: dict[str, int]
    csat: Csat
    queue_wait: Average
    agent_first_reply: Average
    handle: Average


def last_hours(client: redis.Redis, hours: int, now: float) -> Kpis:
    current = int(now // 3600)
    buckets = range(current - hours + 1, current + 1)
    with client.pipeline(transaction=False) as pipe:
        for hour in buckets:
            pipe.hgetall(keys.kpi_hour_key(hour))
        found = pipe.execute()
    total: dict[str, float] = {}
    for bucket in found:
        for name, value in bucket.items():
            total[keys.as_text(name)] = total.get(keys.as_text(name), 0.0) + float(value)

    def count(name: str) -> int:
        return round(total.get(name, 0.0))

    def average(name: str) -> Average:
        n = count(f"{name}_count")
        return Average(count=n, average_seconds=round(total.get(f"{name}_sum", 0.0) / n, 1) if n else None)

    scores = {name.removeprefix("csat:"): count(name) for name in sorted(total) if name.startswith("csat:")}
    answers = sum(scores.values())
    weighted = sum(int(score) * n for score, n in scores.items() if score.lstrip("-").isdigit())
    return Kpis(
        hours=hours,
        since=float(buckets[0] * 3600),
        escalations=count("escalations"),
        claimed=count("claimed"),
        resolved=count("resolved"),
        released=count("released"),
        abandoned=count("abandoned"),
        transfers={mode: count(f"transfers:{mode}") for mode in ("cold", "warm")},
        csat=Csat(
            answers=answers, average_score=round(weighted / answers, 2) if answers else None, by_score=scores
        ),
        queue_wait=average("queue_wait_seconds"),
        agent_first_reply=average("agent_first_reply_seconds"),
        handle=average("handle_seconds"),
    )


def mirror(pipe: Any, name: str, amount: float, at: float) -> None:
    """Queue the hourly copy of a counter's increment on the caller's pipeline."""
    key = hour_key(at)
    pipe.hincrbyfloat(key, name, amount)
    pipe.expire(key, TTL_SECONDS)
