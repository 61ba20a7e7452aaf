"""The streams' scripts on a real redis-server, one table each: what Redis holds after every row.

ingest (dedupe; wake only a partition with no lease and no wake-up pending), sweep (a dead drainer's partition
is urgent; a lost wake-up is woken again; due retries move to their outbound stream), wake_if_pending,
renew/release (only the holder; an expired lease is nobody's), and every script compiles on a real Redis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import redis
import redis.asyncio
from structlog.testing import capture_logs

from handover import keys, lua
from handover.clock import FixedClock
from handover.keys import Lane
from handover.message import CustomerRef, DeliveryStatus, InboundKind, InboundMessage, StatusUpdate
from handover.traffic.enqueue import InboundItem, ingest
from handover.traffic.streams import ensure_groups
from handover.traffic.wakeups import WAKE_MS, WAKE_STALE_MS, sweep, wake_if_pending

pytestmark = pytest.mark.integration

IN, OUT = Lane.INBOUND, Lane.OUTBOUND
NOW = 1_800_000_000.0


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


def customer_in(partition: int, partitions: int) -> str:
    """A customer (wa_id) whose items land in `partition`."""
    return next(
        wa
        for wa in (f"5511{n:08d}" for n in range(1000))
        if keys.partition_of(f"1:{wa}", partitions) == partition
    )


def message(wamid: str, wa: str) -> InboundItem:
    ref = CustomerRef(phone_number_id="1", wa_id=wa)
    body = InboundMessage(id=wamid, customer=ref, timestamp=int(NOW), kind=InboundKind.TEXT, wa_type="text")
    return InboundItem(type="message", message=body)


def status(wamid: str, wa: str) -> InboundItem:
    update = StatusUpdate(
        message_id=wamid,
        status=DeliveryStatus.DELIVERED,
        timestamp=int(NOW),
        phone_number_id="1",
        recipient_id=wa,
    )
    return InboundItem(type="status", status=update)


def wakeups(client: redis.Redis) -> tuple[list[str], list[str]]:
    """(ordinary, urgent), oldest first."""
    return client.lrange(keys.WAKEUPS, 0, -1)[::-1], client.lrange(keys.URGENT_WAKEUPS, 0, -1)[::-1]


def lengths(client: redis.Redis, lane: Lane, partitions: int) -> list[int]:
    return [client.xlen(keys.stream_key(lane, p)) for p in range(partitions)]


def test_every_script_compiles_on_redis(client):
    for name in lua.names():
        assert client.script_load(lua.source(name))


# ingest

A, B = customer_in(0, 2), customer_in(1, 2)


@dataclass
class IngestRow:
    name: str
    items: list[InboundItem]
    added: int
    duplicate_ids: list[str]
    streams: list[int]  # inbound stream lengths after, partitions 0 and 1
    woken: list[str]  # the ordinary wake-up list after
    seen: list[str]  # seen keys that exist after
    before: Callable[[redis.Redis], object] = lambda client: None


INGEST = [
    IngestRow("new messages: stored, one wake-up per partition", [message("m1", A), message("m2", A),
              message("m3", B)], 3, [], [2, 1], ["in:0", "in:1"], ["m1", "m2", "m3"]),
    IngestRow("a message seen before is a duplicate", [message("m1", A), message("m2", A)], 1, ["m1"], [1, 0],
              ["in:0"], ["m1", "m2"], lambda c: c.set(keys.seen_key("m1"), "1")),
    IngestRow("a duplicate in the same call", [message("m1", A), message("m1", A)], 1, ["m1"], [1, 0],
              ["in:0"], ["m1"]),
    IngestRow("statuses are never deduplicated, nor marked seen", [status("w1", A), status("w1", A)], 2, [],
              [2, 0], ["in:0"], []),
    IngestRow("a partition with a lease holder is not woken", [message("m1", A), message("m2", B)], 2, [],
              [1, 1], ["in:1"], ["m1", "m2"], lambda c: c.set(keys.lease_key(IN, 0), "drainer")),
    IngestRow("nor one whose wake-up is pending", [message("m1", A)], 1, [], [1, 0], [], ["m1"],
              lambda c: c.set(keys.wake_key(IN, 0), "1")),
    IngestRow("only duplicates: nothing stored, nobody woken", [message("m1", A)], 0, ["m1"], [0, 0], [], ["m1"],
              lambda c: c.set(keys.seen_key("m1"), "1")),
]  # fmt: skip


@pytest.mark.parametrize("row", INGEST, ids=[r.name for r in INGEST])
def test_ingest(client, redis_url, row):
    row.before(client)

    async def run():
        aclient = redis.asyncio.Redis.from_url(redis_url)
        try:
            return await ingest(aclient, row.items, 2)
        finally:
            await aclient.aclose()

    result = asyncio.run(run())
    assert (result.added, result.duplicates, result.duplicate_ids) == (
        row.added,
        len(row.duplicate_ids),
        row.duplicate_ids,
    )
    assert lengths(client, IN, 2) == row.streams
    assert wakeups(client) == (row.woken, [])
    assert sorted(k.removeprefix(keys.seen_key("")) for k in client.keys(keys.seen_key("*"))) == row.seen
    for woken in row.woken:
        lane, _, p = woken.partition(":")
        assert client.pttl(keys.wake_key(Lane(lane), int(p))) > 0  # the next wake-up waits for this one
    stored = [
        InboundItem.model_validate_json(f["d"])
        for p in (0, 1)
        for _, f in client.xrange(keys.stream_key(IN, p))
    ]
    assert all(item in row.items for item in stored)


def test_ingest_loads_its_script_on_a_redis_that_lacks_it(client, redis_url):
    """By SHA on the hot path (lua.call_async), so a restarted Redis, its script cache empty, must work."""
    client.script_flush()

    async def run():
        aclient = redis.asyncio.Redis.from_url(redis_url)
        try:
            return await ingest(aclient, [message("m1", A)], 2)
        finally:
            await aclient.aclose()

    assert asyncio.run(run()).added == 1
    assert client.script_exists(lua.sha("ingest")) == [True]


def test_a_seen_mark_expires_after_metas_retries(client, redis_url):
    async def run():
        aclient = redis.asyncio.Redis.from_url(redis_url)
        try:
            await ingest(aclient, [message("m1", A)], 2)
        finally:
            await aclient.aclose()

    asyncio.run(run())
    assert 0 < client.ttl(keys.seen_key("m1")) <= keys.SEEN_TTL_SECONDS


# sweep


def retry(job_id: str, partition: int) -> str:
    return json.dumps({"id": job_id, "p": partition}, sort_keys=True)


def read_unacked(client: redis.Redis, lane: Lane, partition: int) -> None:
    """Entries a drainer read and never acknowledged: it died."""
    client.xadd(keys.stream_key(lane, partition), {"d": "x"})
    client.xreadgroup(keys.GROUP, keys.CONSUMER, {keys.stream_key(lane, partition): ">"})


def lost_wakeup(client: redis.Redis, lane: Lane, partition: int) -> None:
    """A wake-up's mark set 100 ms more than WAKE_STALE_MS ago, its wake-up popped by a worker that died."""
    client.set(keys.wake_key(lane, partition), "1", px=WAKE_MS - WAKE_STALE_MS - 100)


@dataclass
class SweepRow:
    name: str
    before: Callable[[redis.Redis], object]
    woken: list[str]
    urgent: list[str]
    moved: int = 0
    outbound: list[int] = field(default_factory=lambda: [0, 0])  # outbound stream lengths after
    retries_left: list[str] = field(default_factory=list)


SWEEP = [
    SweepRow("nothing to do", lambda c: None, [], []),
    SweepRow("new entries, no holder: woken", lambda c: c.xadd(keys.stream_key(IN, 1), {"d": "x"}), ["in:1"], []),
    SweepRow("read and never acknowledged: urgent", lambda c: read_unacked(c, OUT, 0), [], ["out:0"],
             outbound=[1, 0]),
    SweepRow("held by a live drainer: left alone",
             lambda c: (c.xadd(keys.stream_key(IN, 0), {"d": "x"}), c.set(keys.lease_key(IN, 0), "t")), [], []),
    SweepRow("a wake-up already pending: not twice",
             lambda c: (c.xadd(keys.stream_key(IN, 0), {"d": "x"}), c.set(keys.wake_key(IN, 0), "1")), [], []),
    SweepRow("a wake-up popped and lost (its mark old, in no list): woken again",
             lambda c: (c.xadd(keys.stream_key(IN, 0), {"d": "x"}), lost_wakeup(c, IN, 0)), ["in:0"], []),
    SweepRow("lost, with entries read and never acknowledged: urgent again",
             lambda c: (read_unacked(c, OUT, 1), lost_wakeup(c, OUT, 1)), [], ["out:1"], outbound=[0, 1]),
    SweepRow("an old mark whose wake-up still waits in its list: not twice",
             lambda c: (c.xadd(keys.stream_key(IN, 1), {"d": "x"}), lost_wakeup(c, IN, 1),
                        c.lpush(keys.WAKEUPS, "in:1")), ["in:1"], []),
    SweepRow("an old mark, the wake-up taken since (a live holder): left alone",
             lambda c: (c.xadd(keys.stream_key(IN, 1), {"d": "x"}), lost_wakeup(c, IN, 1),
                        c.set(keys.lease_key(IN, 1), "t")), [], []),
    SweepRow("a mark younger than WAKE_STALE_MS: its wake-up is on its way",
             lambda c: (c.xadd(keys.stream_key(IN, 1), {"d": "x"}),
                        c.set(keys.wake_key(IN, 1), "1", px=WAKE_MS - WAKE_STALE_MS + 500)), [], []),
    SweepRow("a due retry moves to its outbound stream, a later one waits",
             lambda c: c.zadd(keys.RETRIES, {retry("due", 1): NOW * 1000 - 1, retry("later", 0): NOW * 1000 + 1}),
             ["out:1"], [], moved=1, outbound=[0, 1], retries_left=[retry("later", 0)]),
    SweepRow("a retry from a larger partition count folds into one that exists",
             lambda c: c.zadd(keys.RETRIES, {retry("old", 3): NOW * 1000}), ["out:1"], [], moved=1,
             outbound=[0, 1]),
]  # fmt: skip


@pytest.mark.parametrize("row", SWEEP, ids=[r.name for r in SWEEP])
def test_sweep(client, row):
    ensure_groups(client, 2)
    row.before(client)

    assert sweep(client, 2, clock=FixedClock(NOW)) == row.moved

    assert wakeups(client) == (row.woken, row.urgent)
    assert lengths(client, OUT, 2) == row.outbound
    assert client.zrange(keys.RETRIES, 0, -1) == row.retries_left


def test_a_partition_woken_again_is_logged_and_its_mark_renewed(client):
    ensure_groups(client, 2)
    client.xadd(keys.stream_key(IN, 0), {"d": "x"})
    lost_wakeup(client, IN, 0)
    with capture_logs() as logs:
        sweep(client, 2, clock=FixedClock(NOW))
        sweep(client, 2, clock=FixedClock(NOW))  # woken once: the new wake-up waits in the list
    assert [(e["event"], e["lane"], e["partition"]) for e in logs] == [("partition_rewoken", "in", 0)]
    assert wakeups(client) == (["in:0"], [])
    assert client.pttl(keys.wake_key(IN, 0)) > WAKE_MS - WAKE_STALE_MS


# wake_if_pending, renew, release


@pytest.mark.parametrize(
    "name, before, woken",
    [
        ("an empty stream: nobody", lambda c: None, []),
        ("entries and no holder: woken", lambda c: c.xadd(keys.stream_key(OUT, 1), {"d": "x"}), ["out:1"]),
        (
            "held",
            lambda c: (c.xadd(keys.stream_key(OUT, 1), {"d": "x"}), c.set(keys.lease_key(OUT, 1), "t")),
            [],
        ),
        (
            "pending",
            lambda c: (c.xadd(keys.stream_key(OUT, 1), {"d": "x"}), c.set(keys.wake_key(OUT, 1), "1")),
            [],
        ),
    ],
)
def test_wake_if_pending(client, name, before, woken):
    before(client)
    with client.pipeline(transaction=True) as pipe:  # as queue_sends runs it: inside the caller's MULTI
        wake_if_pending(pipe, OUT, 1)
        pipe.execute()
    assert wakeups(client) == (woken, [])


LEASE = keys.lease_key(IN, 0)


def expired(client: redis.Redis) -> None:
    client.set(LEASE, "mine")
    client.pexpireat(LEASE, 1)  # in the past: Redis drops it as expiry would


@pytest.mark.parametrize(
    "name, before, token, renewed, holder_after, ttl_ms_after",
    [
        ("the holder extends it", lambda c: c.set(LEASE, "mine", px=1000), "mine", 1, "mine", (1000, 60_000)),
        ("another's lease is not extended", lambda c: c.set(LEASE, "theirs", px=1000), "mine", 0, "theirs",
         (0, 1000)),
        ("an expired lease is nobody's", expired, "mine", 0, None, (-3, -1)),
    ],
)  # fmt: skip
def test_renew(client, name, before, token, renewed, holder_after, ttl_ms_after):
    before(client)
    assert lua.script(client, "renew")(keys=[LEASE], args=[token, 60_000]) == renewed
    assert client.get(LEASE) == holder_after
    low, high = ttl_ms_after
    assert low < client.pttl(LEASE) <= high


@pytest.mark.parametrize(
    "name, before, token, released, holder_after",
    [
        ("the holder gives it up", lambda c: c.set(LEASE, "mine", px=60_000), "mine", 1, None),
        ("another's stays", lambda c: c.set(LEASE, "theirs", px=60_000), "mine", 0, "theirs"),
        ("an expired lease: nothing to do", expired, "mine", 0, None),
    ],
)
def test_release(client, name, before, token, released, holder_after):
    before(client)
    assert lua.script(client, "release")(keys=[LEASE], args=[token]) == released
    assert client.get(LEASE) == holder_after
