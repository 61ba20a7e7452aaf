"""Posting to hooks (handover/hooks/): one HTTP call, bounded in time, never following a redirect, never
reaching an address safety.py refuses (checked on every connection by the resolver), never keeping what the
receiver answers beyond its status."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from handover.hooks import safety

TIMEOUT_SECONDS = 10.0  # a hook that answers slower than this failed, and is tried again later
CONNECTIONS_PER_HOOK = 4


@dataclass(frozen=True)
class Attempt:
    status: int | None  # what the receiver answered; None when it never did
    error: str | None  # why it failed, as ops read it; None when delivered
    seconds: float

    @property
    def delivered(self) -> bool:
        return self.error is None


class SafeResolver(AbstractResolver):
    """The default resolver, refusing names that resolve to private, loopback or reserved addresses."""

    def __init__(self, allow: Iterable[str]) -> None:
        self.allow = list(allow)
        self.inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        for result in found:
            why = safety.refused_address(result["host"], host, self.allow)
            if why is not None:
                raise OSError(why)
        return found

    async def close(self) -> None:
        await self.inner.close()


def make_session(allow: Iterable[str]) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(resolver=SafeResolver(allow), limit_per_host=CONNECTIONS_PER_HOOK)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    return aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False)


async def post(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], body: bytes, allow: Iterable[str]
) -> Attempt:
    """One delivery. aiohttp skips the resolver for an address written in the URL: it is checked here."""
    started = time.perf_counter()
    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        why = safety.refused_address(host, host, allow)
        if why is not None:
            return Attempt(None, why, 0.0)
    try:
        async with session.post(url, data=body, headers=headers, allow_redirects=False) as response:
            status = response.status  # the body is never read: nothing the receiver says is kept
    except TimeoutError:
        return Attempt(None, f"no answer within {TIMEOUT_SECONDS:g} s", time.perf_counter() - started)
    except aiohttp.ClientError as exc:
        return Attempt(None, _reason(exc), time.perf_counter() - started)
    seconds = time.perf_counter() - started
    if 200 <= status < 300:
        return Attempt(status, None, seconds)
    if 300 <= status < 400:
        return Attempt(status, f"answered {status}: redirects are not followed", seconds)
    return Attempt(status, f"answered {status}", seconds)


def _reason(exc: aiohttp.ClientError) -> str:
    cause = exc.__cause__ or getattr(exc, "os_error", None)
    text = str(cause) if cause is not None else str(exc)
    return text or type(exc).__name__
