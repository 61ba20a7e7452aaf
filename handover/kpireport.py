"""The contact-centre KPIs by the hour (GET /api/v1/stats): service level, abandonment rate, first contact
resolution, transfers per conversation, reply breaches, idle closes and handle time, overall, per queue, per
agent, and hour by hour for the supervisor's charts. docs/operations.md's "KPIs" section defines each one.

It reads what the scripts and services counted: the hourly KPI buckets (handover/kpis.py), the FCR buckets
(handover/fcr.py) and the samples of waits before abandoning (kpis.abandoned)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping

import redis
from pydantic import BaseModel

from handover import fcr, keys, kpis
from handover.kpis import ABANDON_REASONS, CLOCKS, TRANSFER_BANDS, Average, Kpis


class ServiceLevel(BaseModel):
    """Waits that ended with an agent taking the conversation, within the queue's sla_seconds or not
    (queues without an SLA are not counted)."""

    met: int
    missed: int
    rate: float | None  # met / (met + missed)


class Abandoned(BaseModel):
    count: int
    median_wait_seconds: float | None
    average_wait_seconds: float | None


class Abandonment(BaseModel):
    abandoned: int
    taken: int  # waits that ended with an agent
    rate: float | None  # abandoned / (abandoned + taken)
    by_reason: dict[str, Abandoned]  # customer_left, window_closed


class Fcr(BaseModel):
    """Resolutions, and how many of their customers came back within fcr_days (reopened or wrote again)."""

    resolved: int
    came_back: int
    pending: int  # resolved less than fcr_days ago and not back yet: they still may come back
    rate: float | None  # 1 - came_back / resolved; provisional while pending > 0 (it can only fall)


class Breaches(BaseModel):
    agent_silent: int  # customers left waiting past agent_reply_seconds
    agent_silent_requeued: int  # ... and moved to another agent for it
    idle_closed: int  # resolved because the customer stopped answering


class QueueKpis(BaseModel):
    sla_seconds: int | None
    service_level: ServiceLevel
    abandonment: Abandonment
    fcr: Fcr
    resolved: int
    handle: Average  # AHT: from the resolving agent getting it to resolving it
    queue_wait: Average
    transfers_per_conversation: dict[str, int]  # among resolved: 0, 1, 2, 3+
    breaches: Breaches


class AgentKpis(kpis.AgentKpis):
    fcr: Fcr
    breaches: Breaches


class HourKpis(BaseModel):
    hour: float  # its start, Unix seconds
    taken: int
    service_level: float | None
    abandoned: int
    abandonment_rate: float | None
    resolved: int
    came_back: int
    fcr: float | None
    fcr_pending: bool  # fewer than fcr_days since this hour: customers may still come back


class Stats(Kpis):
    """The last `hours` hours, the current one included. The figures above `queue` are the whole desk's;
    from `queue` on they are the asked queue's when `queue` is set, else the whole desk's."""

    queue: str | None
    fcr_days: int
    service_level: ServiceLevel
    abandonment: Abandonment
    fcr: Fcr
    transfers_per_conversation: dict[str, int]
    breaches: Breaches
    queues: dict[str, QueueKpis]
    agents: dict[str, AgentKpis]  # type: ignore[assignment]  # the base's, with FCR and breaches
    by_hour: list[HourKpis]


def report(
    client: redis.Redis,
    hours: int,
    now: float,
    slas: Mapping[str, int | None],
    fcr_days: int,
    queue: str | None = None,
) -> Stats:
    """The KPIs of the last `hours` hours; `slas`: the queues (name -> sla_seconds) to list; `queue`: only
    that one."""
    base = kpis.last_hours(client, hours, now)
    current = int(now // 3600)
    buckets = list(range(current - hours + 1, current + 1))
    with client.pipeline(transaction=False) as pipe:
        for hour in buckets:
            pipe.hgetall(keys.kpi_hour_key(hour))
            pipe.hgetall(keys.fcr_hour_key(hour))
            for reason in ABANDON_REASONS:
                pipe.lrange(keys.kpi_waits_key(hour, reason), 0, -1)
        found = pipe.execute()
    step = 2 + len(ABANDON_REASONS)
    hourly = [_Hour(hour, found[i * step : (i + 1) * step], now, fcr_days) for i, hour in enumerate(buckets)]
    found = {q for h in hourly for q in h.queues()}
    names = [queue] if queue else [*slas, *sorted(found - set(slas))]  # the rules' order, then gone ones
    scope = kpis.queue_prefix(queue) if queue else ""
    by_queue = {name: _queue_kpis(hourly, kpis.queue_prefix(name), slas.get(name), name) for name in names}
    whole = _queue_kpis(hourly, scope, None, queue)
    agents = {
        agent_id: AgentKpis(
            **figures.model_dump(),
            fcr=_fcr(hourly, kpis.agent_prefix(agent_id)),
            breaches=_breaches(hourly, kpis.agent_prefix(agent_id)),
        )
        for agent_id, figures in base.agents.items()
    }
    return Stats(
        **base.model_dump(exclude={"agents"}),
        queue=queue,
        fcr_days=fcr_days,
        service_level=whole.service_level,
        abandonment=whole.abandonment,
        fcr=whole.fcr,
        transfers_per_conversation=whole.transfers_per_conversation,
        breaches=whole.breaches,
        queues=by_queue,
        agents=agents,
        by_hour=[h.point(scope, queue) for h in hourly],
    )


class _Hour:
    """One hour's buckets as read: its KPI fields, its FCR fields, its waits before abandoning."""

    def __init__(self, hour: int, found: list[object], now: float, fcr_days: int) -> None:
        kpi, fcr_fields, *waits = found
        self.hour = hour
        self.kpi = _numbers(kpi)
        self.fcr = _numbers(fcr_fields)
        self.settled = fcr.settled(hour, now, fcr_days)
        self.waits: dict[str, list[tuple[str, float]]] = {}
        for reason, samples in zip(ABANDON_REASONS, waits, strict=True):
            assert isinstance(samples, list)
            self.waits[reason] = [_sample(keys.as_text(s)) for s in samples]

    def queues(self) -> set[str]:
        return {n.split(":")[1] for n in self.kpi if n.startswith("queue:") and n.count(":") >= 2}

    def n(self, name: str) -> int:
        return round(self.kpi.get(name, 0.0))

    def point(self, scope: str, queue: str | None) -> HourKpis:
        met, missed = self.n(scope + "sla_met"), self.n(scope + "sla_missed")
        abandoned, taken = self.n(scope + "abandoned"), self.n(scope + "claimed")
        resolved = round(self.fcr.get(scope + "resolved", 0.0))
        back = min(resolved, round(self.fcr.get(scope + fcr.CAME_BACK, 0.0)))
        return HourKpis(
            hour=float(self.hour * 3600),
            taken=taken,
            service_level=_share(met, met + missed),
            abandoned=abandoned,
            abandonment_rate=_share(abandoned, abandoned + taken),
            resolved=resolved,
            came_back=back,
            fcr=_share(resolved - back, resolved),
            fcr_pending=not self.settled,
        )


def _numbers(raw: object) -> dict[str, float]:
    assert isinstance(raw, dict)
    return {keys.as_text(k): float(v) for k, v in raw.items()}


def _sample(text: str) -> tuple[str, float]:
    queue, _, seconds = text.rpartition(" ")
    return queue, float(seconds)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


def _sum(hourly: list[_Hour], name: str) -> int:
    return sum(h.n(name) for h in hourly)


def _queue_kpis(hourly: list[_Hour], scope: str, sla: int | None, queue: str | None) -> QueueKpis:
    met, missed = _sum(hourly, scope + "sla_met"), _sum(hourly, scope + "sla_missed")
    handle = _average(hourly, scope + "handle_seconds")
    return QueueKpis(
        sla_seconds=sla,
        service_level=ServiceLevel(met=met, missed=missed, rate=_share(met, met + missed)),
        abandonment=_abandonment(hourly, scope, queue),
        fcr=_fcr(hourly, scope),
        resolved=_sum(hourly, scope + "resolved"),
        handle=handle,
        queue_wait=_average(hourly, scope + "queue_wait_seconds"),
        transfers_per_conversation={
            band: _sum(hourly, scope + kpis.TRANSFERS_FIELD + band) for band in TRANSFER_BANDS
        },
        breaches=_breaches(hourly, scope),
    )


def _average(hourly: list[_Hour], name: str) -> Average:
    count = _sum(hourly, f"{name}_count")
    total = sum(h.kpi.get(f"{name}_sum", 0.0) for h in hourly)
    return Average(count=count, average_seconds=round(total / count, 1) if count else None)


def _abandonment(hourly: list[_Hour], scope: str, queue: str | None) -> Abandonment:
    abandoned, taken = _sum(hourly, scope + "abandoned"), _sum(hourly, scope + "claimed")
    by_reason = {}
    for reason in ABANDON_REASONS:
        waits = [s for h in hourly for q, s in h.waits[reason] if queue is None or q == queue]
        mean = _average(hourly, f"{scope}abandoned_wait_seconds:{reason}")
        by_reason[reason] = Abandoned(
            count=_sum(hourly, f"{scope}abandoned:{reason}"),
            median_wait_seconds=round(statistics.median(waits), 1) if waits else None,
            average_wait_seconds=mean.average_seconds,
        )
    return Abandonment(
        abandoned=abandoned,
        taken=taken,
        rate=_share(abandoned, abandoned + taken),
        by_reason=by_reason,
    )


def _fcr(hourly: list[_Hour], scope: str) -> Fcr:
    resolved = back = pending = 0
    for h in hourly:
        done = round(h.fcr.get(scope + "resolved", 0.0))
        returned = min(done, round(h.fcr.get(scope + fcr.CAME_BACK, 0.0)))
        resolved, back = resolved + done, back + returned
        if not h.settled:
            pending += done - returned
    return Fcr(resolved=resolved, came_back=back, pending=pending, rate=_share(resolved - back, resolved))


def _breaches(hourly: list[_Hour], scope: str) -> Breaches:
    counts = {name: _sum(hourly, scope + name) for name in CLOCKS}
    return Breaches(
        agent_silent=counts["agent_silent"],
        agent_silent_requeued=counts["agent_silent_requeued"],
        idle_closed=counts["idle_closed"],
    )
