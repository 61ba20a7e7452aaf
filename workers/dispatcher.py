"""Turns wake-ups into drains and sweeps for stranded work: the loop that bounds recovery after a crash."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import redis
import structlog

from handover import keys
from handover.availability import is_unavailable
from handover.keys import Lane
from handover.streams import pop_wakeups, sweep

log = structlog.get_logger(__name__)

Dispatch = Callable[[Lane, int], object]


class Periodic:
    """Something to do every `every` seconds by one process among all: a Redis lock elects who."""

    def __init__(self, name: str, every: float, run: Callable[[], object]) -> None:
        self.name = name
        self.every = every
        self.run = run
        self._next = 0.0

    def run_if_due(self, client: redis.Redis) -> None:
        if time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.every
        if client.set(f"{keys.PREFIX}tick:{self.name}", "1", nx=True, px=int(self.every * 1000)):
            self.run()


class Dispatcher:
    """Blocks on the wake-up list and dispatches each partition; sweeps every `sweep_seconds`.

    In a deployment `dispatch` enqueues an rq job; in embedded mode it drains in place. Any number of
    dispatchers may run: wake-ups are popped once, and a drain that finds the lease taken does nothing.
    """

    def __init__(
        self,
        client: redis.Redis,
        partitions: int,
        dispatch: Dispatch,
        sweep_seconds: float = 1.0,
        periodic: list[Periodic] | None = None,
    ) -> None:
        self.client = client
        self.partitions = partitions
        self.dispatch = dispatch
        self.sweep_seconds = sweep_seconds
        self.periodic = periodic or []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def run(self) -> None:
        last_sweep = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_sweep >= self.sweep_seconds:
                    sweep(self.client, self.partitions)
                    last_sweep = time.monotonic()
                for lane, partition in pop_wakeups(self.client, timeout=min(self.sweep_seconds, 1.0)):
                    self.dispatch(lane, partition)
                for task in self.periodic:
                    task.run_if_due(self.client)
            except Exception as exc:
                if is_unavailable(exc):
                    log.warning("dispatcher_redis_unavailable", error=type(exc).__name__)
                else:
                    log.exception("dispatcher_failed")
                self._stop.wait(1.0)
