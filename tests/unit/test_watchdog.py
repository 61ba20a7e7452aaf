"""The scenarios' runner (tests/support/watchdog.py): a scenario that never ends, or a task it leaves
behind that will not stop, fails with where it waits instead of hanging the run until pytest-timeout."""

from __future__ import annotations

import asyncio

import pytest

from tests.support import watchdog
from tests.support.watchdog import run


async def _stuck() -> None:
    await asyncio.Event().wait()


def test_a_scenario_past_its_deadline_fails_with_every_tasks_awaits(capsys):
    async def scenario() -> None:
        await _stuck()

    with pytest.raises(AssertionError, match=r"not done in 0\.3 s"):
        run(scenario(), 0.3)
    err = capsys.readouterr().err
    assert "in scenario" in err and "in _stuck" in err and "locks.py" in err


def test_a_task_left_behind_that_swallows_its_cancel_fails_the_test(monkeypatch, capsys):
    monkeypatch.setattr(watchdog, "LEFTOVER_SECONDS", 0.3)
    left: list[asyncio.Task[None]] = []

    async def deaf() -> None:
        while True:
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                continue

    async def scenario() -> int:
        left.append(asyncio.create_task(deaf(), name="deaf"))
        return 7

    with pytest.raises(AssertionError, match=r"would not stop.*\['deaf'\]"):
        run(scenario())
    assert "== deaf" in capsys.readouterr().err
    left[0]._log_destroy_pending = False  # its loop is closed: it is dropped quietly, as the test meant
    left[0].get_coro().close()


def test_a_scenario_that_ends_gives_its_result_and_its_tasks_are_cancelled():
    left: list[asyncio.Task[None]] = []

    async def scenario() -> int:
        left.append(asyncio.create_task(asyncio.sleep(60)))
        return 3

    assert run(scenario()) == 3
    assert left[0].cancelled()
