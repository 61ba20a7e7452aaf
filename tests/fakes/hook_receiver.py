"""A system that takes webhooks, on loopback: a CRM, a ticketing tool, a Slack channel. It records what
arrived (headers and exact body bytes) and answers as told: `answer = 200` (or 500, 302...), `hang = True`
(never answers, as a stuck endpoint does). Start it with `HookReceiver.start_in_thread()`, `stop()` it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HookReceiver:
    answer: int = 200
    hang: bool = False
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/in"

    def taken(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    async def _take(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        with self._lock:
            self.received.append(Received(request.path, dict(request.headers), body))
        if self.hang:
            assert self._released is not None
            await self._released.wait()  # until stop(): a receiver that never answers
        if 300 <= self.answer < 400:
            raise web.HTTPFound(f"http://127.0.0.1:{self.port}/elsewhere")
        return web.json_response({"seen": True}, status=self.answer)

    async def _start(self) -> None:
        self._released = asyncio.Event()
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._take)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @classmethod
    def start_in_thread(cls, **options: object) -> HookReceiver:
        receiver = cls(**options)  # type: ignore[arg-type]
        ready = threading.Event()

        def run() -> None:
            loop = receiver._loop = asyncio.new_event_loop()
            loop.run_until_complete(receiver._start())
            ready.set()
            loop.run_forever()
            loop.close()

        receiver._thread = threading.Thread(target=run, name="hook-receiver", daemon=True)
        receiver._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the hook receiver did not start")
        return receiver

    async def _shutdown(self) -> None:
        assert self._released is not None and self._runner is not None
        self._released.set()
        await self._runner.cleanup()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


@contextmanager
def three_receivers() -> Iterator[dict[str, HookReceiver]]:
    """The chaos tests' receivers: one healthy, one answering 500, one that never answers."""
    made = {
        "healthy": HookReceiver.start_in_thread(),
        "failing": HookReceiver.start_in_thread(answer=500),
        "hanging": HookReceiver.start_in_thread(hang=True),
    }
    try:
        yield made
    finally:
        for receiver in made.values():
            receiver.stop()
