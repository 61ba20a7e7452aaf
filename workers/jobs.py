"""rq jobs. Arguments are plain values; every job is idempotent (draining an empty partition does nothing)."""

from __future__ import annotations

import structlog

from handover.keys import Lane
from workers import runtime

log = structlog.get_logger(__name__)


def announce_positions() -> int:
    """Tell waiting customers their new place in line where it changed meaningfully."""
    structlog.contextvars.clear_contextvars()
    return runtime.current().announce()


def expire_offers() -> int:
    """Warm transfer offers nobody accepted in time go back to the agent who made them."""
    structlog.contextvars.clear_contextvars()
    return runtime.current().expire_offers()


def watch_windows() -> object:
    """Flag waiting conversations whose 24-hour window closes soon; abandon those whose window closed."""
    structlog.contextvars.clear_contextvars()
    return runtime.current().watch_windows()


def watch_clocks() -> object:
    """Held conversations: a customer left unanswered (alert, requeue), or gone quiet (remind, close)."""
    structlog.contextvars.clear_contextvars()
    return runtime.current().watch_clocks()


def drop_gone_agents() -> object:
    """Agents whose desk has been disconnected past the grace period: offline, conversations re-queued."""
    structlog.contextvars.clear_contextvars()
    return runtime.current().drop_gone_agents()


def expire_conversations() -> int:
    """Closed and idle conversations past the retention deleted, in bounded batches."""
    structlog.contextvars.clear_contextvars()
    return runtime.current().expire_conversations()


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
