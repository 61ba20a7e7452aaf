"""How the web process's background tasks end: cancelled, and waited for a bounded time.

A task that swallows its cancellation (a library turning the cancel of a blocked read into an error it
retries, or asyncio.wait_for on 3.11 returning a result that came in with the cancel) would otherwise hold
the process's shutdown for ever: `await task` after `task.cancel()` never returns, and `handover serve`
neither exits nor says why. Here it is logged and left behind after a few seconds."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

log = structlog.get_logger(__name__)

STOP_GRACE_SECONDS = 5.0


async def stopped(
    *tasks: asyncio.Task[Any] | None, grace: float = STOP_GRACE_SECONDS
) -> set[asyncio.Task[Any]]:
    """Cancel `tasks` and wait at most `grace` seconds for them to end; those still running after it.
    One that does not end is logged (`task_would_not_stop`, at error) and left; one that ended in an
    error is logged, not raised, so the rest of a shutdown still runs."""
    running = {task for task in tasks if task is not None}
    for task in running:
        task.cancel()
    if not running:
        return set()
    done, pending = await asyncio.wait(running, timeout=grace)
    for task in pending:
        log.error("task_would_not_stop", task=task.get_name(), grace_seconds=grace)
    for task in done:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("task_failed_before_stop", task=task.get_name(), error=type(exc).__name__)
    return pending
