"""The event loop's lag and the chance of shedding (webhooks/pressure.py), driven by a hand-moved clock: each
check is made to run as late as a loop behind would run it, without sleeping."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from webhooks.pressure import CHECK_EVERY_SECONDS, LoopLag

LIMIT = 0.1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def monitor(chance: float = 0.5) -> tuple[LoopLag, Clock]:
    clock = Clock()
    lag = LoopLag(limit=LIMIT, clock=clock, chance=lambda: chance)
    lag.checked()  # the first check: nothing to measure yet
    return lag, clock


def run(lag: LoopLag, clock: Clock, seconds: float, late: float) -> None:
    """`seconds` of a loop whose every check runs `late` seconds after it was due."""
    end = clock.now + seconds
    while clock.now < end:
        assert lag.due is not None
        clock.now = lag.due + late
        lag.checked()


def test_a_loop_that_keeps_up_reads_no_lag_and_sheds_nothing():
    lag, clock = monitor(chance=0.0)  # were anything over the limit, every chance would shed
    run(lag, clock, seconds=5, late=0.002)
    assert lag.current() == pytest.approx(0.002, abs=1e-5)
    assert not lag.shed()


def test_a_lone_pause_is_damped_and_refuses_nothing():
    """A garbage collection of 150 ms: the lag reads under the limit, nothing is shed, and it fades."""
    lag, clock = monitor(chance=0.0)
    run(lag, clock, seconds=1, late=0.001)
    run(lag, clock, seconds=0.01, late=0.15)  # one check, 150 ms late
    assert 0.03 < lag.current() < LIMIT
    assert not lag.shed()
    run(lag, clock, seconds=2, late=0.001)
    assert lag.current() < 0.005


def test_a_loop_late_at_every_check_is_seen_within_a_second():
    """Turns of 250 ms one after another (the loop saturated): past the limit within half a second, past
    twice the limit (every chance sheds) within a second."""
    lag, clock = monitor(chance=0.999)
    run(lag, clock, seconds=0.5, late=0.25)
    assert lag.current() > LIMIT
    run(lag, clock, seconds=0.5, late=0.25)
    assert lag.current() > 2 * LIMIT
    assert lag.shed()


@pytest.mark.parametrize(
    ("lag_seconds", "chance", "shed"),
    [
        (0.5 * LIMIT, 0.0, False),  # under the limit: never
        (LIMIT, 0.0, False),
        (1.25 * LIMIT, 0.24, True),  # a quarter of the way to twice the limit: a 25% chance
        (1.25 * LIMIT, 0.26, False),
        (1.75 * LIMIT, 0.74, True),
        (1.75 * LIMIT, 0.76, False),
        (2 * LIMIT, 0.999, True),  # twice the limit and past it: always
        (10 * LIMIT, 0.999, True),
    ],
)
def test_the_chance_of_shedding_rises_from_the_limit_to_twice_the_limit(lag_seconds, chance, shed):
    lag = LoopLag(limit=LIMIT, chance=lambda: chance)
    lag.lag = lag_seconds  # not checking (no check due): the lag as it stands
    assert lag.shed() is shed


def test_a_check_late_right_now_counts_before_it_runs():
    """A stall seen from inside it: connections accepted as the loop wakes are judged on the stall."""
    lag, clock = monitor(chance=0.999)
    run(lag, clock, seconds=1, late=0.001)
    clock.now = lag.due + 1.5  # stopped 1.5 s; the check has not run yet
    assert lag.lag < 0.01
    assert lag.current() > 1.0
    assert lag.shed()


def test_after_a_stall_shedding_stops_once_the_loop_keeps_up_again():
    lag, clock = monitor(chance=0.0)  # only a lag past twice the limit sheds
    run(lag, clock, seconds=1, late=0.001)
    clock.now = lag.due + 1.5
    lag.checked()
    assert lag.shed()
    run(lag, clock, seconds=1.5, late=0.001)
    assert lag.current() < LIMIT
    assert not lag.shed()


def test_an_overloaded_stretch_is_logged_once_when_it_starts_and_once_when_it_ends():
    lag, clock = monitor(chance=0.999)
    with capture_logs() as logs:
        run(lag, clock, seconds=1, late=0.001)
        run(lag, clock, seconds=2, late=0.3)  # behind for two seconds
        for _ in range(10_000):  # what the edge does for each webhook it refuses
            assert lag.shed()
            lag.refused += 1
        run(lag, clock, seconds=3, late=0.001)
    events = [entry["event"] for entry in logs]
    assert events == ["loop_overloaded", "loop_overload_ended"]
    assert logs[1]["refused"] == 10_000
    assert lag.refused == 0  # counted afresh for the next stretch


def test_a_lag_hovering_at_the_limit_is_one_stretch_not_a_line_per_swing():
    lag, clock = monitor()
    with capture_logs() as logs:
        for _ in range(20):  # over the limit, then just under it, twenty times
            run(lag, clock, seconds=0.5, late=0.2)
            run(lag, clock, seconds=0.3, late=0.08)
    assert [entry["event"] for entry in logs] == ["loop_overloaded"]


async def test_on_a_running_loop_it_checks_until_stopped():
    lag = LoopLag(limit=LIMIT)
    lag.start()
    first = lag.due
    await asyncio.sleep(5 * CHECK_EVERY_SECONDS)
    assert first is not None and lag.due is not None and lag.due > first
    lag.stop()
    stopped_at = lag.due
    await asyncio.sleep(3 * CHECK_EVERY_SECONDS)
    assert lag.due == stopped_at
