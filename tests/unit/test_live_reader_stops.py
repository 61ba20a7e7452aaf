"""The desk's event reader stops when asked, even when the Redis client spends the cancel: redis-py turns a
cancelled blocking XREAD into a connection error and retries a dropped connection once, so the read can come
back normally with the cancel gone. CI hung on this at shutdown (test_desk_upload_hostile, twice)."""

from __future__ import annotations

import asyncio

import fakeredis

from desk.live import EventHub


class SpendsTheCancel(fakeredis.FakeAsyncRedis):
    """XREAD as redis-py's retry makes it look: a cancel while blocked ends in an empty answer."""

    async def xread(self, streams, count=None, block=None, noack=False):  # type: ignore[no-untyped-def]
        try:
            await asyncio.sleep((block or 0) / 1000)
        except asyncio.CancelledError:
            return []  # connection error, then the retried read: nothing new, and no cancel any more
        return []


async def test_a_reader_whose_cancel_was_spent_still_stops():
    hub = EventHub(SpendsTheCancel(decode_responses=True), heartbeat=60, block_ms=200)
    await hub.start()
    await asyncio.sleep(0.3)  # the reader is blocked in XREAD
    [reader] = [t for t in hub._tasks if "_read" in repr(t.get_coro())]
    async with asyncio.timeout(3):
        await hub.stop()
    assert reader.done() and reader.cancelled()
