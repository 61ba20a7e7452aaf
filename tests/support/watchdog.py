"""A scenario on an event loop that does not end in time fails with what every task was waiting on.

pytest-timeout's dump shows only threads, and a stuck scenario's thread is always the loop's `select`: the
one CI hang of this kind (tests/integration/test_desk_upload_hostile.py, 600 s) said nothing about which
await never returned. Here the stacks of every task (the test's, the server's handlers, the app's
background tasks) are written to stderr when the deadline passes, before anything is cancelled, so the
failure's captured output names the await; then the scenario is cancelled and the test fails."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

from desk.tasks import stopped

T = TypeVar("T")

DEADLINE_SECONDS = 240.0  # under pytest-timeout's 600 s, with room for the app's cleanup after a cancel


LEFTOVER_SECONDS = 10.0  # for the tasks a scenario leaves behind to end once cancelled


def run(coro: Coroutine[Any, Any, T], seconds: float = DEADLINE_SECONDS) -> T:
    """`asyncio.run(coro)`, failing after `seconds` with every task's stack on stderr. The tasks it leaves
    behind are cancelled as asyncio.run would, but waited for a bounded time: one that swallows its cancel
    fails the test with its stack instead of hanging asyncio.run's last step for ever."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    deaf: list[str] = []
    try:
        result = loop.run_until_complete(_watched(coro, seconds))
    finally:
        try:
            deaf = loop.run_until_complete(_leftovers_stopped())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
    assert not deaf, f"tasks left behind would not stop when cancelled (stacks on stderr): {deaf}"
    return result


async def _leftovers_stopped() -> list[str]:
    """Cancel every other task and wait for them (desk/tasks.stopped, as the app's shutdown does); the
    names of those still running after a while."""
    pending = await stopped(*(asyncio.all_tasks() - {asyncio.current_task()}), grace=LEFTOVER_SECONDS)
    if pending:
        sys.stderr.write(f"\n--- tasks that would not stop:\n{tasks_now()}\n")
    return sorted(task.get_name() for task in pending)


async def _watched(coro: Coroutine[Any, Any, T], seconds: float) -> T:
    loop, main = asyncio.get_running_loop(), asyncio.current_task()
    assert main is not None
    fired: list[bool] = []

    def bite() -> None:
        sys.stderr.write(f"\n--- not done in {seconds:g} s; every task's stack:\n{tasks_now()}\n")
        sys.stderr.flush()
        fired.append(True)
        main.cancel()

    dog = loop.call_later(seconds, bite)
    try:
        return await coro
    except asyncio.CancelledError:
        if fired:
            raise AssertionError(f"the scenario was not done in {seconds:g} s (stacks on stderr)") from None
        raise
    finally:
        dog.cancel()


def tasks_now() -> str:
    """Every pending task of the running loop and where it waits: the chain of awaits from the task's
    coroutine down to the future it is blocked on (a task's own print_stack shows the top frame only)."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        out.write(f"== {task.get_name()}\n")
        for line in _awaits(task.get_coro()):
            out.write(f"   {line}\n")
    return out.getvalue()


def _awaits(awaitable: object) -> list[str]:
    lines: list[str] = []
    for _ in range(100):
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
        frame = frame or getattr(awaitable, "ag_frame", None)
        if frame is None:
            lines.append(f"waiting on {awaitable!r}"[:300])
            break
        lines.append(f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        awaitable = next(
            (
                a
                for name in ("cr_await", "gi_yieldfrom", "ag_await")
                if (a := getattr(awaitable, name, None)) is not None
            ),
            None,
        )
        if awaitable is None:
            break
    return lines
