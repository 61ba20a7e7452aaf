"""Repeated warnings and errors are written a few times per interval, then counted in one summary line
(a flood of one failure once wrote 130 MB of logs)."""

from __future__ import annotations

import logging

import pytest
import structlog
from structlog.testing import capture_logs

from app.logging import SUPPRESSED, RepeatLimit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def event(name: str, level: str = "warning", logger: str = "webhooks.views") -> dict:
    return {"event": name, "level": level, "logger": logger}


def passed(limit: RepeatLimit, name: str, times: int, level: str = "warning") -> int:
    kept = 0
    for _ in range(times):
        try:
            limit.processor(None, level, event(name, level))
            kept += 1
        except structlog.DropEvent:
            pass
    return kept


def test_a_repeated_warning_is_kept_burst_times_per_interval_then_summarised():
    clock = Clock()
    limit = RepeatLimit(burst=3, interval=60.0, clock=clock)
    with capture_logs() as logs:
        assert passed(limit, "webhook_rejected", 50) == 3
        clock.now += 59.0
        assert passed(limit, "webhook_rejected", 5) == 0
        assert logs == []  # the interval is not over: nothing said yet
        clock.now += 1.0
        assert passed(limit, "webhook_rejected", 5) == 3  # a new interval
    [summary] = logs
    assert summary == {
        "event": SUPPRESSED,
        "of": "webhook_rejected",
        "source": "webhooks.views",
        "count": 52,
        "seconds": 60.0,
        "log_level": "warning",
    }


def test_the_summary_comes_with_the_next_event_of_any_kind_once_the_interval_is_over():
    clock = Clock()
    limit = RepeatLimit(burst=1, interval=10.0, clock=clock)
    with capture_logs() as logs:
        passed(limit, "connection_refused", 4)
        clock.now += 11
        passed(limit, "serving", 1, level="info")
        passed(limit, "serving", 1, level="info")
    assert [(e["of"], e["count"]) for e in logs] == [("connection_refused", 3)]  # said once


def test_kinds_are_limited_apart_and_info_is_never_limited():
    limit = RepeatLimit(burst=2, clock=Clock())
    assert passed(limit, "webhook_rejected", 10) == 2
    assert passed(limit, "desk_auth_refused", 10) == 2
    assert passed(limit, "webhook_rejected", 10, level="error") == 0  # same kind: logger and event
    assert passed(limit, "webhook_duplicates_dropped", 100, level="info") == 100


def test_kinds_followed_are_bounded():
    clock = Clock()
    limit = RepeatLimit(burst=1, interval=10.0, clock=clock, most_kinds=5)
    assert passed(limit, "a", 1) + sum(passed(limit, f"kind-{i}", 1) for i in range(100)) == 101
    assert len(limit._windows) == 5
    clock.now += 10
    assert passed(limit, "b", 2) == 1  # quiet kinds are forgotten to make room: "b" is followed again


@pytest.mark.parametrize("level", [logging.WARNING, logging.ERROR])
def test_the_standard_librarys_records_are_limited_by_logger_and_template(level):
    """aiohttp's and asyncio's own records (`Error handling request`, `socket.accept() out of system
    resource`) reach the handler without structlog's chain: the handler's filter limits them."""
    clock = Clock()
    limit = RepeatLimit(burst=2, interval=60.0, clock=clock)

    def record(msg: str, args: tuple = (), name: str = "aiohttp.server", lvl: int = level):
        return logging.LogRecord(name, lvl, __file__, 1, msg, args, None)

    with capture_logs() as logs:
        kept = [limit.filter(record("Error handling request from %s", (f"10.0.0.{i}",))) for i in range(9)]
        assert kept == [True, True] + [False] * 7
        assert limit.filter(record("Error handling request from %s", name="asyncio"))  # another logger
        assert all(limit.filter(record("debug detail", lvl=logging.INFO)) for _ in range(9))
        assert limit.filter(record({"event": "from structlog"}))  # already limited by the processor
        clock.now += 60
        assert limit.filter(record("Error handling request from %s", ("10.0.0.1",)))
    assert [(e["of"], e["source"], e["count"]) for e in logs] == [
        ("Error handling request from %s", "aiohttp.server", 7)
    ]
