"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from tests.support.edge import BOUND
from tests.support.redis_server import free_port


@pytest.fixture(scope="module")
def ports() -> Iterator[dict[str, int]]:
    """A port nothing listens on, and one that something does (for `handover` given wrong addresses)."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    yield {"dead_port": free_port(), "taken_port": taken.getsockname()[1]}
    taken.close()


@pytest.fixture
def connect() -> Iterator[Callable[..., socket.socket]]:
    """Opens a raw connection and sends `sent` (nothing else, ever); every one is closed at the end."""
    opened: list[socket.socket] = []

    def open_and_send(port: int, sent: bytes = b"") -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=BOUND)
        opened.append(sock)
        sock.sendall(sent)
        return sock

    yield open_and_send
    for sock in opened:
        sock.close()
