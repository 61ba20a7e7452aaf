"""Live events for agents: one Redis reader per web process, fanned out to every open SSE stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import web
from redis.asyncio import Redis as AsyncRedis

from desk.presence import PresenceMarks
from desk.tasks import stopped
from handover.agents import numbers_served
from handover.clock import Clock, system_clock
from handover.events import is_for, newest_id, numbers_of, read_after

log = structlog.get_logger(__name__)

HEARTBEAT_SECONDS = 15.0
INBOX_SIZE = 1000  # events waiting for one slow client before its stream is closed
STREAMS_PER_AGENT = 5  # HANDOVER_STREAMS_PER_AGENT
BEAT_SLICE = 100  # streams woken together by the beat
NUMBERS_KEPT = 10_000  # conversations whose business number the hub remembers (they never change)
OVERFLOW: dict[str, str] = {"type": "_overflow"}
KEEPALIVE: dict[str, str] = {"type": "_keepalive"}  # the hub's beat: each stream writes a comment line
# The last word of a stream the hub closes: the agent opened one stream too many (the oldest goes), or was
# removed (handover/assignment/removal.py; their token is dead, so the console's reconnection signs it out)
REPLACED: dict[str, str] = {"type": "replaced"}
REMOVED: dict[str, str] = {"type": "agent_removed"}

Inbox = asyncio.Queue[tuple[str, dict[str, str]]]


@dataclass(eq=False)
class Subscriber:
    """One open event stream: whose it is (what they hear of: events.is_for), the events waiting for it."""

    agent_id: str
    queues: list[str] = field(default_factory=list)
    supervisor: bool = False
    numbers: list[str] = field(default_factory=list)  # only these business numbers' events; empty: all
    inbox: Inbox = field(default_factory=lambda: asyncio.Queue(maxsize=INBOX_SIZE))


class EventHub:
    """Reads the desk event stream once and hands each event to the inboxes of the open streams it is for;
    keeps at most `streams_per_agent` streams per agent, and their presence marks (desk/presence.py). One
    beat for all streams (a keep-alive in each inbox): an idle stream costs no timer or task of its own, so
    thousands of them cost the event loop, and the webhook on it, little."""

    def __init__(
        self,
        client: AsyncRedis,
        heartbeat: float = HEARTBEAT_SECONDS,
        block_ms: int = 5000,
        clock: Clock = system_clock,
        streams_per_agent: int = STREAMS_PER_AGENT,
    ) -> None:
        self.client = client
        self.clock = clock
        self.heartbeat = heartbeat
        self.block_ms = block_ms  # how long one read waits for news before it is asked again
        self.streams_per_agent = streams_per_agent
        self.streams: dict[str, list[Subscriber]] = {}  # agent id -> their open streams, oldest first
        self.marks = PresenceMarks(client, self.streams.keys, heartbeat, clock)
        self._tasks: list[asyncio.Task[None]] = []
        self._last: str | None = None  # the id of the last entry read; None until known
        self._numbers: dict[str, str] = {}  # conversation id -> its business number, as far as looked up
        self._serving: dict[str, list[str]] = {}  # agent id -> the numbers they serve ([]: all), looked up

    def join(
        self,
        agent_id: str,
        queues: list[str] | None = None,
        supervisor: bool = False,
        numbers: list[str] | None = None,
    ) -> Subscriber:
        """A new stream of this agent hears, from now on, every event for them (`numbers`: only of those
        business numbers' conversations); past the cap, their oldest is closed (told `replaced`), so a
        token cannot hold thousands of streams."""
        theirs = self.streams.setdefault(agent_id, [])
        while len(theirs) >= self.streams_per_agent:
            _close(theirs.pop(0), REPLACED)
            log.info("desk_stream_replaced", agent_id=agent_id, streams_per_agent=self.streams_per_agent)
        subscriber = Subscriber(agent_id, queues or [], supervisor, numbers or [])
        theirs.append(subscriber)
        return subscriber

    async def leave(self, subscriber: Subscriber, mark: bool = True) -> None:
        """A stream ended. `mark`: the grace period counts from now (written before it is gone from the
        hub, so whoever sees it gone reads the mark); not for a removed agent, whom nothing brings back."""
        if mark:
            await self.marks.mark(subscriber.agent_id)
        theirs = self.streams.get(subscriber.agent_id, [])
        if subscriber in theirs:
            theirs.remove(subscriber)
        if not theirs:
            self.streams.pop(subscriber.agent_id, None)

    def close_agent(self, agent_id: str) -> None:
        """The agent was removed: each of their streams says so and ends."""
        for subscriber in self.streams.pop(agent_id, []):
            _close(subscriber, REMOVED)

    async def start(self) -> None:
        """Start reading from the stream's end as it is now: whatever is published once this returns
        reaches every subscriber."""
        self._last = await self._newest()
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._beat())]
        self.marks.start()

    async def _newest(self) -> str | None:
        try:
            return await newest_id(self.client)
        except Exception as exc:  # Redis away at start: the reader finds out where the stream ends later
            log.warning("desk_events_unavailable", error=type(exc).__name__)
            return None

    async def stop(self) -> None:
        await self.marks.stop()
        await stopped(*self._tasks)
        self._tasks = []

    async def _beat(self) -> None:
        """Every heartbeat each stream writes a comment: proxies keep it open, and a write to a client gone
        away ends it (its presence mark then counts the grace period from there). Spread over the beat in
        slices of BEAT_SLICE streams: thousands of writes at once would hold up the webhook on this loop."""
        while True:
            everyone = [subscriber for theirs in list(self.streams.values()) for subscriber in theirs]
            slices = max(1, math.ceil(len(everyone) / BEAT_SLICE))
            for start in range(0, slices * BEAT_SLICE, BEAT_SLICE):
                await asyncio.sleep(self.heartbeat / slices)
                for subscriber in everyone[start : start + BEAT_SLICE]:
                    _offer(subscriber.inbox, "", KEEPALIVE)

    async def _read(self) -> None:
        # Always from an explicit id, never "$": a read that comes back empty would otherwise lose what
        # is published before the next one starts.
        while True:
            _still_wanted()
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
                _still_wanted(exc)
                log.warning("desk_events_unavailable", error=type(exc).__name__)
                await asyncio.sleep(1)
                continue
            numbers, serving = await self._numbers_of(events)
            for entry_id, event in events:
                self._last = entry_id
                if event.get("type") == "agent_removed" and event.get("agent_id"):
                    self.close_agent(event["agent_id"])
                for theirs in list(self.streams.values()):
                    for s in theirs:
                        if is_for(event, s.agent_id, s.queues, s.supervisor) and (
                            not s.numbers or _of_their_numbers(event, s, numbers, serving)
                        ):
                            _offer(s.inbox, entry_id, event)

    async def _numbers_of(
        self, events: list[tuple[str, dict[str, str]]]
    ) -> tuple[dict[str, str], dict[str, list[str]]]:
        """The business number of each event's conversation, and the numbers of each agent an event is
        about with no conversation (presence), when a stream open here hears only some numbers (else
        nothing is looked up): remembered, so each costs one lookup, made for the batch at once (an agent's
        again after `agents set`, which publishes `agent_status` why `updated`). What is not known (gone,
        or Redis away) reaches only those who see every number."""
        if not any(s.numbers for theirs in self.streams.values() for s in theirs):
            return {}, {}
        conversations = {e.get("conversation_id") or "" for _, e in events} - {""}
        people = {e.get("agent_id") or "" for _, e in events if not e.get("conversation_id")} - {""}
        for _, event in events:
            if event.get("type") == "agent_status" and _why(event) == "updated":
                self._serving.pop(event.get("agent_id") or "", None)
        try:
            await self._look_up(conversations, people)
        except Exception as exc:  # Redis away: told to those who see every number only
            log.warning("desk_event_numbers_unavailable", error=type(exc).__name__)
        numbers = {c: self._numbers[c] for c in conversations if c in self._numbers}
        return numbers, {a: self._serving[a] for a in people if a in self._serving}

    async def _look_up(self, conversations: set[str], people: set[str]) -> None:
        missing = [c for c in conversations if c not in self._numbers]
        if missing:
            found = await numbers_of(self.client, missing)
            if len(self._numbers) + len(found) > NUMBERS_KEPT:
                self._numbers.clear()
            self._numbers.update(found)
        strangers = [a for a in people if a not in self._serving]
        if strangers:
            served = await numbers_served(self.client, strangers)
            if len(self._serving) + len(served) > NUMBERS_KEPT:
                self._serving.clear()
            self._serving.update(served)


def _why(event: dict[str, str]) -> object:
    try:
        return json.loads(event.get("data") or "{}").get("why")
    except ValueError:
        return None


def _of_their_numbers(
    event: dict[str, str], s: Subscriber, numbers: dict[str, str], serving: dict[str, list[str]]
) -> bool:
    """For a stream of some numbers: an event of a conversation of one of them, or about a colleague who
    serves one of them (or every number), or about the stream's own agent."""
    about = event.get("conversation_id") or ""
    if about:
        return numbers.get(about) in s.numbers
    agent_id = event.get("agent_id") or ""
    if not agent_id or agent_id == s.agent_id:
        return True
    theirs = serving.get(agent_id)
    return theirs is not None and (not theirs or bool(set(theirs) & set(s.numbers)))


def _offer(queue: Inbox, entry_id: str, event: dict[str, str]) -> None:
    """Hand an event to one stream; a stream too far behind gets told to close instead of stalling all."""
    try:
        queue.put_nowait((entry_id, event))
    except asyncio.QueueFull:
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
        queue.put_nowait(("", OVERFLOW))


def _close(subscriber: Subscriber, why: dict[str, str]) -> None:
    """Tell a stream to end at once: what it had not sent yet is dropped (its desk reloads anyway)."""
    while not subscriber.inbox.empty():
        subscriber.inbox.get_nowait()
    subscriber.inbox.put_nowait(("", why))


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
    request: web.Request,
    hub: EventHub,
    agent_id: str,
    queues: list[str],
    supervisor: bool,
    numbers: list[str] | None = None,
) -> web.StreamResponse:
    """Server-sent events for one agent until they disconnect, with a heartbeat comment now and then.

    While it is open the agent is marked as connected (desk/presence.py); when the last of their streams
    has been gone past the grace period, the workers' presence sweep takes them offline and re-queues their
    conversations. The hub may end it with a last event: `replaced` (the agent opened more streams than
    allowed; this was the oldest) or `agent_removed`."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    # before the answer starts: a client that sees 200 misses nothing after it
    me = hub.join(agent_id, queues, supervisor, numbers)
    ended: dict[str, str] | None = None
    try:
        await response.prepare(request)
        await hub.marks.mark(agent_id)
        await response.write(b": connected\n\n")
        while True:
            entry_id, event = await me.inbox.get()
            if event is KEEPALIVE:
                await response.write(b": keep-alive\n\n")
                continue
            if event is OVERFLOW:
                break  # too slow to keep up: close, so the client reconnects and reloads what it shows
            if event is REPLACED or event is REMOVED:
                ended = event
                await response.write(_last_word(event, agent_id, hub.streams_per_agent))
                break
            await response.write(sse(entry_id, event))  # the hub hands each stream only what is for it
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        await hub.leave(me, mark=ended is not REMOVED)
    return response


def _last_word(why: dict[str, str], agent_id: str, streams_per_agent: int) -> bytes:
    """The frame a stream the hub closes ends with (no `id:`: it is no position in the desk's events)."""
    data: dict[str, Any] = {"conversation_id": None, "agent_id": agent_id, "queue": None}
    if why is REPLACED:
        data["streams_per_agent"] = streams_per_agent
    return f"event: {why['type']}\ndata: {json.dumps(data)}\n\n".encode()


def _still_wanted(cause: BaseException | None = None) -> None:
    """Raise CancelledError if this task was asked to stop. stop() cancels the reader while it blocks in
    XREAD; redis-py turns that cancel into a connection error and, as the client retries a dropped
    connection once, may read again and return normally: the cancel is spent, yet the task's `cancelling()`
    still counts it. Checked on every turn, whatever the read did, the reader stops (a shutdown once hung
    here for good: tests/integration/test_desk_upload_hostile.py, tests/unit/test_live_reader_stops.py)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from cause
