"""The one clock: every service takes a `Clock` when it is made (the system clock by default), so a test
that fixes the time fixes it for every figure, KPI bucket and expiry the code computes."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def __call__(self) -> float:
        """Seconds since the epoch, as time.time() gives them."""
        ...


def system_clock() -> float:
    return time.time()


class FixedClock:
    """A clock that says what it is told: tests, and replays that run at the time of the turn they play."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
