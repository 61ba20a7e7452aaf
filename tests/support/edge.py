"""A real `handover serve` probed over raw sockets (tests/e2e/test_edge_limits.py, test_desk_share.py): the
process with small limits, and what a client sees of a connection."""

from __future__ import annotations

import http.client
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import Process, is_up, wait_for
from tests.support.redis_server import free_port
from tests.support.webhook import SECRET

BOUND = 30.0  # seconds: far above every limit the tests set, far below "never" (300+ s before)


@contextmanager
def serving(redis_url: str, tmp_path: Path, **limits: str) -> Iterator[tuple[Process, int]]:
    """`handover serve` on a free port with a Graph token (no sandbox) and `limits` (HANDOVER_*) on top."""
    port = free_port()
    env = {
        "REDIS_URL": redis_url,
        "WHATSAPP_ACCESS_TOKEN": "edge-token",
        "WHATSAPP_APP_SECRET": SECRET.decode(),
        "WHATSAPP_VERIFY_TOKEN": "edge-verify",
        "HANDOVER_PORT": str(port),
        "HANDOVER_PARTITIONS": "4",
        **limits,
    }
    serve = Process(["serve"], env, tmp_path / "serve.log").start()
    try:
        wait_for(lambda: is_up(f"http://127.0.0.1:{port}/readyz"), 30, "serve to be ready")
        yield serve, port
    finally:
        serve.stop()


def closed_by_server(sock: socket.socket) -> bool:
    """Reads until the server closes the connection (socket.timeout if it does not within BOUND)."""
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


def fds(pid: int) -> int:
    """The descriptors a process holds open."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def response_on(sock: socket.socket) -> tuple[int, http.client.HTTPMessage, bytes]:
    """(status, headers, body) of the response the server writes on `sock` (socket.timeout if none comes
    within the socket's timeout). The response is closed either way: its file object would otherwise keep
    the socket open until the collector runs, and warn then in whatever test is running."""
    response = http.client.HTTPResponse(sock)
    try:
        response.begin()
        return response.status, response.headers, response.read()
    finally:
        response.close()
