"""A fake Graph API on loopback that answers like Meta and reacts to magic inputs.

Magic words, anywhere in the recipient, the text, an interactive body or a template parameter:

| word          | answer                                                        |
|---------------|---------------------------------------------------------------|
| `__429__`     | 429, code 130429 (throughput limit)                           |
| `__pair__`    | 400, code 131056 (pair rate limit)                            |
| `__500__`     | 500, code 131000 (something went wrong)                       |
| `__html__`    | 502 with an HTML page, as a load balancer would               |
| `__slow__`    | the normal answer, two seconds late                           |
| `__window__`  | 400, code 131047 (outside the 24-hour window)                 |
| `__notuser__` | 400, code 131026 (message undeliverable)                      |
| `__auth__`    | 401, code 190 (access token expired)                          |

`fail_next(n, status=503)` fails the next n sends (code 131016), then answers normally. `stumble({2, 5},
[(429, 130429), (500, None)])` answers, for every recipient, the send that would be its 3rd (and its 6th)
accepted message with each failure in turn (one attempt each), then accepts it: a chosen reply of each
customer is retried while the later ones wait. Media: `GET /{id}`
answers a download URL on this server (`__missing__` as the id: 400, code 100); `serve_file(id, path,
mime)` has that media's download send a file from disk (large media), counted in `downloads` like the rest. `latency` delays every
answer, as the real API does (100-300 ms). `on_send(body, arrived)` hears of every send as it arrives
(`arrived`: time.perf_counter(), before the latency), and `record=False` keeps nothing (long benches). Use it as `async with FakeGraph() as graph:` in async tests, or
`graph = FakeGraph.start_in_thread()` ... `graph.stop()` for processes and synchronous tests.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

VERSION = "v23.0"

_ERRORS = {
    "__429__": (429, 130429, "(#130429) Rate limit hit", "Cloud API message throughput has been reached."),
    "__pair__": (
        400,
        131056,
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number "
        "to the same phone number in a short period of time.",
    ),
    "__500__": (500, 131000, "Something went wrong", "Message failed to send due to an unknown error."),
    "__window__": (
        400,
        131047,
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied "
        "to this number.",
    ),
    "__notuser__": (400, 131026, "(#131026) Message undeliverable", "Unable to deliver message."),
    "__auth__": (401, 190, "Error validating access token: Session has expired", ""),
}


class FakeGraph:
    """Meta's Graph API for the tests: records what it got, answers like Meta, fails on demand."""

    def __init__(
        self,
        latency: float = 0.0,
        record: bool = True,
        on_send: Callable[[dict[str, Any], float], None] | None = None,
        keep_uploads: bool = True,
    ) -> None:
        self.latency = latency
        self.record = record
        self.keep_uploads = keep_uploads  # False: an upload's size is kept, not its bytes (large uploads)
        self.on_send = on_send
        self.port: int | None = None
        self.requests: list[dict[str, Any]] = []  # sends: {"path", "json", "authorization", "peer", "at"}
        self.downloads: list[dict[str, Any]] = []  # media GETs: {"path", "authorization"}
        self.uploads: list[dict[str, Any]] = []  # media POSTs: number, type, filename, content, authorization
        self.accepted: list[dict[str, Any]] = []  # messages answered 200 (a caller that timed out included)
        self.files: dict[str, tuple[Path, str]] = {}  # media id -> (file served, MIME type): serve_file
        self._ids = itertools.count(1)
        self._fail: list[tuple[int, int | None]] = []
        self._stumble_at: set[int] = set()
        self._stumbles: list[tuple[int, int | None]] = []
        self._stumbled: dict[tuple[str, int], int] = {}  # (recipient, accepted so far) -> failures served
        self._taken: dict[str, int] = {}  # recipient -> messages accepted
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("FakeGraph is not started")
        return f"http://127.0.0.1:{self.port}/{VERSION}"

    def fail_next(self, count: int, status: int = 503, code: int | None = None) -> None:
        """Answer the next `count` sends with `status` and Meta's `code` (default: a 5xx is 131016, anything
        else 100; 429 with 130429 is Meta's throughput limit)."""
        with self._lock:
            self._fail += [(status, code)] * count

    def stumble(self, at: set[int], answers: list[tuple[int, int | None]]) -> None:
        """For every recipient, answer the send that comes when it has had `n` messages accepted (n in `at`)
        with `answers` (status, Meta's code or None) in turn, one attempt each; then accept it."""
        with self._lock:
            self._stumble_at, self._stumbles = set(at), list(answers)

    def serve_file(self, media_id: str, path: Path, mime_type: str) -> None:
        """The download of `media_id` sends this file (by sendfile: large media cost this server nothing)."""
        with self._lock:
            self.files[media_id] = (path, mime_type)

    def downloads_of(self, media_id: str) -> int:
        """How many times the file of `media_id` was downloaded."""
        with self._lock:
            return sum(1 for d in self.downloads if d["path"].endswith(f"/media-file/{media_id}"))

    def stumbles_served(self) -> int:
        """How many failures `stumble` has answered so far."""
        with self._lock:
            return sum(self._stumbled.values())

    def failures_left(self) -> int:
        """How many of the failures asked for with fail_next have not been served yet."""
        with self._lock:
            return len(self._fail)

    def count(self, kind: str | None = None) -> int:
        """Sends received; `kind` "read" for receipts, or a message type such as "text"."""
        bodies = [r["json"] for r in self.snapshot()]
        if kind == "read":
            return sum(1 for b in bodies if b.get("status") == "read")
        return sum(1 for b in bodies if kind is None or b.get("type") == kind)

    def snapshot(self) -> list[dict[str, Any]]:
        """A copy of the sends received so far, safe to read from any thread."""
        with self._lock:
            return list(self.requests)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=100 * 1024 * 1024)  # uploads: WhatsApp takes up to 100 MB
        app.add_routes(
            [
                web.post(f"/{VERSION}/{{number}}/messages", self._messages),
                web.post(f"/{VERSION}/{{number}}/media", self._upload),
                web.get(f"/{VERSION}/media-file/{{media}}", self._media_file),
                web.get(f"/{VERSION}/{{media}}", self._media),
            ]
        )
        return app

    async def _messages(self, request: web.Request) -> web.Response:
        body = await request.json()
        arrived = time.perf_counter()
        if self.on_send is not None:
            self.on_send(body, arrived)
        with self._lock:
            if self.record:
                self.requests.append(
                    {
                        "path": request.path,
                        "json": body,
                        "authorization": request.headers.get("Authorization"),
                        "peer": request.transport.get_extra_info("peername") if request.transport else None,
                        "at": arrived,
                    }
                )
            failure = self._fail.pop(0) if self._fail else None
            if failure is None and body.get("status") != "read":
                failure = self._stumble_on(str(body.get("to", "")))
        if self.latency:
            await asyncio.sleep(self.latency)
        if failure is not None:
            status, code = failure
            code = code or (131016 if status >= 500 else 100)
            return _error(
                status, code, "Service temporarily unavailable", "A service is temporarily unavailable."
            )
        words = _words(body)
        if "__slow__" in words:
            await asyncio.sleep(2)
        if "__html__" in words:
            return web.Response(
                status=502, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html"
            )
        for magic, (status, code, message, details) in _ERRORS.items():
            if magic in words:
                return _error(status, code, message, details)
        if body.get("status") == "read":
            return web.json_response({"success": True})
        with self._lock:
            if self.record:
                self.accepted.append(body)  # Meta took it, whether or not the caller waited for the answer
            to = str(body.get("to", ""))
            self._taken[to] = self._taken.get(to, 0) + 1
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [_contact(body)],
                "messages": [{"id": f"wamid.fake.{next(self._ids)}"}],
            }
        )

    def _stumble_on(self, to: str) -> tuple[int, int | None] | None:
        """The failure `stumble` asks for on this send, if any (call with the lock held)."""
        taken = self._taken.get(to, 0)
        if taken not in self._stumble_at:
            return None
        served = self._stumbled.get((to, taken), 0)
        if served >= len(self._stumbles):
            return None
        self._stumbled[(to, taken)] = served + 1
        return self._stumbles[served]

    async def _media(self, request: web.Request) -> web.Response:
        media = request.match_info["media"]
        if self.latency:
            await asyncio.sleep(self.latency)
        if media == "__missing__":
            return _error(
                400, 100, "Unsupported get request. Object with ID '__missing__' does not exist", ""
            )
        with self._lock:
            path, mime = self.files.get(media, (None, "image/jpeg"))
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"http://127.0.0.1:{self.port}/{VERSION}/media-file/{media}?ext=1&hash=signed",
                "mime_type": mime,
                "sha256": "0" * 64,
                "file_size": str(path.stat().st_size if path else 12),
                "id": media,
            }
        )

    async def _upload(self, request: web.Request) -> web.Response:
        """`POST /{phone-number-id}/media` (multipart: messaging_product, type, file): a media id."""
        form = await request.post()
        upload = form.get("file")
        size, content = 0, b""
        if isinstance(upload, web.FileField):
            while chunk := upload.file.read(1024 * 1024):
                size += len(chunk)
                content += chunk if self.keep_uploads else b""
        with self._lock:
            self.uploads.append(
                {
                    "number": request.match_info["number"],
                    "type": form.get("type"),
                    "messaging_product": form.get("messaging_product"),
                    "filename": upload.filename if isinstance(upload, web.FileField) else None,
                    "content": content,
                    "size": size,
                    "authorization": request.headers.get("Authorization"),
                }
            )
            media_id = f"up{len(self.uploads)}"
        return web.json_response({"id": media_id})

    async def _media_file(self, request: web.Request) -> web.StreamResponse:
        authorization = request.headers.get("Authorization")
        with self._lock:
            self.downloads.append({"path": request.path, "authorization": authorization})
            served = self.files.get(request.match_info["media"])
        scheme, _, token = (authorization or "").partition(" ")
        if scheme != "Bearer" or not token.strip():
            return _error(401, 190, "Invalid OAuth access token", "")
        if served is not None:
            return web.FileResponse(served[0], headers={"Content-Type": served[1]})
        return web.Response(body=b"\xff\xd8fake-jpeg", content_type="image/jpeg")

    # async use: `async with FakeGraph() as graph:`

    async def __aenter__(self) -> FakeGraph:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)  # the OS picks a free port: no race
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # sync use, for worker processes and the bench: `FakeGraph.start_in_thread()` then `stop()`

    @classmethod
    def start_in_thread(cls, latency: float = 0.0, **options: Any) -> FakeGraph:
        """Serve from a daemon thread with its own event loop; `requests` is appended under a lock.
        `options`: `record`, `on_send`, `keep_uploads` (see the constructor)."""
        graph = cls(latency, **options)
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = graph._loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(graph.__aenter__())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(graph.__aexit__())
            loop.close()

        graph._thread = threading.Thread(target=run, name="fake-graph", daemon=True)
        graph._thread.start()
        if not ready.wait(10) or failure:
            raise RuntimeError("FakeGraph did not start") from (failure[0] if failure else None)
        return graph

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


def _words(body: dict[str, Any]) -> str:
    """Where the magic words may hide: recipient, text, interactive body, template parameters."""
    interactive = body.get("interactive") or {}
    components = (body.get("template") or {}).get("components") or []
    params = [p.get("text", "") for c in components for p in c.get("parameters", [])]
    parts = [
        body.get("to", ""),
        body.get("recipient", ""),
        (body.get("text") or {}).get("body", ""),
        (interactive.get("body") or {}).get("text", ""),
        *params,
    ]
    return " ".join(str(p) for p in parts)


def _contact(body: dict[str, Any]) -> dict[str, str]:
    """Meta answers `wa_id` for a phone number, `user_id` for a business-scoped user id."""
    if body.get("to"):
        return {"input": body["to"], "wa_id": body["to"]}
    return {"input": body.get("recipient", ""), "user_id": body.get("recipient", "")}


def _error(status: int, code: int, message: str, details: str) -> web.Response:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEf",
    }
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return web.json_response({"error": error}, status=status)
