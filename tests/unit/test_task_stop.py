"""The web process's background tasks end within a bound at shutdown, even one that swallows its cancel
(desk/tasks.py): `handover serve` and a test's app cleanup never wait for ever on `await task`."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from desk.tasks import stopped
from tests.support.watchdog import run


async def _deaf(hearing: asyncio.Event) -> None:
    """A loop that eats its cancellation, as a retried read or 3.11's wait_for may (until the test lets it
    go: asyncio.run would otherwise wait for it at the end)."""
    while not hearing.is_set():
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            continue


async def _failing() -> None:
    await asyncio.sleep(0)
    raise RuntimeError("gone")


def test_a_task_that_will_not_stop_is_logged_and_left_behind():
    async def scenario() -> tuple[bool, list[dict]]:
        hearing = asyncio.Event()
        deaf = asyncio.create_task(_deaf(hearing), name="deaf-reader")
        await asyncio.sleep(0)
        with capture_logs() as logs:
            await stopped(deaf, grace=0.2)
        still = not deaf.done()
        hearing.set()
        await deaf
        return still, logs

    still_running, logs = run(scenario(), seconds=10)
    assert still_running
    assert [(e["event"], e["task"]) for e in logs] == [("task_would_not_stop", "deaf-reader")]


def test_tasks_that_end_or_fail_are_waited_for_and_a_failure_is_logged_not_raised():
    async def scenario() -> tuple[list[asyncio.Task[None]], list[dict]]:
        sleeper = asyncio.create_task(asyncio.sleep(60), name="sleeper")
        failing = asyncio.create_task(_failing(), name="failing")
        await asyncio.sleep(0.01)
        with capture_logs() as logs:
            await stopped(sleeper, failing, None)
        return [sleeper, failing], logs

    (sleeper, failing), logs = run(scenario(), seconds=10)
    assert sleeper.cancelled() and failing.done()
    assert [(e["event"], e["task"], e["error"]) for e in logs] == [
        ("task_failed_before_stop", "failing", "RuntimeError")
    ]
