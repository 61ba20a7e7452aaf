"""The listener of `handover serve` and what one slow or abusive client may hold of the process: connections
(capped well below the open-files limit, which is raised at start), idle time, and memory, handed back after
bursts of large bodies; and, while the event loop is behind, new webhooks refused early (app/shedding.py).
The webhook's own limits on bodies are in webhooks/gate.py."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import resource
import signal
from collections.abc import Callable

import structlog
from aiohttp import web

from app.shedding import (
    HEALTH_CHECKS,
    HEALTHY,
    LINGER_SECONDS,
    REQUEST_LINE_BYTES,
    REQUEST_LINE_SECONDS,
    Shedding,
    raw_answer,
)
from config.settings import Settings
from webhooks.gate import BodyGate
from webhooks.views import WEBHOOK, WebhookContext

log = structlog.get_logger(__name__)

# Connections the kernel holds for accept() (capped by net.core.somaxconn, 4096 on recent kernels):
# asyncio's default of 100 overflows when the loop is behind, and a client whose SYN is dropped tries
# again only after 1, 3, 7 s, which is how the webhook came to be answered past a 10 s timeout.
LISTEN_BACKLOG = 1024
RESERVED_FILES = 256  # descriptors kept for Redis pools, the rules file, logs and threads
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


class Refusal(asyncio.Protocol):
    """A connection over the cap. `GET /healthz` is answered as usual (the process is alive: restarting it
    would not help); anything else gets 503 with Retry-After. Then it closes, within a second at most."""

    def __init__(self, retry_after: int) -> None:
        self.busy = raw_answer(
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
        if b"\n" in self.received or len(self.received) > REQUEST_LINE_BYTES:
            self.answer()

    def answer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.transport is None or self.transport.is_closing():
            return
        alive = self.received.startswith(HEALTH_CHECKS)
        self.transport.write(HEALTHY if alive else self.busy)
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()


def guarded(server: web.Server, cap: int, webhook: WebhookContext) -> Callable[[], asyncio.Protocol]:
    """The listener's protocol factory: aiohttp's handler while fewer than `cap` connections are open and
    the loop keeps up; while it is behind, a protocol that refuses webhook POSTs from their request line."""
    shed = webhook.pressure.shed

    def protocol() -> asyncio.Protocol:
        if len(server.connections) >= cap:
            log.warning("connection_refused", reason="too_many_connections", cap=cap)
            return Refusal(webhook.gate.retry_after)
        if shed():
            return Shedding(server, webhook)
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
    webhook = app[WEBHOOK]
    gate = webhook.gate
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    trimming = asyncio.create_task(_trim_memory(gate))
    webhook.pressure.start(loop)
    try:
        listener = await loop.create_server(
            guarded(runner.server, cap, webhook), host, port, backlog=LISTEN_BACKLOG
        )
        log.info(
            "edge_limits",
            connections=cap,
            idle_timeout=settings.handover_idle_timeout_seconds,
            body_timeout=gate.timeout,
            webhook_concurrency=gate.limit,
            max_loop_lag_ms=settings.handover_max_loop_lag_ms,
        )
        await stop.wait()
        listener.close()
    finally:
        webhook.pressure.stop()
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
