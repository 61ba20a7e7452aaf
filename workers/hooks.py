"""Posting to hooks (handover/hooks/): one HTTP call, bounded in time, never following a redirect, never
reaching an address safety.py refuses (checked on every connection by the resolver), never keeping what the
receiver answers beyond its status."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import redis
import structlog
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from handover.hooks import outbox, pump, safety, signing
from handover.hooks.model import Hook
from handover.hooks.store import HookStore
from workers.dispatcher import Loop

log = structlog.get_logger(__name__)

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


class LoopThread(Protocol):
    """An asyncio loop on a thread of its own (graph/transport.py's, given by app/wiring.py)."""

    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any: ...

    def stop(self) -> None: ...


class HookLoop(Loop):
    """The workers' side of hooks, in every worker process: turns desk events into deliveries
    (handover/hooks/pump.py) and posts the due ones (handover/hooks/outbox.py) from a loop of its own, at
    most CONNECTIONS_PER_HOOK at a time to one hook, so a hanging or failing receiver holds up only its
    own deliveries: never the bot, the desk, or another hook."""

    name = "hooks"

    def __init__(
        self,
        client: redis.Redis,
        loop_thread: Callable[[], LoopThread],
        retry_seconds: float,
        allow: Iterable[str],
        console_url: str = "",
        idle_wait: float = 0.2,
    ) -> None:
        super().__init__()
        self.client = client
        self.loop_thread = loop_thread
        self.retry_seconds = retry_seconds
        self.allow = list(allow)
        self.console_url = console_url
        self.idle_wait = idle_wait
        self.consumer = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.hooks = HookStore(client)
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    def run(self) -> None:
        poster = self.loop_thread()
        session = poster.run(_open(self.allow))
        try:
            pump.ensure_group(self.client)
            reclaimed_at = 0.0  # a dead worker's events: looked for at once, then every 10 s
            while not self._stop.is_set():
                try:
                    hooks = {h.id: h for h in self.hooks.all()}
                    now = time.time()
                    reclaim = now - reclaimed_at >= pump.RECLAIM_EVERY_SECONDS
                    reclaimed_at = now if reclaim else reclaimed_at
                    pump.pump(
                        self.client,
                        list(hooks.values()),
                        self.consumer,
                        now,
                        block_ms=int(self.idle_wait * 1000),
                        console_url=self.console_url,
                        reclaim=reclaim,
                    )
                    self._post_due(poster, session, hooks)
                except redis.RedisError as exc:
                    log.warning("hooks_redis_unavailable", error=str(exc))
                    self._stop.wait(1.0)
                except Exception:  # a bug here must never stop the worker's other work
                    log.exception("hooks_loop_failed")
                    self._stop.wait(1.0)
        finally:
            with contextlib.suppress(Exception):  # posts under way: their leases bring them back
                poster.run(_stop_posting(session), timeout=5)
            poster.stop()

    def _post_due(self, poster: LoopThread, session: aiohttp.ClientSession, hooks: dict[str, Hook]) -> None:
        now = time.time()
        due = outbox.take(self.client, now, limit=100)
        if not due:
            return
        breakers = outbox.breakers(self.client)
        for delivery in due:
            hook = hooks.get(delivery.hook)
            if hook is None:  # removed: nothing left to post it to
                outbox.drop(self.client, delivery.id)
                continue
            breaker = breakers.get(hook.id)
            if breaker is not None and breaker.is_open(now):
                outbox.later(self.client, [delivery.id], breaker.open_until)
                continue
            with self._lock:
                busy = self._in_flight.get(hook.id, 0) >= CONNECTIONS_PER_HOOK
                if not busy:
                    self._in_flight[hook.id] = self._in_flight.get(hook.id, 0) + 1
            if busy:
                outbox.later(self.client, [delivery.id], now + 0.5)
                continue
            asyncio.run_coroutine_threadsafe(self._deliver(session, hook, delivery), poster.loop)

    async def _deliver(self, session: aiohttp.ClientSession, hook: Hook, delivery: outbox.Delivery) -> None:
        try:
            secret = self.hooks.secret(hook)
            if secret is None:
                attempt = Attempt(
                    None, f"no signing secret: ${hook.secret_env} is not set in this worker", 0.0
                )
            else:
                body = delivery.body.encode()
                headers = signing.headers(secret, delivery.id, time.time(), body)
                attempt = await post(session, hook.url, headers, body, self.allow)
            settled = outbox.settle(
                self.client,
                delivery,
                attempt.status,
                attempt.error,
                attempt.seconds,
                time.time(),
                self.retry_seconds,
            )
            if attempt.error is not None:
                log.warning(
                    "hook_delivery_failed",
                    hook=hook.id,
                    delivery=delivery.id,
                    attempt=delivery.attempts,
                    error=attempt.error,
                    gave_up=settled.gave_up,
                )
        except Exception:  # Redis away while settling: the lease runs out and it is posted again
            log.exception("hook_delivery_unsettled", hook=hook.id, delivery=delivery.id)
        finally:
            with self._lock:
                self._in_flight[hook.id] -= 1


async def _open(allow: list[str]) -> aiohttp.ClientSession:
    return make_session(allow)


async def _stop_posting(session: aiohttp.ClientSession) -> None:
    """Cancel the posts under way (a hanging receiver's among them) and close the session."""
    current = asyncio.current_task()
    posting = [t for t in asyncio.all_tasks() if t is not current]
    for task in posting:
        task.cancel()
    await asyncio.gather(*posting, return_exceptions=True)
    await session.close()
