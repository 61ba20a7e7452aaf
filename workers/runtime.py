"""What a worker process needs to run jobs, built once by the composition root and reached by the jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from handover.keys import Lane
from handover.traffic.outbound import Sender
from handover.traffic.processing import Processor
from handover.traffic.streams import Handler, drain


@dataclass
class WorkerRuntime:
    """The Redis client and the two handlers a drain needs; one per process."""

    client: redis.Redis
    processor: Processor
    sender: Sender
    batch_size: int
    lease_seconds: float
    partitions: int
    announce: Callable[[], int] = lambda: 0
    expire_offers: Callable[[], int] = lambda: 0
    watch_windows: Callable[[], object] = lambda: None
    watch_clocks: Callable[[], object] = lambda: None
    drop_gone_agents: Callable[[], object] = lambda: None
    expire_conversations: Callable[[], int] = lambda: 0
    on_close: list[Callable[[], None]] = field(default_factory=list)

    def handler(self, lane: Lane) -> Handler:
        return self.processor.handle if lane is Lane.INBOUND else self.sender.handle

    def drain(self, lane: Lane, partition: int) -> int:
        return drain(
            self.client,
            lane,
            partition,
            self.handler(lane),
            batch_size=self.batch_size,
            lease_seconds=self.lease_seconds,
        )

    def close(self) -> None:
        for close in reversed(self.on_close):
            close()


_current: WorkerRuntime | None = None


def install(runtime: WorkerRuntime) -> None:
    global _current
    _current = runtime


def current() -> WorkerRuntime:
    if _current is None:
        raise RuntimeError(
            "no worker runtime installed: jobs run inside `handover worker` (or embedded serve)"
        )
    return _current
