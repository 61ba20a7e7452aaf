"""The event hub's fan-out: a client too slow to keep up is told to go, and nobody else waits for it."""

from __future__ import annotations

import asyncio

import fakeredis

from desk import live
from desk.presence import PresenceMarks
from handover import keys


def test_a_full_inbox_ends_with_the_overflow_marker_instead_of_raising():
    inbox: asyncio.Queue = asyncio.Queue(maxsize=3)
    for n in range(5):
        live._offer(inbox, f"{n}-0", {"type": "waiting", "conversation_id": str(n)})
    drained = [inbox.get_nowait() for _ in range(inbox.qsize())]
    assert drained[-1] == ("", live.OVERFLOW)
    assert len(drained) == 3


def test_sse_frames_carry_the_stream_position_type_and_json_data():
    frame = live.sse(
        "1700000000000-0",
        {
            "type": "customer_wrote",
            "conversation_id": "c1",
            "agent_id": "a1",
            "queue": "",
            "data": '{"n": 1}',
        },
    )
    assert frame == (
        b"id: 1700000000000-0\nevent: customer_wrote\n"
        b'data: {"conversation_id": "c1", "agent_id": "a1", "queue": null, "n": 1}\n\n'
    )


async def hub_with_a_subscriber(block_ms: int = 5000) -> tuple[live.EventHub, asyncio.Queue]:
    hub = live.EventHub(fakeredis.FakeAsyncRedis(decode_responses=True), block_ms=block_ms)
    inbox = hub.join("ag_1", supervisor=True).inbox
    await hub.start()
    return hub, inbox


async def received(inbox: asyncio.Queue, count: int) -> list[str]:
    return [(await asyncio.wait_for(inbox.get(), 10))[1]["n"] for _ in range(count)]


async def test_an_event_published_as_soon_as_the_hub_has_started_reaches_the_subscribers():
    hub, inbox = await hub_with_a_subscriber()
    await hub.client.xadd(keys.DESK_EVENTS, {"type": "waiting", "n": "1"})  # before the reader ever ran
    assert await received(inbox, 1) == ["1"]
    await hub.stop()


async def test_events_published_between_two_empty_reads_are_not_lost():
    """Each read waits 1 ms, so most events land while no read is waiting: each must still arrive."""
    hub, inbox = await hub_with_a_subscriber(block_ms=1)
    for n in range(200):
        await hub.client.xadd(keys.DESK_EVENTS, {"type": "waiting", "n": str(n)})
        await asyncio.sleep(0.001 * (n % 3))
    assert await received(inbox, 200) == [str(n) for n in range(200)]
    await hub.stop()


async def test_events_from_before_the_start_are_not_replayed():
    client = fakeredis.FakeAsyncRedis(decode_responses=True)
    await client.xadd(keys.DESK_EVENTS, {"type": "waiting", "n": "old"})
    hub = live.EventHub(client)
    inbox = hub.join("ag_1", supervisor=True).inbox
    await hub.start()
    await client.xadd(keys.DESK_EVENTS, {"type": "waiting", "n": "new"})
    assert await received(inbox, 1) == ["new"]
    await hub.stop()


class RecordingRedis:
    """Records the presence writes (handover/assignment/liveness.py seen_async) instead of making them."""

    def __init__(self) -> None:
        self.zadds: list[tuple[str, dict[str, int]]] = []

    async def zadd(self, key: str, mapping: dict[str, int]) -> int:
        self.zadds.append((key, dict(mapping)))
        return len(mapping)


async def test_streams_opening_together_are_marked_in_one_write():
    client = RecordingRedis()
    marks = PresenceMarks(client, lambda: [], heartbeat=3600)  # type: ignore[arg-type]
    marks.start()
    await asyncio.gather(*(marks.mark(f"ag_{n}") for n in range(100)))  # each returns once written
    [(key, mapping)] = client.zadds
    assert (key, set(mapping)) == (keys.AGENTS_LIVE, {f"ag_{n}" for n in range(100)})
    await marks.stop()


async def test_each_beat_marks_everyone_connected_in_one_write():
    client = RecordingRedis()
    marks = PresenceMarks(client, lambda: ["ag_1", "ag_2", "ag_3"], heartbeat=0.01)  # type: ignore[arg-type]
    marks.start()
    while marks.beats < 3:
        await asyncio.sleep(0.01)
    await marks.stop()
    assert len(client.zadds) == marks.beats
    assert all(set(mapping) == {"ag_1", "ag_2", "ag_3"} for _, mapping in client.zadds)


async def test_the_oldest_stream_past_the_cap_is_told_it_was_replaced():
    hub = live.EventHub(fakeredis.FakeAsyncRedis(decode_responses=True), streams_per_agent=2)
    first, second = hub.join("ag_1"), hub.join("ag_1")
    first.inbox.put_nowait(("1-0", {"type": "waiting"}))  # not sent yet: dropped, its desk reloads anyway
    third = hub.join("ag_1")
    assert hub.streams["ag_1"] == [second, third]
    assert [first.inbox.get_nowait()] == [("", live.REPLACED)]


async def test_stop_ends_a_read_whose_cancellation_redis_turned_into_a_connection_error(monkeypatch):
    """redis-py may answer the cancellation of a blocked XREAD with a ConnectionError; the reader took that
    for Redis away and read on, so the app's shutdown waited for it for ever (a test hung 1 run in 6)."""

    async def blocked_read(client, after, block_ms, count):  # type: ignore[no-untyped-def]
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise ConnectionError("Connection closed by server.") from None
        return []

    monkeypatch.setattr(live, "read_after", blocked_read)
    hub, _ = await hub_with_a_subscriber()
    await asyncio.sleep(0.05)  # the reader is in its read
    await asyncio.wait_for(hub.stop(), 5)  # a liveness bound: it used to never return
