"""Turns wake-ups into drains and sweeps for stranded work: the loop that bounds recovery after a crash."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import redis
import structlog

from handover import keys
from handover.availability import is_unavailable
from handover.clock import Clock, system_clock
from handover.keys import Lane
from handover.traffic.streams import release_stranded
from handover.traffic.wakeups import WAKEUPS_AT_ONCE, Wakeup, pop_wakeups, sweep

log = structlog.get_logger(__name__)

Dispatch = Callable[[Wakeup], object]

# How often the periodic duties run, in seconds, in whichever process runs them: a worker's dispatcher
# enqueues them as jobs, the embedded worker of `handover serve` runs them in place.
ANNOUNCE_SECONDS = 30.0  # tell waiting customers their new place in line
OFFERS_SECONDS = 5.0  # warm-transfer offers nobody answered in time
WINDOWS_SECONDS = 60.0  # waiting customers whose 24-hour window closed; bot conversations left idle
CLOCKS_SECONDS = 10.0  # held conversations: a silent agent, a quiet customer (handover/clockwatch.py)
RETENTION_SECONDS = 300.0  # conversations past HANDOVER_RETENTION_DAYS deleted (handover/retention.py)


class Periodic:
    """Something to do every `every` seconds by one process among all: a Redis lock elects who.
    `everywhere`: by every process (e.g. each reports the rules version it runs)."""

    def __init__(self, name: str, every: float, run: Callable[[], object], everywhere: bool = False) -> None:
        self.name = name
        self.every = every
        self.run = run
        self.everywhere = everywhere
        self._next = 0.0

    def run_if_due(self, client: redis.Redis) -> None:
        if time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.every
        if self.everywhere or client.set(keys.tick_key(self.name), "1", nx=True, px=int(self.every * 1000)):
            self.run()


class Loop:
    """A loop on a daemon thread of its own, started and stopped by the process that runs it: `run` works
    until `_stop` is set."""

    name = "loop"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class Dispatcher(Loop):
    """Blocks on the wake-up list and dispatches each partition; sweeps every `sweep_seconds`.

    In a deployment `dispatch` hands the partition to a thread of LocalDrains, and `room` says how many
    wake-ups the threads can take, so a busy process leaves the rest to the others; in embedded mode it
    drains in place. Any number of dispatchers may run: wake-ups are popped once, and a drain that finds
    the lease taken does nothing.
    """

    name = "dispatcher"

    def __init__(
        self,
        client: redis.Redis,
        partitions: int,
        dispatch: Dispatch,
        sweep_seconds: float = 1.0,
        periodic: list[Periodic] | None = None,
        clock: Clock = system_clock,
        room: Callable[[float], int] | None = None,
    ) -> None:
        self.client = client
        self.clock = clock
        self.partitions = partitions
        self.dispatch = dispatch
        self.sweep_seconds = sweep_seconds
        self.periodic = periodic or []
        self.room = room  # how many wake-ups this process can take now (waits up to the timeout for one)
        super().__init__()

    def run(self) -> None:
        last_sweep = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_sweep >= self.sweep_seconds:
                    release_stranded(self.client)
                    sweep(self.client, self.partitions, clock=self.clock)
                    last_sweep = time.monotonic()
                wait = min(self.sweep_seconds, 1.0)
                most = self.room(wait) if self.room is not None else WAKEUPS_AT_ONCE
                if most:
                    for wakeup in pop_wakeups(self.client, timeout=wait, most=most):
                        self.dispatch(wakeup)
                for task in self.periodic:
                    task.run_if_due(self.client)
            except Exception as exc:
                if is_unavailable(exc):
                    log.warning("dispatcher_redis_unavailable", error=type(exc).__name__)
                else:
                    log.exception("dispatcher_failed")
                self._stop.wait(1.0)


class LocalDrains:
    """One lane's drains on threads of this process. Outbound drains wait on Meta (a slow or hanging Graph
    API holds them for seconds), so they get capacity of their own and inbound (the bot's answers,
    queueing) never waits behind them. A wake-up for a partition already draining here drains it again
    when the current drain ends, so none is lost. Stopping, the drains under way finish and every wake-up
    taken and not yet drained is handed back (`hand_back`), so another worker takes it at once."""

    def __init__(
        self,
        lane: Lane,
        drain: Callable[[Lane, int], object],
        threads: int,
        hand_back: Callable[[Lane, int], object] | None = None,
    ) -> None:
        self.lane = lane
        self.drain = drain
        self.hand_back = hand_back
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"drain-{lane}")
        self.threads = threads
        self._lock = threading.Condition()
        self._busy: set[int] = set()
        self._again: set[int] = set()
        self._queued: set[int] = set()  # submitted, no thread yet
        self._stopping = False

    def room(self, timeout: float) -> int:
        """How many more partitions the threads can take now; waits up to `timeout` while all are busy."""
        with self._lock:
            self._lock.wait_for(lambda: len(self._busy) < self.threads, timeout)
            return max(0, self.threads - len(self._busy))

    def submit(self, partition: int) -> None:
        with self._lock:
            stopping = self._stopping
            if not stopping and partition in self._busy:
                self._again.add(partition)
                return
            if not stopping:
                self._busy.add(partition)
                self._queued.add(partition)
        if stopping:
            self._give_back([partition])
            return
        with contextlib.suppress(RuntimeError):  # stopped meanwhile: stop() hands it back (it is queued)
            self.pool.submit(self._run, partition)

    def _run(self, partition: int) -> None:
        with self._lock:
            self._queued.discard(partition)
        while True:
            try:
                self.drain(self.lane, partition)
            except Exception as exc:
                if is_unavailable(exc):
                    log.warning("drain_redis_unavailable", lane=str(self.lane), partition=partition)
                else:
                    log.exception("drain_failed", lane=str(self.lane), partition=partition)
            with self._lock:
                again = partition in self._again
                self._again.discard(partition)
                done = not again or self._stopping
                if done:
                    self._busy.discard(partition)
                    self._lock.notify_all()
            if done:
                if again:  # stopping: another worker drains it
                    self._give_back([partition])
                return

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
        self.pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:  # submitted and cancelled before a thread took them
            left, self._queued = sorted(self._queued), set()
        self._give_back(left)

    def _give_back(self, partitions: list[int]) -> None:
        for partition in partitions:
            log.info("wakeup_handed_back", lane=str(self.lane), partition=partition)
            if self.hand_back is None:
                continue
            try:
                self.hand_back(self.lane, partition)
            except Exception as exc:  # Redis away: the sweep wakes it again once the mark is stale
                if not is_unavailable(exc):
                    raise
