"""A fake Graph API on loopback that answers like Meta and reacts to magic inputs in the text or recipient.

`__429__` throughput limit, `__pair__` pair rate limit, `__500__` server error, `__slow__` two seconds late,
`__window__` outside the 24-hour window, `__notuser__` recipient unavailable; `fail_next(n)` fails the next
n requests with a 503. `latency` delays every answer, as the real API does (100-300 ms).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Any

from aiohttp import web

from tests.support.redis_server import free_port

_ERRORS = {
    "__429__": (429, 130429, "Rate limit hit"),
    "__pair__": (400, 131056, "(Business Account, Consumer Account) pair rate limit hit"),
    "__500__": (500, 131000, "Something went wrong"),
    "__window__": (400, 131047, "Re-engagement message"),
    "__notuser__": (400, 131026, "Message undeliverable"),
}


class FakeGraph:
    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.port = free_port()
        self.requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._fail: list[int] = []
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v23.0"

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._fail += [status] * count

    def count(self, kind: str | None = None) -> int:
        """Requests received; `kind` "read" for receipts, or a message type such as "text"."""
        with self._lock:
            bodies = [r["json"] for r in self.requests]
        if kind == "read":
            return sum(1 for b in bodies if b.get("status") == "read")
        return sum(1 for b in bodies if kind is None or b.get("type") == kind)

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(
            [
                web.post("/v23.0/{number}/messages", self._messages),
                web.get("/v23.0/media-file/{media}", self._media_file),
                web.get("/v23.0/{media}", self._media),
            ]
        )
        return app

    async def _messages(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self.requests.append(
                {
                    "path": request.path,
                    "json": body,
                    "authorization": request.headers.get("Authorization"),
                    "peer": request.transport.get_extra_info("peername") if request.transport else None,
                }
            )
            failure = self._fail.pop(0) if self._fail else None
        if self.latency:
            await asyncio.sleep(self.latency)
        if failure is not None:
            return _error(failure, 131016 if failure >= 500 else 100, "Service temporarily unavailable")
        words = f"{body.get('to', '')} {body.get('recipient', '')} {(body.get('text') or {}).get('body', '')}"
        if "__slow__" in words:
            await asyncio.sleep(2)
        for magic, (status, code, title) in _ERRORS.items():
            if magic in words:
                return _error(status, code, title)
        if body.get("status") == "read":
            return web.json_response({"success": True})
        to = body.get("to") or body.get("recipient")
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": f"wamid.fake.{next(self._ids)}"}],
            }
        )

    async def _media(self, request: web.Request) -> web.Response:
        media = request.match_info["media"]
        return web.json_response(
            {
                "url": f"http://127.0.0.1:{self.port}/v23.0/media-file/{media}",
                "mime_type": "image/jpeg",
                "id": media,
            }
        )

    async def _media_file(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return web.Response(body=b"\xff\xd8fake-jpeg", content_type="image/jpeg")
        return web.Response(status=401)

    # async use: `async with FakeGraph() as graph:`

    async def __aenter__(self) -> FakeGraph:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # sync use, for worker processes and the bench: `FakeGraph.start_in_thread()` then `stop()`

    @classmethod
    def start_in_thread(cls, latency: float = 0.0) -> FakeGraph:
        graph = cls(latency)
        ready = threading.Event()

        def run() -> None:
            graph._loop = asyncio.new_event_loop()
            graph._loop.run_until_complete(graph.__aenter__())
            ready.set()
            graph._loop.run_forever()
            graph._loop.run_until_complete(graph.__aexit__())
            graph._loop.close()

        graph._thread = threading.Thread(target=run, name="fake-graph", daemon=True)
        graph._thread.start()
        ready.wait(10)
        return graph

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


def _error(status: int, code: int, title: str) -> web.Response:
    return web.json_response(
        {
            "error": {
                "message": title,
                "type": "OAuthException",
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": title},
                "fbtrace_id": "AbCdEf",
            }
        },
        status=status,
    )
