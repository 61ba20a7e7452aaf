"""Shared fixtures: real redis-servers the tests start themselves, and a client per test on a clean db."""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.fakes.graph_server import FakeGraph
from tests.support.processes import Process, reap_leftovers
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
# pywa's recorded webhook bodies, vendored with their licence (tests read nothing outside the repository)
PYWA_FIXTURES = ROOT / "tests" / "data" / "pywa-updates"


@pytest.fixture(autouse=True)
def _test_logging_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    """`handover` run in-process (`main([...])`) must not configure this process's logging: structlog
    would cache its loggers, and a later test's capture_logs() would see nothing."""
    monkeypatch.setattr("app.cli.configure_logging", lambda *args, **kwargs: None)


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test() -> Iterator[None]:
    """A `handover` process a test left running would keep working on the shared redis-server during the
    next tests (taking the assigner's lease, draining their messages): kill it, and say which it was.
    Wider fixtures are set up before this one, so what they start (a module's serve) is not the test's."""
    since = len(Process.started)
    yield
    left = reap_leftovers(since)
    if left:
        warnings.warn(f"processes left running after the test, now killed: {left}", stacklevel=1)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None and os.environ.get("CI"):
        pytest.fail("redis-server missing in CI: .ci/run must install it")
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    yield redis_server.url


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    """Meta's Graph API on loopback (tests/fakes/graph_server.py)."""
    fake = FakeGraph.start_in_thread()
    yield fake
    fake.stop()


TIERS = ("unit", "integration", "e2e", "browser")  # the folders under tests/, each a marker of the same name


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test is marked with its tier, from its folder: `-m "not browser"` runs no Chromium (a
    `pytestmark` in a conftest marks nothing), `-m unit` runs the fast tier."""
    root = Path(__file__).parent
    for item in items:
        parts = Path(item.path).relative_to(root).parts
        if parts and parts[0] in TIERS:
            item.add_marker(parts[0])
