"""How drainers are woken: a partition with entries and no holder gets one wake-up in the list the
workers' dispatchers pop (lua/lib/wake.lua), the sweep finds the partitions a wake-up missed or a dead
drainer left, and /metrics reads how much work waits (the streams themselves: handover/traffic/streams.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import redis
import structlog
from redis.asyncio import Redis as AsyncRedis

from handover import keys, lua
from handover.clock import Clock, system_clock
from handover.keys import Lane

log = structlog.get_logger(__name__)

WAKE_MS = 10_000  # how long a wake-up's mark keeps others out at most (a drain taking the lease clears it)
# A wake-up is popped and its drain takes the lease within milliseconds; a mark older than this whose
# wake-up is in neither list was lost with its worker (killed, stopping, cut off from Redis), and the sweep
# wakes the partition again (lua/lib/wake.lua rewake): so a lost wake-up holds a partition up for this
# plus a sweep (1 s) at most, instead of WAKE_MS.
WAKE_STALE_MS = 1_000
WAKEUPS_AT_ONCE = 256  # the most wake-ups popped in one go


def lane_partition(lane: Lane, partition: int) -> str:
    """How a wake-up names its partition in the wake-up lists (a value, not a key)."""
    return f"{lane}:{partition}"


def wake_keys(lane: Lane, partition: int) -> list[str]:
    """What lib/wake.lua needs of a partition: its lease key and its wake key."""
    return [keys.lease_key(lane, partition), keys.wake_key(lane, partition)]


def wake_if_pending(client: redis.Redis, lane: Lane, partition: int) -> None:
    """Wake the partition's drainer if its stream has entries (queued when `client` is a pipeline)."""
    lua.run(
        client,
        "wake_if_pending",
        [keys.stream_key(lane, partition), *wake_keys(lane, partition), keys.WAKEUPS],
        [lane_partition(lane, partition), WAKE_MS],
    )


def sweep(
    client: redis.Redis,
    partitions: int,
    max_retries: int = 1000,
    clock: Clock = system_clock,
) -> int:
    """Wake drainers for partitions with work and no holder (again, where a wake-up was lost); move due send
    retries back. Returns how many retries moved. Cheap; run often."""
    now_ms = int(clock() * 1000)
    lanes = list(Lane)
    slots = [(lane, p) for lane in lanes for p in range(partitions)]
    partition_keys = [k for lane, p in slots for k in (keys.stream_key(lane, p), *wake_keys(lane, p))]
    moved, rewoken = lua.script(client, "sweep")(
        keys=[keys.WAKEUPS, keys.URGENT_WAKEUPS, keys.RETRIES, *partition_keys],
        args=[
            partitions,
            WAKE_MS,
            now_ms,
            max_retries,
            keys.GROUP,
            lanes.index(Lane.OUTBOUND),
            WAKE_STALE_MS,
            *(lane_partition(lane, p) for lane, p in slots),
        ],
    )
    for item in rewoken:
        lane, _, partition = keys.as_text(item).partition(":")
        log.warning("partition_rewoken", lane=lane, partition=int(partition))  # its wake-up was lost
    return int(moved)


def hand_back(client: redis.Redis, lane: Lane, partition: int) -> None:
    """Give back a wake-up this process took and will not drain (it is stopping): its mark goes, and the
    partition is woken again if it has entries and no holder, so another worker takes it at once."""
    with client.pipeline(transaction=True) as pipe:
        pipe.delete(keys.wake_key(lane, partition))
        wake_if_pending(pipe, lane, partition)
        pipe.execute()


@dataclass(frozen=True)
class Wakeup:
    lane: Lane
    partition: int
    urgent: bool = False  # a dead drainer's partition: take it over before ordinary work


def pop_wakeups(client: redis.Redis, timeout: float, most: int = WAKEUPS_AT_ONCE) -> Iterable[Wakeup]:
    """Block up to `timeout` for the next partition to drain, then take what else is waiting, up to `most`
    in all; urgent ones (takeovers) first."""
    first = client.brpop([keys.URGENT_WAKEUPS, keys.WAKEUPS], timeout=timeout)
    if not first:
        return []
    raw = [(keys.as_text(first[1]), keys.as_text(first[0]) == keys.URGENT_WAKEUPS)]
    if raw[0][1] and most > len(raw):  # BRPOP looks at the urgent list first: more only if it had one
        raw += [(keys.as_text(x), True) for x in client.rpop(keys.URGENT_WAKEUPS, most - len(raw)) or []]
    if most > len(raw):
        raw += [(keys.as_text(x), False) for x in client.rpop(keys.WAKEUPS, most - len(raw)) or []]
    result: dict[str, Wakeup] = {}
    for item, urgent in raw:
        lane, _, partition = item.partition(":")
        if item not in result:
            result[item] = Wakeup(Lane(lane), int(partition), urgent)
    return list(result.values())


# /metrics (app/metrics.py) and the worker's dispatch (app/worker.py) use these


@dataclass(frozen=True)
class Backlog:
    entries: dict[str, int]  # lane -> entries waiting or in flight, over every partition
    oldest_inbound_ms: int | None  # when the oldest inbound entry was added (its id's time)


async def backlog(client: AsyncRedis, partitions: int) -> Backlog:
    """How much work waits in the streams, in one pipelined round trip."""
    async with client.pipeline(transaction=False) as pipe:
        for lane in Lane:
            for p in range(partitions):
                pipe.xlen(keys.stream_key(lane, p))
        for p in range(partitions):
            pipe.xrange(keys.stream_key(Lane.INBOUND, p), count=1)
        replies = await pipe.execute()
    n = partitions
    entries = {str(lane): sum(replies[i * n : (i + 1) * n]) for i, lane in enumerate(Lane)}
    firsts = [int(keys.as_text(r[0][0]).split("-")[0]) for r in replies[len(Lane) * n :] if r]
    return Backlog(entries, min(firsts) if firsts else None)
