"""The periodic duties, one table read by `handover worker` (as rq jobs) and embedded `serve` (in place):
each runs its own service of the worker runtime, by name, and the job names an earlier version queued
still run theirs."""

from __future__ import annotations

import pytest

from handover.assignment.liveness import sweep_seconds
from workers import jobs, runtime
from workers.runtime import WorkerRuntime

SERVICES = [
    "announce",
    "expire_offers",
    "watch_windows",
    "watch_clocks",
    "expire_conversations",
    "drop_gone_agents",
]


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    services = {name: (lambda name=name: calls.append(name) or name) for name in SERVICES}
    rt = WorkerRuntime(
        client=None, processor=None, sender=None, batch_size=1, lease_seconds=1, partitions=1, **services
    )  # type: ignore[arg-type]
    monkeypatch.setattr(runtime, "_current", rt)
    return calls


def test_each_duty_runs_its_own_service_once(ran):
    for duty in jobs.DUTIES:
        jobs.run_duty(duty.name)
    assert sorted(ran) == sorted(SERVICES)  # every service has a duty, and no duty runs two


@pytest.mark.parametrize(
    ("old_job", "service"),
    [
        (jobs.announce_positions, "announce"),
        (jobs.expire_offers, "expire_offers"),
        (jobs.watch_windows, "watch_windows"),
        (jobs.watch_clocks, "watch_clocks"),
        (jobs.expire_conversations, "expire_conversations"),
        (jobs.drop_gone_agents, "drop_gone_agents"),
    ],
)
def test_a_job_an_earlier_version_queued_runs_the_same_duty(ran, old_job, service):
    assert old_job() == service and ran == [service]


def test_the_presence_sweep_follows_the_grace_period_and_the_rest_their_own():
    periods = {duty.name: duty.period(90.0) for duty in jobs.DUTIES}
    assert periods["presence"] == sweep_seconds(90.0)
    assert periods["offers"] == 5.0 and periods["retention"] == 300.0
    assert len(periods) == len(jobs.DUTIES)  # names are unique: each is its own lock (keys.tick_key)
