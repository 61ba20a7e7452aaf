"""The web process's presence marks: every agent with an event stream open, written in one ZADD per beat
(handover/assignment/liveness.py reads them), whatever the number of streams."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable

import structlog
from redis.asyncio import Redis as AsyncRedis

from desk.tasks import stopped
from handover.assignment.liveness import seen_async
from handover.clock import Clock, system_clock

log = structlog.get_logger(__name__)


class PresenceMarks:
    """One writer per web process. Every `heartbeat` it marks everyone `connected()` names; a stream that
    opens or closes asks for its agent's mark at once (`mark`), and the asks that come while a write is
    under way are written together by the next one. 5,000 streams cost one write per beat, not 5,000."""

    def __init__(
        self,
        client: AsyncRedis,
        connected: Callable[[], Iterable[str]],
        heartbeat: float,
        clock: Clock = system_clock,
    ) -> None:
        self.client = client  # the desk's live connection's own pool: the webhook's never waits for it
        self.connected = connected
        self.heartbeat = heartbeat
        self.clock = clock
        self.beats = 0  # writes made by the beat (not by asks): what the tests count ZADDs against
        self._asked: set[str] = set()
        self._waiting: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        await stopped(self._task)
        self._task = None
        self._release(self._waiting)  # nobody waits for a write that will not come
        self._waiting = []

    async def mark(self, agent_id: str) -> None:
        """Mark this agent as connected now; returns once written (or failed: the next beat will)."""
        if self._task is None or self._task.done():
            await self._write({agent_id})
            return
        done = asyncio.get_running_loop().create_future()
        self._asked.add(agent_id)
        self._waiting.append(done)
        self._wake.set()
        await done

    async def _run(self) -> None:
        due = time.monotonic() + self.heartbeat
        while True:
            if not self._asked:
                # asyncio.timeout, not wait_for: on 3.11 wait_for may return a wake-up that came with
                # stop()'s cancel and drop the cancel (desk/tasks.py)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, due - time.monotonic())):
                        await self._wake.wait()
            self._wake.clear()
            agents, self._asked = self._asked, set()
            waiting, self._waiting = self._waiting, []
            beat = time.monotonic() >= due
            if beat:
                agents |= set(self.connected())
                due = time.monotonic() + self.heartbeat
            if agents:
                self.beats += beat
                await self._write(agents)
            self._release(waiting)

    async def _write(self, agents: set[str]) -> None:
        try:
            await seen_async(self.client, agents, self.clock())
        except Exception as exc:  # Redis away: the next beat marks them again (said once, not per write)
            if not self._failing:
                log.warning("presence_marks_failed", error=type(exc).__name__, agents=len(agents))
            self._failing = True
            return
        if self._failing:
            log.info("presence_marks_resumed", agents=len(agents))
        self._failing = False

    @staticmethod
    def _release(waiting: list[asyncio.Future[None]]) -> None:
        for done in waiting:
            if not done.done():
                done.set_result(None)
