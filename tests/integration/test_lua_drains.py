"""A drainer's two scripts on a real redis-server: take.lua (take or renew the lease, then read: pending
entries first; give the lease up when nothing is left) and let_go.lua (give it up, wake if entries came),
and a drain whose commit reads on inside its own transaction."""

from __future__ import annotations

import pytest
import redis

from handover import keys, lua
from handover.keys import Lane
from handover.traffic.streams import Batch, drain, ensure_groups

pytestmark = pytest.mark.integration

IN = Lane.INBOUND
STREAM, LEASE, WAKE = keys.stream_key(IN, 0), keys.lease_key(IN, 0), keys.wake_key(IN, 0)


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    ensure_groups(client, 1)
    return client


def take(client: redis.Redis, cursor: str = "0", take: bool = True, token: str = "mine", count: int = 10):
    return lua.run(
        client,
        "take",
        [STREAM, LEASE, WAKE],
        [token, 60_000, keys.GROUP, keys.CONSUMER, count, cursor, int(take), 1],
    )


def add(client: redis.Redis, n: int) -> list[str]:
    return [client.xadd(STREAM, {"d": str(i)}) for i in range(n)]


def test_take_a_free_lease_clears_the_wakeup_and_reads_new_entries(client):
    ids = add(client, 2)
    client.set(WAKE, "1")
    cursor, entries, released = take(client)
    assert (cursor, [e[0] for e in entries], released) == (">", ids, 0)
    assert client.get(LEASE) == "mine" and client.get(WAKE) is None


def test_pending_entries_of_a_dead_holder_come_first(client):
    first = add(client, 2)
    client.xreadgroup(keys.GROUP, keys.CONSUMER, {STREAM: ">"}, count=2)  # read, never acknowledged
    add(client, 1)
    cursor, entries, _ = take(client)
    assert (cursor, [e[0] for e in entries]) == ("0", first)


def test_a_held_lease_is_not_taken_and_a_lost_one_is_not_renewed(client):
    add(client, 1)
    client.set(LEASE, "theirs", px=60_000)
    assert take(client) is None
    assert take(client, cursor=">", take=False) is None
    assert client.get(LEASE) == "theirs"
    assert client.xpending(STREAM, keys.GROUP)["pending"] == 0  # nothing read


def test_nothing_left_gives_the_lease_up_at_once(client):
    assert take(client) == [">", [], 1]
    assert client.get(LEASE) is None
    add(client, 1)
    client.set(LEASE, "mine", px=60_000)
    _, entries, released = take(client, cursor=">", take=False)
    assert (len(entries), released) == (1, 0)
    assert 0 < client.pttl(LEASE) <= 60_000


@pytest.mark.parametrize("holder, entries, lease_after, woken", [
    ("mine", 0, None, []),
    ("mine", 1, None, ["in:0"]),
    ("theirs", 1, "theirs", []),  # someone holds it: they will read it
])  # fmt: skip
def test_let_go(client, holder, entries, lease_after, woken):
    client.set(LEASE, holder, px=60_000)
    add(client, entries)
    lua.run(client, "let_go", [STREAM, LEASE, WAKE, keys.WAKEUPS], ["mine", "in:0", 10_000])
    assert client.get(LEASE) == lease_after
    assert client.lrange(keys.WAKEUPS, 0, -1) == woken


def test_a_drain_reads_on_in_each_commit_and_ends_with_the_lease_given_up(client):
    """Three batches of two: each commit acknowledges its batch and reads the next in one transaction;
    the last finds nothing and gives the lease up, so no let_go round trip and no wake-up is left."""
    ids = add(client, 6)
    seen: list[list[str]] = []
    reads: list[bool] = []

    def handler(batch: Batch) -> None:
        seen.append(batch.ids)
        batch.commit(lambda pipe: pipe.hincrby("hv:test:handled", "n", len(batch.entries)))
        reads.append(batch.next is not None)

    assert drain(client, IN, 0, handler, batch_size=2, lease_seconds=30) == 6
    assert seen == [ids[0:2], ids[2:4], ids[4:6]]
    assert reads == [True, True, True]
    assert client.hget("hv:test:handled", "n") == "6"
    assert client.xlen(STREAM) == 0 and client.get(LEASE) is None
    assert client.llen(keys.WAKEUPS) == 0
