"""Partitioned Redis streams drained under a lease: per-conversation order, at-least-once, batches.

Work for one customer always lands in the same partition stream. A drainer holds the partition's lease
(SET NX PX, renewed per batch and, while a batch works, between its items), reads its own pending
entries first (those of a holder that died), then new ones, and commits each batch's effects together
with XACK+XDEL in one MULTI that Redis refuses unless the lease is the drainer's (handover/traffic/fenced.py,
one round trip): a batch is applied whole or not at all, and
never by a holder that lost its lease. When a lease expires unrenewed, the sweep wakes another drainer,
which redelivers the pending entries. How drainers are woken, and what waits: handover/traffic/wakeups.py.
"""

from __future__ import annotations

import functools
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
import structlog
from redis.client import Pipeline

from handover import keys, lua
from handover.availability import is_unavailable
from handover.ids import new_id
from handover.keys import Lane as Lane  # re-exported: the lanes are the streams'
from handover.traffic import deadletters
from handover.traffic.fenced import Expected, FencedPipeline, was_applied
from handover.traffic.wakeups import WAKE_MS, lane_partition, wake_keys

log = structlog.get_logger(__name__)

Entry = tuple[str, dict[str, str]]


class LeaseLost(Exception):
    """Another drainer holds the partition now; this one must stop without committing."""


class Stale(LeaseLost):
    """What the batch expected unchanged changed before it committed: it stops without committing, like a
    lost lease, and its entries are redone from what is there now."""


class NotApplied(LeaseLost):
    """The connection dropped as the commit went out and Redis had not applied it: the drainer stops, and
    the entries, still pending, are redone."""


COMMIT_MARK_MS = 120_000  # how long a commit's mark outlives it: long enough to look it up after a drop


def ensure_groups(client: redis.Redis, partitions: int) -> None:
    """Create every partition stream's consumer group (idempotent); call once when a process starts."""
    for lane in Lane:
        for p in range(partitions):
            try:
                client.xgroup_create(keys.stream_key(lane, p), keys.GROUP, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise


@dataclass
class Batch:
    """Entries read from one partition under a lease, and the means to commit their effects."""

    client: redis.Redis
    lane: Lane
    partition: int
    token: str
    lease_ms: int
    entries: list[Entry]
    committed: bool = field(default=False)
    renewed_at: float = 0.0  # when the lease was last asked to last lease_ms more (0: not known)
    read_on: tuple[str, int] | None = None  # a drain's (cursor, count): the commit reads the next batch
    next: Read | None = None  # what the commit read on, when asked to
    reply_lost: bool = False  # committed, but its reply (and the read on) was lost: the drain ends here

    @property
    def ids(self) -> list[str]:
        return [entry_id for entry_id, _ in self.entries]

    def renew(self) -> None:
        """Extend the lease; raise LeaseLost if it is no longer ours."""
        asked = time.monotonic()
        renewed = lua.script(self.client, "renew")(
            keys=[keys.lease_key(self.lane, self.partition)], args=[self.token, self.lease_ms]
        )
        if not renewed:
            raise LeaseLost(f"{self.lane}:{self.partition}")
        self.renewed_at = asked  # the lease lasts at least lease_ms from when it was asked

    def keep_alive(self) -> None:
        """Renew the lease if a third of it has gone by: call it between items, so a batch that takes
        longer than the lease (long messages, a slow handler) keeps its partition instead of losing it at
        commit and being redone forever. A process that is frozen or dead does not call it, and loses it."""
        if time.monotonic() - self.renewed_at >= self.lease_ms / 3000:
            self.renew()

    def commit(self, write: Callable[[Pipeline], Any], expect: Sequence[Expected] = ()) -> None:
        """Apply `write`'s commands and acknowledge the batch in one transaction, if the lease is ours
        and every `expect` still holds: one round trip, guarded in Redis (handover/traffic/fenced.py)."""
        lease = keys.lease_key(self.lane, self.partition)
        stream = keys.stream_key(self.lane, self.partition)
        fence = keys.lease_fence_key(self.lane, self.partition)
        mark = new_id()
        with FencedPipeline(self.client, lease, fence, self.token, expect) as pipe:
            try:
                write(pipe)
                if self.entries:
                    pipe.xack(stream, keys.GROUP, *self.ids)
                    pipe.xdel(stream, *self.ids)
                # should the reply be lost, this says whether Redis applied the transaction
                pipe.set(keys.commit_mark_key(self.lane, self.partition), mark, px=COMMIT_MARK_MS)
                if self.read_on is not None:  # the drain's next read, in the same round trip
                    cursor, count = self.read_on
                    lua.queue(
                        pipe,
                        "take",
                        _take_keys(self.lane, self.partition),
                        _take_args(self.token, self.lease_ms, cursor, count),
                    )
                asked = time.monotonic()
                replies = pipe.execute()
                if self.read_on is not None:
                    self.next = _parse_read(replies[-1], asked)
            except redis.WatchError as exc:
                if pipe.connection_lost is not None:  # not refused: its reply never came
                    self._settle(mark, pipe.connection_lost)
                    return
                lost = Stale if pipe.stale else LeaseLost
                raise lost(f"{self.lane}:{self.partition}") from exc
        self.committed = True

    def _settle(self, mark: str, error: Exception) -> None:
        """The connection dropped once the transaction was sent: find out from Redis whether it applied. It
        did: the batch is committed (its effects are logged as usual). It did not: NotApplied. Redis does not
        answer within the lease: re-raise `error`, the entries stay pending if it did not apply."""
        fields = {"lane": str(self.lane), "partition": self.partition, "entries": len(self.entries)}
        mark_key, stream = (
            keys.commit_mark_key(self.lane, self.partition),
            keys.stream_key(self.lane, self.partition),
        )
        applied = was_applied(self.client, mark_key, mark, stream, self.ids, self.lease_ms / 1000)
        if applied is None:
            log.warning("commit_unknown", **fields)
            raise error
        log.warning("commit_reply_lost", applied=applied, **fields)
        if not applied:
            raise NotApplied(f"{self.lane}:{self.partition}") from error
        self.committed = self.reply_lost = True


Handler = Callable[[Batch], None]


def drain(
    client: redis.Redis,
    lane: Lane,
    partition: int,
    handler: Handler,
    *,
    batch_size: int,
    lease_seconds: float,
    budget: int = 5000,
    max_seconds: float = 5.0,
) -> int:
    """Process a partition until it is empty or the budget is spent; returns how many entries were handled.

    Returns 0 at once when another drainer holds the lease. On the way out it releases the lease and, if
    entries remain, asks for another drainer, so no entry waits for the sweep.
    """
    token = new_id()
    lease_ms = int(lease_seconds * 1000)
    read = _take(client, lane, partition, token, lease_ms, "0", batch_size, take=True)
    if read is None or read.released:
        return 0
    handled = 0
    started = time.monotonic()
    try:
        while not read.released:
            cursor = read.cursor
            if read.entries:
                batch = Batch(
                    client, lane, partition, token, lease_ms, read.entries, renewed_at=read.asked,
                    read_on=(cursor, batch_size),
                )  # fmt: skip
                _handle(batch, handler, redelivered=read.cursor != ">")
                handled += len(read.entries)
                if batch.reply_lost:  # whether the read on gave the lease up is not known: let go
                    break
                if batch.next is not None:
                    read = batch.next
                if handled >= budget or time.monotonic() - started >= max_seconds:
                    break
                if batch.next is not None:
                    continue
            else:
                cursor = ">"  # the pending ones were all deleted entries
            taken = _take(client, lane, partition, token, lease_ms, cursor, batch_size, take=False)
            if taken is None:
                raise LeaseLost(f"{lane}:{partition}")
            read = taken
    except Stale:
        log.info("batch_stale", lane=str(lane), partition=partition)  # redone by the next drain
    except NotApplied:
        pass  # logged as commit_reply_lost (applied: false); redone by the next drain
    except LeaseLost:
        log.warning("lease_lost", lane=str(lane), partition=partition)
    finally:
        if not read.released:
            _let_go(client, lane, partition, token)
    return handled


def _let_go(client: redis.Redis, lane: Lane, partition: int, token: str) -> None:
    """Give the lease up and wake the partition if entries are left (lua/let_go.lua)."""
    try:
        lua.run(
            client,
            "let_go",
            [keys.stream_key(lane, partition), *wake_keys(lane, partition), keys.WAKEUPS],
            [token, lane_partition(lane, partition), WAKE_MS],
        )
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        # Redis went away mid-drain: release the lease as soon as it is back (release_stranded), or
        # the partition would wait out the lease after a restart (the lease survives in the AOF)
        _stranded.append((keys.lease_key(lane, partition), token))


_stranded: deque[tuple[str, str]] = deque(maxlen=10_000)  # (lease key, token) a drain could not release


def release_stranded(client: redis.Redis) -> int:
    """Release the leases of drains that ended while Redis was away; call it often (the dispatcher does)."""
    released = 0
    while _stranded:
        lease, token = _stranded[0]
        _release(client, lease, token)  # raises while Redis is still away: kept for next time
        _stranded.popleft()
        released += 1
    return released


def _release(client: redis.Redis, lease: str, token: str) -> None:
    lua.script(client, "release")(keys=[lease], args=[token])


@dataclass(frozen=True)
class Read:
    """What lua/take.lua read: the cursor it read at, the entries that still exist, whether it gave the
    lease up (nothing left), and when the lease was asked to last lease_ms more."""

    cursor: str
    entries: list[Entry]
    released: bool
    asked: float


def _take_keys(lane: Lane, partition: int) -> list[str]:
    return [keys.stream_key(lane, partition), keys.lease_key(lane, partition), keys.wake_key(lane, partition)]


def _take_args(token: str, lease_ms: int, cursor: str, count: int, take: bool = False) -> list[Any]:
    return [token, lease_ms, keys.GROUP, keys.CONSUMER, count, cursor, int(take), 1]


def _take(
    client: redis.Redis,
    lane: Lane,
    partition: int,
    token: str,
    lease_ms: int,
    cursor: str,
    count: int,
    take: bool,
) -> Read | None:
    """Take (or renew) the lease and read the next entries in one round trip; None when the lease is not
    ours. The lease is given up when nothing is left."""
    asked = time.monotonic()
    args = _take_args(token, lease_ms, cursor, count, take)
    return _parse_read(lua.run(client, "take", _take_keys(lane, partition), args), asked)


def _parse_read(reply: Any, asked: float) -> Read | None:
    if not reply:
        return None
    cursor, raw, released = reply
    entries = [(keys.as_text(entry_id), _pairs(fields)) for entry_id, fields in raw if fields]
    return Read(keys.as_text(cursor), entries, bool(int(released)), asked)


def _pairs(flat: list[Any]) -> dict[str, str]:
    """A stream entry's fields as Lua returns them, [k1, v1, k2, v2, ...], as a dict."""
    return {keys.as_text(flat[i]): keys.as_text(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}


REDELIVERIES = 3  # times an entry read again is started alone before it is dead-lettered unrun


class Redelivered(Exception):
    """An entry whose drainer died or outlived its lease REDELIVERIES times (its dead letter's error)."""


def _handle(batch: Batch, handler: Handler, redelivered: bool = False) -> None:
    """Run the handler on the batch; if it fails on something other than Redis, isolate the bad entries.

    Redis's own trouble (down, out of memory, read-only: see handover/availability.py) propagates: the
    entries stay pending and are retried. An entry the code cannot handle is moved, whole, to the
    dead-letter stream so it never blocks its partition. Entries read again (`redelivered`: their drainer
    died, or outlived its lease, on them) are handled one by one, each start counted first: one started
    alone more than REDELIVERIES times (it kills its worker, or costs more than the lease) is dead-lettered
    without running again, while the entries before and after it are handled.
    """
    if not redelivered:
        try:
            handler(batch)
            return
        except Exception as exc:
            if isinstance(exc, LeaseLost) or is_unavailable(exc):
                raise
            log.exception(
                "batch_failed", lane=str(batch.lane), partition=batch.partition, size=len(batch.entries)
            )
    attempts = keys.attempts_key(batch.lane, batch.partition)
    for entry in batch.entries:
        single = Batch(
            batch.client,
            batch.lane,
            batch.partition,
            batch.token,
            batch.lease_ms,
            [entry],
            renewed_at=batch.renewed_at,
        )
        try:
            if redelivered and deadletters.started(single, attempts, entry[0]) > REDELIVERIES:
                raise Redelivered(f"started {REDELIVERIES} times alone, its drainer died or lost its lease")
            handler(single)
            if redelivered:
                batch.client.hdel(attempts, entry[0])
        except Exception as exc:
            if isinstance(exc, LeaseLost) or is_unavailable(exc):
                raise  # Redis's trouble, not the entry's: it stays pending and is retried
            log.exception(
                "entry_dead_lettered", lane=str(batch.lane), partition=batch.partition, entry=entry[0]
            )
            single.commit(
                functools.partial(
                    deadletters.set_aside,
                    lane=batch.lane,
                    partition=batch.partition,
                    entry=entry,
                    exc=exc,
                    attempts=attempts,
                )
            )
