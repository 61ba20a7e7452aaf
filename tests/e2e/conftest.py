"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.support.redis_server import free_port


@pytest.fixture(scope="module")
def ports() -> Iterator[dict[str, int]]:
    """A port nothing listens on, and one that something does (for `handover` given wrong addresses)."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    yield {"dead_port": free_port(), "taken_port": taken.getsockname()[1]}
    taken.close()
