"""What a new connection gets while the event loop is behind (webhooks/pressure.py): a webhook POST is refused
from its request line, before aiohttp parses a byte of it; everything else is served as usual (issue 28)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

from aiohttp import web

from webhooks.pressure import OVERLOADED, RETRY_AFTER_SECONDS
from webhooks.views import WebhookContext

# After an early answer (403, 408, 503) the rest of a body is read and dropped this long, so a client still
# sending sees the answer rather than a reset; then the connection closes (aiohttp's default is 10 s).
LINGER_SECONDS = 2.0
REQUEST_LINE_SECONDS = 1.0  # how long a refused or shed connection may take to say what it wants
REQUEST_LINE_BYTES = 256  # past it without a line end: not a line this module answers
WEBHOOK_POSTS = (b"POST /webhook ", b"POST /webhook?")
HEALTH_CHECKS = (b"GET /healthz ", b"GET /healthz?")


def raw_answer(status: str, body: Mapping[str, object], retry_after: int | None = None) -> bytes:
    """A whole HTTP/1.1 response that closes the connection, written without aiohttp."""
    raw = json.dumps(body).encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(raw)}\r\n"
    head += f"Retry-After: {retry_after}\r\n" if retry_after is not None else ""
    return (head + "Connection: close\r\n\r\n").encode() + raw


HEALTHY = raw_answer("200 OK", {"status": "ok"})
SHED = raw_answer("503 Service Unavailable", OVERLOADED, RETRY_AFTER_SECONDS)


class Shedding(asyncio.Protocol):
    """A new connection while the loop is behind, decided on its request line alone. `POST /webhook`
    gets 503 `overloaded` with Retry-After (Meta delivers it again) for the cost of a write, where aiohttp
    would parse its headers, run the handler and read its body; `GET /healthz` gets 200 as ever (the
    process is alive: restarting it would not help); anything else (the desk, the console, /metrics) is
    handed to aiohttp's handler with what was read, so agents keep working while the webhook sheds."""

    def __init__(self, server: web.Server, webhook: WebhookContext) -> None:
        self.server = server
        self.webhook = webhook
        self.received = b""
        self.answered = False
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        # silent that long: aiohttp's handler takes it, with its own idle timeout
        self.timer = asyncio.get_running_loop().call_later(REQUEST_LINE_SECONDS, self.decide)

    def data_received(self, data: bytes) -> None:
        if self.answered:  # the rest of a refused body: dropped while the client reads the answer
            return
        self.received += data
        if b"\n" in self.received or len(self.received) > REQUEST_LINE_BYTES:
            self.decide()

    def decide(self) -> None:
        self._cancel_timer()
        if self.transport is None or self.transport.is_closing() or self.answered:
            return
        if self.received.startswith(WEBHOOK_POSTS):
            self.webhook.metrics.received.inc()
            self.webhook.metrics.rejected.labels(reason="overloaded").inc()
            self.webhook.pressure.refused += 1
            self._answer(SHED)
        elif self.received.startswith(HEALTH_CHECKS):
            self._answer(HEALTHY)
        else:
            self._hand_on(self.transport)

    def eof_received(self) -> bool | None:
        return None  # the client is done sending: close (after the answer, if any, is written)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()

    def _answer(self, response: bytes) -> None:
        """Write the answer and the end of what we send, then read and drop what the client still sends
        (closing with unread bytes would reset the connection, and could lose the answer) until the client
        closes, LINGER_SECONDS at most."""
        assert self.transport is not None
        self.answered = True
        self.transport.write(response)
        self.transport.write_eof()
        self.timer = asyncio.get_running_loop().call_later(LINGER_SECONDS, self.transport.close)

    def _hand_on(self, transport: asyncio.Transport) -> None:
        handler = self.server()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        if self.received:
            handler.data_received(self.received)

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
