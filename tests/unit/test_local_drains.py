"""A worker drains partitions on threads of its own and takes no more wake-ups than it has threads for,
so the other worker processes get the rest (the wake-up list is shared by all)."""

from __future__ import annotations

import threading

import fakeredis

from app.worker import drain_until_idle
from handover import keys
from handover.keys import Lane
from handover.traffic.streams import ensure_groups
from handover.traffic.wakeups import Wakeup, pop_wakeups
from workers.dispatcher import Dispatcher, LocalDrains


def test_room_is_the_threads_not_busy_and_comes_back_when_a_drain_ends():
    release = threading.Event()
    started = threading.Semaphore(0)

    def drain(lane: Lane, partition: int) -> int:
        started.release()
        release.wait(5)
        return 1

    drains = LocalDrains(Lane.INBOUND, drain, threads=2)
    try:
        assert drains.room(0.0) == 2
        drains.submit(1)
        drains.submit(2)
        assert started.acquire(timeout=5) and started.acquire(timeout=5)
        assert drains.room(0.05) == 0  # both threads busy: the dispatcher pops nothing
        release.set()
        assert drains.room(5.0) >= 1
    finally:
        release.set()
        drains.stop()


def test_a_busy_partition_woken_again_is_drained_again_not_twice_at_once():
    calls: list[int] = []
    inside = threading.Event()
    go_on = threading.Event()
    twice = threading.Event()

    def drain(lane: Lane, partition: int) -> int:
        calls.append(partition)
        if len(calls) == 1:
            inside.set()
            go_on.wait(5)
        else:
            twice.set()
        return 1

    drains = LocalDrains(Lane.INBOUND, drain, threads=2)
    try:
        drains.submit(3)
        assert inside.wait(5)
        drains.submit(3)  # while the first drain of partition 3 runs
        drains.submit(3)
        go_on.set()
        assert twice.wait(5)
    finally:
        drains.stop()
    assert calls == [3, 3]


def test_stopping_it_hands_back_every_wakeup_it_took_and_will_not_drain():
    """SIGTERM: the drain under way finishes; a wake-up taken meanwhile for that partition, one waiting for
    a thread, and one arriving after the stop are handed back for another worker, not dropped."""
    calls: list[int] = []
    handed: list[tuple[Lane, int]] = []
    inside = threading.Event()
    go_on = threading.Event()

    def drain(lane: Lane, partition: int) -> int:
        calls.append(partition)
        inside.set()
        go_on.wait(5)
        return 1

    drains = LocalDrains(Lane.INBOUND, drain, threads=1, hand_back=lambda *wakeup: handed.append(wakeup))
    drains.submit(3)
    assert inside.wait(5)
    drains.submit(3)  # again, when the drain ends
    drains.submit(5)  # no thread free: queued
    stopper = threading.Thread(target=drains.stop)
    stopper.start()
    threading.Event().wait(0.1)  # stop() waits for the drain under way
    drains.submit(6)  # popped as the process stops
    go_on.set()
    stopper.join(5)
    assert calls == [3]
    assert sorted(handed) == [(Lane.INBOUND, 3), (Lane.INBOUND, 5), (Lane.INBOUND, 6)]


def test_pop_takes_no_more_than_asked_and_leaves_the_rest_waiting():
    client = fakeredis.FakeRedis(decode_responses=True)
    client.lpush(keys.WAKEUPS, *[f"in:{p}" for p in range(5)])
    taken = list(pop_wakeups(client, timeout=0.1, most=2))
    assert taken == [Wakeup(Lane.INBOUND, 0), Wakeup(Lane.INBOUND, 1)]
    assert client.llen(keys.WAKEUPS) == 3


def test_a_dispatcher_without_room_leaves_wakeups_for_other_processes():
    client = fakeredis.FakeRedis(decode_responses=True)
    ensure_groups(client, 2)
    client.lpush(keys.WAKEUPS, "in:0", "in:1")
    dispatched: list[Wakeup] = []
    dispatcher = Dispatcher(client, 2, dispatched.append, sweep_seconds=3600, room=lambda timeout: 0)
    dispatcher.start()
    try:
        threading.Event().wait(0.3)
    finally:
        dispatcher.stop()
    assert dispatched == [] and client.llen(keys.WAKEUPS) == 2


def test_burst_drains_every_partition_with_work_in_place():
    client = fakeredis.FakeRedis(decode_responses=True)
    ensure_groups(client, 4)
    for partition in (1, 3):
        client.xadd(keys.stream_key(Lane.INBOUND, partition), {"d": "x"})
    drained: list[tuple[Lane, int]] = []

    def drain(lane: Lane, partition: int) -> int:
        drained.append((lane, partition))
        client.delete(keys.stream_key(lane, partition))
        return 1

    drain_until_idle(client, 4, drain)
    assert sorted(drained) == [(Lane.INBOUND, 1), (Lane.INBOUND, 3)]
