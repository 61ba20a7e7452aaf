"""Live events for agents: one Redis reader per web process, fanned out to every open SSE stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import structlog
from aiohttp import web
from redis.asyncio import Redis as AsyncRedis

from handover.clock import Clock, system_clock
from handover.events import is_for, newest_id, read_after
from handover.liveness import seen_async

log = structlog.get_logger(__name__)

HEARTBEAT_SECONDS = 15.0
INBOX_SIZE = 1000  # events waiting for one slow client before its stream is closed
OVERFLOW: dict[str, str] = {"type": "_overflow"}


class EventHub:
    """Reads the desk event stream once and hands each event to every subscriber's queue."""

    def __init__(
        self,
        client: AsyncRedis,
        heartbeat: float = HEARTBEAT_SECONDS,
        block_ms: int = 5000,
        clock: Clock = system_clock,
    ) -> None:
        self.client = client
        self.clock = clock
        self.heartbeat = heartbeat
        self.block_ms = block_ms  # how long one read waits for news before it is asked again
        self.subscribers: set[asyncio.Queue[tuple[str, dict[str, str]]]] = set()
        self._task: asyncio.Task[None] | None = None
        self._last: str | None = None  # the id of the last entry read; None until known

    async def mark_seen(self, agent_id: str) -> None:
        """This agent has a desk connected now (see handover/liveness.py); Redis away: the next beat will."""
        with contextlib.suppress(Exception):
            await seen_async(self.client, agent_id, self.clock())

    async def start(self) -> None:
        """Start reading from the stream's end as it is now: whatever is published once this returns
        reaches every subscriber."""
        self._last = await self._newest()
        self._task = asyncio.create_task(self._read())

    async def _newest(self) -> str | None:
        try:
            return await newest_id(self.client)
        except Exception as exc:  # Redis away at start: the reader finds out where the stream ends later
            log.warning("desk_events_unavailable", error=type(exc).__name__)
            return None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _read(self) -> None:
        # Always from an explicit id, never "$": a read that comes back empty would otherwise lose what
        # is published before the next one starts.
        while True:
            if self._last is None:
                self._last = await self._newest()
                if self._last is None:
                    await asyncio.sleep(1)
                    continue
            try:
                events = await read_after(self.client, self._last, self.block_ms, 200)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: keep the streams open and try again
                log.warning("desk_events_unavailable", error=type(exc).__name__)
                await asyncio.sleep(1)
                continue
            for entry_id, event in events:
                self._last = entry_id
                for queue in list(self.subscribers):
                    _offer(queue, entry_id, event)


def _offer(queue: asyncio.Queue[tuple[str, dict[str, str]]], entry_id: str, event: dict[str, str]) -> None:
    """Hand an event to one stream; a stream too far behind gets told to close instead of stalling all."""
    try:
        queue.put_nowait((entry_id, event))
    except asyncio.QueueFull:
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
        queue.put_nowait(("", OVERFLOW))


def sse(entry_id: str, event: dict[str, str]) -> bytes:
    payload: dict[str, Any] = {
        "conversation_id": event.get("conversation_id"),
        "agent_id": event.get("agent_id") or None,
        "queue": event.get("queue") or None,
        **json.loads(event.get("data") or "{}"),
    }
    data = json.dumps(payload, ensure_ascii=False)
    return f"id: {entry_id}\nevent: {event.get('type')}\ndata: {data}\n\n".encode()


async def stream(
    request: web.Request, hub: EventHub, agent_id: str, queues: list[str], supervisor: bool
) -> web.StreamResponse:
    """Server-sent events for one agent until they disconnect, with a heartbeat comment now and then.

    Every beat also marks the agent as connected; when the last of their streams has been gone past the
    grace period, the workers' presence sweep takes them offline and re-queues their conversations."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    inbox: asyncio.Queue[tuple[str, dict[str, str]]] = asyncio.Queue(maxsize=INBOX_SIZE)
    hub.subscribers.add(inbox)  # before the answer starts: a client that sees 200 misses nothing after it
    try:
        await response.prepare(request)
        await hub.mark_seen(agent_id)
        beat = time.monotonic()
        await response.write(b": connected\n\n")
        while True:
            try:
                entry_id, event = await asyncio.wait_for(inbox.get(), hub.heartbeat)
            except TimeoutError:
                entry_id, event = "", {}
            if time.monotonic() - beat >= hub.heartbeat:
                beat = time.monotonic()
                await hub.mark_seen(agent_id)
                await response.write(b": keep-alive\n\n")
            if not event:
                continue
            if event is OVERFLOW:
                break  # too slow to keep up: close, so the client reconnects and reloads what it shows
            if is_for(event, agent_id, queues, supervisor):
                await response.write(sse(entry_id, event))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        await hub.mark_seen(agent_id)  # the grace period counts from the moment it went
        hub.subscribers.discard(inbox)
    return response
