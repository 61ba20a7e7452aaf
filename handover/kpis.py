"""Support KPIs by the hour: what /metrics counts for ever, also kept in hourly buckets, so a supervisor
can read the last hours (escalations, claims, resolves, transfers, CSAT, waits and handle times).

Every bucket is a Redis hash `hv:kpi:<hours since the epoch>` that expires after HOURS_KEPT; it is
written in the same transaction or script as the counter it mirrors, so the two never disagree. Per-agent
figures (`agent:<id>:<name>`: resolved, handle time, CSAT) live only in the buckets, not in /metrics,
whose labels should stay few."""

from __future__ import annotations

import json
from typing import Any

import redis
from pydantic import BaseModel

from handover import keys
from handover.assignment.queues import enqueued_at

HOURS_KEPT = 8 * 24
TTL_SECONDS = (HOURS_KEPT + 1) * 3600
OFFERS = ("offers", "offers_accepted", "offers_declined", "offers_expired", "offers_withdrawn")
# taken within the queue's sla_seconds or not (lua/lib/take.lua), and how many transfers a resolved
# conversation had (lua/finish.lua): overall and per queue, in the buckets and the counters
SERVICE = ("sla_met", "sla_missed")
TRANSFERS_FIELD = "resolved_transfers:"
# counters mirrored by the hour (csat:<score> and transfers:<mode> by their prefix)
# the clocks on held conversations (handover clocks) and the way out of the queue
CLOCKS = ("agent_silent", "agent_silent_requeued", "idle_reminded", "idle_closed")
COUNTED = ("escalations", "claimed", "resolved", "released", "abandoned", *OFFERS, *CLOCKS, *SERVICE)
PREFIXED = ("csat:", "transfers:", "abandoned:", TRANSFERS_FIELD)
ABANDON_REASONS = ("customer_left", "window_closed")
DURATIONS = ("queue_wait_seconds", "agent_first_reply_seconds", "handle_seconds", "assign_seconds")
TRANSFER_BANDS = ("0", "1", "2", "3+")
WAITS_KEPT = 1000  # per hour and reason: waits kept for the median before abandoning


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


class Offers(BaseModel):
    """Push queues' offers: made, then accepted, declined, expired or withdrawn (the agent left)."""

    offered: int
    accepted: int
    declined: int
    expired: int
    withdrawn: int


class AgentKpis(BaseModel):
    resolved: int
    handle: Average
    csat: Csat
    assigned: int  # conversations that became theirs: claimed, assigned or accepted
    offers: Offers


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
    time_to_assign: Average  # push queues: from asking for a person to the assigner's agent having it
    offers: Offers
    agents: dict[str, AgentKpis]  # by agent id: what each resolved, how fast, how it was rated


def last_hours(client: redis.Redis, hours: int, now: float) -> Kpis:
    current = int(now // 3600)
    buckets = range(current - hours + 1, current + 1)
    with client.pipeline(transaction=False) as pipe:
        for hour in buckets:
            pipe.hgetall(keys.kpi_hour_key(hour))
        found = pipe.execute()
    overall = _Sums()
    agents: dict[str, _Sums] = {}
    for bucket in found:
        for raw, value in bucket.items():
            name = keys.as_text(raw)
            if name.startswith("agent:") and name.count(":") >= 2:
                _, agent_id, field = name.split(":", 2)
                agents.setdefault(agent_id, _Sums()).add(field, float(value))
            else:
                overall.add(name, float(value))
    return Kpis(
        hours=hours,
        since=float(buckets[0] * 3600),
        escalations=overall.count("escalations"),
        claimed=overall.count("claimed"),
        resolved=overall.count("resolved"),
        released=overall.count("released"),
        abandoned=overall.count("abandoned"),
        transfers={mode: overall.count(f"transfers:{mode}") for mode in ("cold", "warm")},
        csat=overall.csat(),
        queue_wait=overall.average("queue_wait_seconds"),
        agent_first_reply=overall.average("agent_first_reply_seconds"),
        handle=overall.average("handle_seconds"),
        time_to_assign=overall.average("assign_seconds"),
        offers=overall.offers(),
        agents={
            agent_id: AgentKpis(
                resolved=sums.count("resolved"),
                handle=sums.average("handle_seconds"),
                csat=sums.csat(),
                assigned=sums.count("assigned"),
                offers=sums.offers(),
            )
            for agent_id, sums in sorted(agents.items())
        },
    )


class _Sums:
    """Fields summed over the hours asked for, read as counts, averages and a CSAT."""

    def __init__(self) -> None:
        self.total: dict[str, float] = {}

    def add(self, name: str, value: float) -> None:
        self.total[name] = self.total.get(name, 0.0) + value

    def count(self, name: str) -> int:
        return round(self.total.get(name, 0.0))

    def average(self, name: str) -> Average:
        n = self.count(f"{name}_count")
        mean = round(self.total.get(f"{name}_sum", 0.0) / n, 1) if n else None
        return Average(count=n, average_seconds=mean)

    def offers(self) -> Offers:
        return Offers(
            offered=self.count("offers"),
            accepted=self.count("offers_accepted"),
            declined=self.count("offers_declined"),
            expired=self.count("offers_expired"),
            withdrawn=self.count("offers_withdrawn"),
        )

    def csat(self) -> Csat:
        scores = {n.removeprefix("csat:"): self.count(n) for n in sorted(self.total) if n.startswith("csat:")}
        answers = sum(scores.values())
        weighted = sum(int(score) * n for score, n in scores.items() if score.lstrip("-").isdigit())
        mean = round(weighted / answers, 2) if answers else None
        return Csat(answers=answers, average_score=mean, by_score=scores)


def queue_prefix(queue: str) -> str:
    """What a queue's own figures' fields start with in the buckets."""
    return f"queue:{queue}:"


def tally(
    pipe: Any,
    name: str,
    at: float,
    *,
    queue: str | None = None,
    agent_id: str | None = None,
    amount: float = 1,
) -> None:
    """Queue one KPI event on the caller's transaction: the shared counter `name` (for /metrics), its
    hourly copy, and the hourly copies per queue and per agent when given."""
    if isinstance(amount, int):
        pipe.hincrby(keys.COUNTERS, name, amount)
    else:
        pipe.hincrbyfloat(keys.COUNTERS, name, amount)
    mirror(pipe, name, amount, at)
    if queue:
        mirror(pipe, queue_prefix(queue) + name, amount, at)
    if agent_id:
        for_agent(pipe, agent_id, name, amount, at)


def abandoned(pipe: Any, queue: str | None, reason: str, waited_seconds: float, at: float) -> None:
    """A waiting conversation that ended without an agent (`reason`: one of ABANDON_REASONS), with how
    long it had waited: counted, summed, and kept as a sample for the median (WAITS_KEPT an hour and
    reason, as `<queue> <seconds>`, for HOURS_KEPT)."""
    for name in ("abandoned", f"abandoned:{reason}"):
        tally(pipe, name, at, queue=queue)
    waited = round(max(0.0, waited_seconds), 3)
    tally(pipe, f"abandoned_wait_seconds:{reason}_sum", at, queue=queue, amount=waited)
    tally(pipe, f"abandoned_wait_seconds:{reason}_count", at, queue=queue)
    samples = keys.kpi_waits_key(int(at // 3600), reason)
    pipe.lpush(samples, f"{queue or ''} {waited}")
    pipe.ltrim(samples, 0, WAITS_KEPT - 1)
    pipe.expire(samples, TTL_SECONDS)


def taken(
    pipe: Any,
    queue: str,
    waited_seconds: float,
    sla_seconds: int | None,
    at: float,
    agent_id: str | None = None,
) -> None:
    """A waiting conversation an agent got outside the take scripts (a supervisor's assignment): counted
    as lua/lib/take.lua counts a claim, so service level and abandonment rate see it."""
    waited = round(max(0.0, waited_seconds), 3)
    tally(pipe, "claimed", at, queue=queue)
    if agent_id:
        for_agent(pipe, agent_id, "assigned", 1, at)
    pipe.hincrbyfloat(keys.COUNTERS, "queue_wait_seconds_sum", waited)
    pipe.hincrby(keys.COUNTERS, "queue_wait_seconds_count", 1)
    for name, amount in (("queue_wait_seconds_sum", waited), ("queue_wait_seconds_count", 1.0)):
        mirror(pipe, name, amount, at)
        mirror(pipe, queue_prefix(queue) + name, amount, at)
    if sla_seconds is not None:
        within = "sla_met" if waited <= sla_seconds else "sla_missed"
        tally(pipe, within, at, queue=queue)
        pipe.hincrby(keys.COUNTERS, queue_prefix(queue) + within, 1)  # per queue for /metrics, as take.lua


def waited(reader: Any, number: str, queue: str, conversation_id: str, now: float, otherwise: float) -> float:
    """How long a conversation waiting in `number`'s `queue` has waited (since `otherwise` when not found
    there)."""
    score = reader.zscore(keys.queue_key(number, queue), conversation_id)
    return now - (enqueued_at(score) if score is not None else otherwise)


def sla_arg(seconds: int | None) -> str:
    """A queue's sla_seconds as the take scripts read it ('': no SLA, not counted)."""
    return "" if seconds is None else str(seconds)


def slas_of(rules: Any) -> dict[str, int | None]:
    """Each queue's sla_seconds in the rules (handover.rules.model.Rules), for lifecycle.Lifecycle."""
    return {name: queue.sla_seconds for name, queue in rules.queues.items()}


def transfers_of(reader: Any, conversation_id: str) -> int:
    """How many transfers people made in the conversation (its context packet's, less the handover's own
    requeues; 0 without a packet)."""
    raw = reader.get(keys.packet_key(conversation_id))
    return len([t for t in json.loads(raw).get("transfers") or [] if not t.get("requeue")]) if raw else 0


def transfers_field(transfers: int) -> str:
    """The field counting resolved conversations that had this many transfers (0, 1, 2, 3+)."""
    return TRANSFERS_FIELD + TRANSFER_BANDS[min(max(transfers, 0), len(TRANSFER_BANDS) - 1)]


def agent_prefix(agent_id: str) -> str:
    """What an agent's own figures' fields start with in the buckets (scripts count them too)."""
    return f"agent:{agent_id}:"


def for_agent(pipe: Any, agent_id: str, name: str, amount: float, at: float) -> None:
    """Queue a per-agent figure (buckets only)."""
    mirror(pipe, agent_prefix(agent_id) + name, amount, at)


def mirror(pipe: Any, name: str, amount: float, at: float) -> None:
    """Queue the hourly copy of a counter's increment on the caller's pipeline."""
    key = hour_key(at)
    pipe.hincrbyfloat(key, name, amount)
    pipe.expire(key, TTL_SECONDS)
