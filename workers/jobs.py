"""rq jobs. Arguments are plain values; every job is idempotent (draining an empty partition does nothing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog

from handover.assignment.liveness import sweep_seconds
from handover.keys import Lane
from workers import runtime
from workers.dispatcher import (
    ANNOUNCE_SECONDS,
    CLOCKS_SECONDS,
    OFFERS_SECONDS,
    RETENTION_SECONDS,
    WINDOWS_SECONDS,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Duty:
    """A periodic duty, run by one process among all: what it does (a service of the worker runtime), how
    often (`every` seconds; None: the presence sweep's, from the grace period), and how long its rq job
    may take. `handover worker` enqueues each as a `run_duty` job; the embedded worker of `handover serve`
    runs it in place. The one table both read."""

    name: str
    run: Callable[[runtime.WorkerRuntime], object]
    every: float | None
    timeout: int

    def period(self, presence_grace_seconds: float) -> float:
        return self.every if self.every is not None else sweep_seconds(presence_grace_seconds)


DUTIES = (
    # tell waiting customers their new place in line where it changed meaningfully
    Duty("announce", lambda rt: rt.announce(), ANNOUNCE_SECONDS, 120),
    # warm transfer offers nobody accepted in time go back to the agent who made them
    Duty("offers", lambda rt: rt.expire_offers(), OFFERS_SECONDS, 60),
    # flag waiting conversations whose 24-hour window closes soon; abandon those whose window closed
    Duty("windows", lambda rt: rt.watch_windows(), WINDOWS_SECONDS, 120),
    # held conversations: a customer left unanswered (alert, requeue), or gone quiet (remind, close)
    Duty("clocks", lambda rt: rt.watch_clocks(), CLOCKS_SECONDS, 120),
    # closed and idle conversations past the retention deleted, in bounded batches
    Duty("retention", lambda rt: rt.expire_conversations(), RETENTION_SECONDS, 300),
    # agents whose desk has been disconnected past the grace period: offline, conversations re-queued
    Duty("presence", lambda rt: rt.drop_gone_agents(), None, 60),
)
BY_NAME = {duty.name: duty for duty in DUTIES}


def run_duty(name: str) -> object:
    """The rq job of a periodic duty (DUTIES)."""
    structlog.contextvars.clear_contextvars()
    return BY_NAME[name].run(runtime.current())


# The jobs an earlier version enqueued by name, run if still queued when a worker of this one starts.
def announce_positions() -> object:
    return run_duty("announce")


def expire_offers() -> object:
    return run_duty("offers")


def watch_windows() -> object:
    return run_duty("windows")


def watch_clocks() -> object:
    return run_duty("clocks")


def drop_gone_agents() -> object:
    return run_duty("presence")


def expire_conversations() -> object:
    return run_duty("retention")


def drain_partition(lane: str, partition: int) -> int:
    """Handle what waits in one partition stream, under its lease; 0 if another drainer has it. Workers
    drain on threads of their own now (app/worker.py): this runs drain jobs an older version queued."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(lane=lane, partition=partition)
    current = runtime.current()
    handled = current.drain(Lane(lane), partition)
    if handled:
        log.debug("partition_drained", handled=handled)
    return handled
