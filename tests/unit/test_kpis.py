"""Support KPIs by the hour: each counted with its /metrics counter, summed over the hours asked for,
forgotten after a week."""

from __future__ import annotations

import fakeredis

from handover import keys, kpis
from handover.store import Store

HOUR = 3600
NOW = 1_800_000_000.0


def count(client, at: float, *names: str, seconds: dict[str, float] | None = None) -> None:
    with client.pipeline() as pipe:
        for name in names:
            Store.count(pipe, name, at=at)
        for name, value in (seconds or {}).items():
            Store.count_seconds(pipe, name, value, at=at)
        pipe.execute()


def test_the_last_hours_add_up_and_older_ones_do_not_count():
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    count(client, NOW - 30 * HOUR, "resolved", "csat:1")  # outside the day
    count(client, NOW - 3 * HOUR, "resolved", "csat:3", "transfers:warm")
    count(
        client,
        NOW,
        "resolved",
        "csat:2",
        "messages_processed",  # not a KPI: /metrics only
        seconds={"queue_wait_seconds": 30.0, "handle_seconds": 600.0},
    )
    count(client, NOW, seconds={"queue_wait_seconds": 90.0})

    day = kpis.last_hours(client, 24, NOW)

    assert (day.resolved, day.transfers) == (2, {"cold": 0, "warm": 1})
    assert day.csat.model_dump() == {"answers": 2, "average_score": 2.5, "by_score": {"2": 1, "3": 1}}
    assert (day.queue_wait.count, day.queue_wait.average_seconds) == (2, 60.0)
    assert (day.handle.count, day.handle.average_seconds) == (1, 600.0)
    assert (day.agent_first_reply.count, day.agent_first_reply.average_seconds) == (0, None)
    assert kpis.last_hours(client, 48, NOW).resolved == 3
    assert client.hget(keys.COUNTERS, "resolved") == "3"  # /metrics counts for ever
    assert "messages_processed" not in client.hgetall(kpis.hour_key(NOW))
    assert 0 < client.ttl(kpis.hour_key(NOW)) <= kpis.TTL_SECONDS


def test_each_agents_figures_are_apart_from_the_totals():
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    with client.pipeline() as pipe:
        kpis.for_agent(pipe, "ag_ana", "resolved", 2, NOW)
        kpis.for_agent(pipe, "ag_ana", "handle_seconds_sum", 300.0, NOW)
        kpis.for_agent(pipe, "ag_ana", "handle_seconds_count", 2, NOW)
        kpis.for_agent(pipe, "ag_ana", "csat:3", 1, NOW - HOUR)
        kpis.for_agent(pipe, "ag_bia", "csat:1", 1, NOW)
        pipe.execute()

    day = kpis.last_hours(client, 24, NOW)

    assert day.resolved == 0 and day.csat.answers == 0  # the totals come from their own counters
    ana, bia = day.agents["ag_ana"], day.agents["ag_bia"]
    assert (ana.resolved, ana.handle.average_seconds, ana.csat.average_score) == (2, 150.0, 3.0)
    assert (bia.resolved, bia.handle.count, bia.csat.by_score) == (0, 0, {"1": 1})
