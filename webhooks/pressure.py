"""How late the event loop runs, and whether new work is refused for it (issue 28): a process behind its
traffic answers 503 at once, and Meta delivers again, rather than answering every webhook seconds late.

A request waits for the loop before any handler runs (to be accepted, read, parsed), so no count of
requests in flight sees the wait; the loop's lag does. A callback asks to run every CHECK_EVERY_SECONDS
and notes how late it ran; the lag is damped, as toobusy-js does, so one pause (a garbage collection, a
slow rules reload) refuses nothing. Past the limit new work is refused with a chance rising from 0 at the
limit to 1 at twice the limit (toobusy-js's rule), so the process sheds what it cannot do rather than
swinging between refusing everything and accepting everything."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger(__name__)

CHECK_EVERY_SECONDS = 0.02  # 50 callbacks a second: microseconds of CPU, and a lag seen within a tick
# How long the damped lag remembers: each check moves it towards how late that check ran, by a weight
# that grows with the time since the check before (1 - e^(-elapsed / SMOOTHING_SECONDS)). Weighing by
# time, not by check, matters: a loop behind runs a few long turns between bursts of quick ones, and an
# average per check (toobusy-js's third of the way each time) counts a 300 ms turn once and the fifteen
# quick turns after it fifteen times: raw lateness of 200-330 ms every second read as 50-140 ms while
# requests waited 0.5-2.4 s. By time, a lone 300 ms pause (a garbage collection) reads as ~140 ms.
SMOOTHING_SECONDS = 0.5
RETRY_AFTER_SECONDS = 5  # as for Redis away: Meta keeps its own schedule, other clients read the header
OVERLOADED = {"error": {"code": "overloaded", "message": "the server is behind, retry later"}}
CALM_SECONDS = 1.0  # under half the limit this long, an overloaded stretch is over (one log line each way)


@dataclass
class LoopLag:
    """The event loop's damped lag (seconds) and whether to refuse new work for it. `clock` and `chance`
    are injectable, so tests drive it without sleeping: `checked()` is what each tick does."""

    limit: float = 0.1  # seconds of damped lag before anything is refused (HANDOVER_MAX_LOOP_LAG_MS)
    clock: Callable[[], float] = time.monotonic
    chance: Callable[[], float] = random.random
    lag: float = 0.0
    due: float | None = None  # when the next check should run (None: not checking)
    checked_at: float = 0.0
    overloaded_since: float | None = None
    calm_since: float | None = None
    refused: int = 0  # webhooks refused for the lag since the last overloaded stretch ended (callers count)
    _timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    def checked(self) -> None:
        """One check: note how late it ran, and when the next is due."""
        now = self.clock()
        if self.due is not None:
            self.lag = self._damped(now)
        self.due, self.checked_at = now + CHECK_EVERY_SECONDS, now
        self._watch_stretch(now)

    def current(self) -> float:
        """The damped lag, counting a check that is late right now as if it had run: a loop stuck in one
        long turn is seen before its check gets to run."""
        if self.due is None:
            return self.lag
        now = self.clock()
        return self.lag if now <= self.due else max(self.lag, self._damped(now))

    def shed(self) -> bool:
        """Whether to refuse the work at hand: never under the limit, always past twice the limit, and
        with a chance growing in between. When not overloaded: a clock read and a comparison."""
        lag = self.current()
        if lag <= self.limit:
            return False
        return lag >= 2 * self.limit or self.chance() < (lag - self.limit) / self.limit

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Check on the running loop until stop(). A plain timer callback rather than a task: a task's
        sleep wakes one loop turn after its timer fires, so the connections accepted in the turn that ends
        a stall would be let in before the stall was seen."""
        loop = loop or asyncio.get_running_loop()

        def tick() -> None:
            self.checked()
            self._timer = loop.call_later(CHECK_EVERY_SECONDS, tick)

        self.stop()
        self.due = None
        tick()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _damped(self, now: float) -> float:
        """The lag moved towards how late a check running at `now` is, weighed by the time it covers."""
        assert self.due is not None
        weight = 1 - math.exp(-(now - self.checked_at) / SMOOTHING_SECONDS)
        return self.lag + weight * (max(0.0, now - self.due) - self.lag)

    def _watch_stretch(self, now: float) -> None:
        """One warning when an overloaded stretch starts and one line when it ends: a flood of refusals
        does not flood the log."""
        if self.overloaded_since is None:
            if self.lag > self.limit:
                self.overloaded_since, self.calm_since = now, None
                limit_ms = round(self.limit * 1000)
                log.warning("loop_overloaded", lag_ms=round(self.lag * 1000), limit_ms=limit_ms)
            return
        if self.lag >= self.limit / 2:
            self.calm_since = None
            return
        self.calm_since = self.calm_since if self.calm_since is not None else now
        if now - self.calm_since >= CALM_SECONDS:
            log.info(
                "loop_overload_ended",
                seconds=round(self.calm_since - self.overloaded_since, 2),
                refused=self.refused,
            )
            self.overloaded_since = self.calm_since = None
            self.refused = 0
