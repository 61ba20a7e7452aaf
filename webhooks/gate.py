"""How the webhook reads a POST body: a few at once, each within a deadline, so slow or abusive clients
cannot hold the process's memory, sockets or slots (issue 16)."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

# What Meta sends: `sha256=` and 64 lowercase hex digits. Anything else cannot match (signature.is_valid
# compares against exactly that), so it is refused before a byte of the body is read.
_SIGNATURE_SHAPE = re.compile(r"sha256=[0-9a-f]{64}")


# Small POSTs held at once per slot: past it the process is behind anyway (an overloaded event loop), and
# a 503 that Meta delivers again beats a webhook answered seconds late.
POSTS_PER_SLOT = 8


class Busy(Exception):
    """Every body slot is taken: answer 503 with Retry-After, and Meta delivers again."""


class SlowBody(Exception):
    """The body did not arrive within the deadline."""


class TooLarge(Exception):
    """The body is over the size limit."""


class Incomplete(Exception):
    """The client went away, or broke the framing, before the body was whole."""


def is_signature_shaped(header: str) -> bool:
    return _SIGNATURE_SHAPE.fullmatch(header.strip()) is not None


@dataclass
class BodyGate:
    """At most `limit` webhook bodies of the largest size read and handled at once, counted by the size
    each POST declares: memory stays within `limit` x `max_body`, while a POST of a few KB (what Meta
    usually sends) takes a sliver of a slot, so a busy but healthy process is not refused for how many
    small POSTs it holds (32 of them once got 503s at a few hundred messages a second). A POST that
    declares no size counts as the largest; at most POSTS_PER_SLOT x `limit` POSTs of any size. Each
    body is read within `timeout` seconds in all: a deadline for the whole body, not per chunk, so a
    client sending a byte every few seconds is cut off too."""

    limit: int = 32
    timeout: float = 10.0
    max_body: int = 3 * 1024 * 1024
    in_flight: int = 0  # bodies being read or handled
    reserved: int = 0  # the bytes they declared (the largest size for those that declared none)
    bytes_read: int = 0  # every body so far, so the process knows when to hand memory back (app/edge.py)

    @property
    def retry_after(self) -> int:
        """Seconds after which a slot is free at the latest: the longest a read may take."""
        return math.ceil(self.timeout)

    @asynccontextmanager
    async def slot(self, declared: int | None = None) -> AsyncIterator[None]:
        """Hold room for one body while it is read and handled; Busy when there is none (no waiting: a
        queue of waiting bodies would hold the very sockets the cap protects)."""
        size = self.max_body if declared is None else max(1, min(declared, self.max_body))
        over = (
            self.in_flight >= self.limit * POSTS_PER_SLOT or self.reserved + size > self.limit * self.max_body
        )
        if self.in_flight and over:
            raise Busy
        self.in_flight += 1
        self.reserved += size
        try:
            yield
        finally:
            self.in_flight -= 1
            self.reserved -= size

    async def read(self, request: web.Request) -> bytes:
        """The whole body within the deadline; SlowBody, TooLarge or Incomplete otherwise."""
        try:
            async with asyncio.timeout(self.timeout):
                body = await request.read()
        except TimeoutError:
            raise SlowBody from None
        except web.HTTPRequestEntityTooLarge:
            raise TooLarge from None
        except (ConnectionError, web.RequestPayloadError):
            raise Incomplete from None
        self.bytes_read += len(body)
        return body
