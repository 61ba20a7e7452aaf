"""A partition's lease while a batch works: kept between items by a live drainer, lost by a dead one."""

from __future__ import annotations

import time

import fakeredis
import pytest
import redis

from handover import keys
from handover.keys import Lane
from handover.traffic.streams import LeaseLost, drain, ensure_groups, release_stranded
from handover.traffic.wakeups import Wakeup, pop_wakeups, sweep

LEASE = 0.3  # seconds; each item below takes a third of it


@pytest.fixture
def client():
    client = fakeredis.FakeRedis(decode_responses=True)
    ensure_groups(client, 1)
    for n in range(6):
        client.xadd(keys.stream_key(Lane.INBOUND, 0), {"d": str(n)})
    return client


def test_a_batch_longer_than_the_lease_keeps_its_partition_when_it_says_it_is_alive(client):
    committed = []

    def slow(batch):
        for _ in batch.entries:
            batch.keep_alive()
            time.sleep(LEASE / 3)  # six items: twice the lease in all
        batch.commit(lambda pipe: committed.extend(batch.ids))

    assert drain(client, Lane.INBOUND, 0, slow, batch_size=100, lease_seconds=LEASE) == 6
    assert len(committed) == 6 and client.xlen(keys.stream_key(Lane.INBOUND, 0)) == 0


def test_a_drainer_that_stops_renewing_loses_the_lease_and_commits_nothing(client):
    def stuck(batch):
        time.sleep(LEASE * 1.5)  # as a frozen process would: no keep_alive
        batch.commit(lambda pipe: pipe.set("done", "1"))

    assert drain(client, Lane.INBOUND, 0, stuck, batch_size=100, lease_seconds=LEASE) == 0
    assert client.get("done") is None and client.xlen(keys.stream_key(Lane.INBOUND, 0)) == 6


def test_keep_alive_raises_once_another_drainer_holds_the_partition(client):
    def overtaken(batch):
        client.set(keys.lease_key(Lane.INBOUND, 0), "someone-else")
        batch.renewed_at -= LEASE  # due for renewal
        with pytest.raises(LeaseLost):
            batch.keep_alive()
        raise LeaseLost("in:0")

    assert drain(client, Lane.INBOUND, 0, overtaken, batch_size=100, lease_seconds=LEASE) == 0


def test_the_sweep_marks_a_dead_drainers_partition_urgent_and_new_work_ordinary(client):
    """Partition 0 has entries read but never acknowledged (its drainer died); partition 1 only new ones."""
    ensure_groups(client, 2)
    client.xreadgroup(keys.GROUP, keys.CONSUMER, {keys.stream_key(Lane.INBOUND, 0): ">"}, count=2)
    client.xadd(keys.stream_key(Lane.INBOUND, 1), {"d": "new"})
    sweep(client, 2)
    assert sorted(pop_wakeups(client, timeout=0.1), key=lambda w: w.partition) == [
        Wakeup(Lane.INBOUND, 0, urgent=True),
        Wakeup(Lane.INBOUND, 1, urgent=False),
    ]


class Flaky(fakeredis.FakeRedis):
    """Redis going away at the moment a drain ends: its lease cannot be released then."""

    away = False

    def evalsha(self, sha, numkeys, *args):  # type: ignore[override]
        if self.away:
            raise redis.ConnectionError("Connection closed by server.")
        return super().evalsha(sha, numkeys, *args)


def test_a_lease_redis_was_away_to_release_is_released_once_it_is_back():
    client = Flaky(decode_responses=True)
    ensure_groups(client, 1)
    client.xadd(keys.stream_key(Lane.INBOUND, 0), {"d": "x"})

    def outage(batch):
        client.away = True
        raise redis.ConnectionError("Connection closed by server.")

    with pytest.raises(redis.ConnectionError):
        drain(client, Lane.INBOUND, 0, outage, batch_size=10, lease_seconds=60)
    assert client.exists(keys.lease_key(Lane.INBOUND, 0))  # left behind: it would block 60 s
    client.away = False
    assert release_stranded(client) == 1
    assert not client.exists(keys.lease_key(Lane.INBOUND, 0))
