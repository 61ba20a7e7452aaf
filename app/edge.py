"""The listener of `handover serve` and what one slow or abusive client may hold of the process: connections
(capped well below the open-files limit, which is raised at start), idle time, and memory, handed back after
bursts of large bodies. The webhook's own limits on bodies are in webhooks/gate.py."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import json
import resource
import signal
from collections.abc import Callable

import structlog
from aiohttp import web

from config.settings import Settings
from webhooks.gate import BodyGate
from webhooks.views import WEBHOOK

log = structlog.get_logger(__name__)

# After an early answer (403, 408, 503) aiohttp reads and drops the rest of a body this long, so a client
# still sending sees the answer rather than a reset; then the connection closes (aiohttp's default is 10 s).
LINGER_SECONDS = 2.0
RESERVED_FILES = 256  # descriptors kept for Redis pools, the rules file, logs and threads
REQUEST_LINE_SECONDS = 1.0  # over the cap, how long a new connection may take to say what it wants
TRIM_EVERY_SECONDS = 5.0
TRIM_AFTER_BYTES = 16 * 1024 * 1024  # bodies read since the last trim before memory is handed back


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (the soft one, often 1024, runs out first) and
    return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):  # a hard limit of "unlimited" may be refused
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connection_cap(wanted: int, open_files: int) -> int:
    """At most `wanted` connections, and always well below the open-files limit: when the process runs out
    of descriptors it cannot even accept a health check (`accept() out of system resource`)."""
    return max(8, min(wanted, open_files - RESERVED_FILES, open_files * 3 // 4))


def _answer(status: str, body: dict[str, object], retry_after: int | None = None) -> bytes:
    raw = json.dumps(body).encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(raw)}\r\n"
    head += f"Retry-After: {retry_after}\r\n" if retry_after is not None else ""
    return (head + "Connection: close\r\n\r\n").encode() + raw


class Refusal(asyncio.Protocol):
    """A connection over the cap. `GET /healthz` is answered as usual (the process is alive: restarting it
    would not help); anything else gets 503 with Retry-After. Then it closes, within a second at most."""

    def __init__(self, retry_after: int) -> None:
        self.busy = _answer(
            "503 Service Unavailable",
            {"error": {"code": "busy", "message": "too many connections, retry later"}},
            retry_after,
        )
        self.received = b""
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.timer = asyncio.get_running_loop().call_later(REQUEST_LINE_SECONDS, self.answer)

    def data_received(self, data: bytes) -> None:
        self.received += data
        if b"\n" in self.received or len(self.received) > 256:
            self.answer()

    def answer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.transport is None or self.transport.is_closing():
            return
        alive = self.received.startswith((b"GET /healthz ", b"GET /healthz?"))
        self.transport.write(HEALTHY if alive else self.busy)
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()


HEALTHY = _answer("200 OK", {"status": "ok"})


def guarded(server: web.Server, cap: int, retry_after: int) -> Callable[[], asyncio.Protocol]:
    """The listener's protocol factory: aiohttp's handler while fewer than `cap` connections are open."""

    def protocol() -> asyncio.Protocol:
        if len(server.connections) >= cap:
            log.warning("connection_refused", reason="too_many_connections", cap=cap)
            return Refusal(retry_after)
        return server()

    return protocol


def run(app: web.Application, settings: Settings, host: str, port: int) -> None:
    """Serve `app` until SIGINT or SIGTERM (what `web.run_app` does, with the limits above)."""
    asyncio.run(_serve(app, settings, host, port))


async def _serve(app: web.Application, settings: Settings, host: str, port: int) -> None:
    cap = connection_cap(settings.handover_max_connections, raise_open_files_limit())
    # aiohttp arms keepalive_timeout at connect too: it is the header timeout as well as the idle one
    runner = web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=settings.handover_idle_timeout_seconds,
        lingering_time=LINGER_SECONDS,
    )
    await runner.setup()
    assert runner.server is not None
    gate = app[WEBHOOK].gate
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    trimming = asyncio.create_task(_trim_memory(gate))
    try:
        listener = await loop.create_server(guarded(runner.server, cap, gate.retry_after), host, port)
        log.info(
            "edge_limits",
            connections=cap,
            idle_timeout=settings.handover_idle_timeout_seconds,
            body_timeout=gate.timeout,
            webhook_concurrency=gate.limit,
        )
        await stop.wait()
        listener.close()
    finally:
        trimming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await trimming
        await runner.cleanup()


async def _trim_memory(gate: BodyGate) -> None:
    """After a burst of large bodies, once none is in flight, hand the freed heap back to the system: glibc
    keeps it otherwise (300 bodies of 3 MB left the process at 0.8 GB for good)."""
    trim = _malloc_trim()
    if trim is None:
        return
    trimmed_at = gate.bytes_read
    while True:
        await asyncio.sleep(TRIM_EVERY_SECONDS)
        if gate.bytes_read - trimmed_at >= TRIM_AFTER_BYTES and gate.in_flight == 0:
            trimmed_at = gate.bytes_read
            await asyncio.to_thread(trim, 0)


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None on another C library (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
