"""Watching every partition stream of a running deployment: how long each one stayed with entries and made no
progress (its oldest entry the same), by Redis's own clock. A partition whose drainer died waits out the
lease and then the sweep; nothing should wait longer than that."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import redis

from handover import keys
from handover.keys import Lane


@dataclass
class IdleWatch:
    """Samples the head of every partition stream every `every` seconds on a thread of its own. A sample
    that fails (Redis away) ends every idle spell: an outage is measured apart."""

    url: str
    partitions: int
    every: float = 0.05
    worst: dict[str, float] = field(default_factory=dict)  # "lane:partition" -> longest idle, seconds
    samples: int = 0
    _heads: dict[str, tuple[str, float]] = field(default_factory=dict)  # slot -> (its head, seen since)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> IdleWatch:
        self._thread = threading.Thread(target=self._run, name="idle-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def longest(self) -> tuple[str, float]:
        """The partition that stayed idle longest, and for how long (seconds)."""
        return max(self.worst.items(), key=lambda kv: kv[1], default=("none", 0.0))

    def _run(self) -> None:
        client = redis.Redis.from_url(self.url, decode_responses=True, socket_timeout=2)
        slots = [(f"{lane}:{p}", keys.stream_key(lane, p)) for lane in Lane for p in range(self.partitions)]
        while not self._stop.wait(self.every):
            try:
                with client.pipeline(transaction=False) as pipe:
                    pipe.time()
                    for _, stream in slots:
                        pipe.xrange(stream, count=1)
                    seconds, micros = (replies := pipe.execute())[0]
            except redis.RedisError:
                self._heads.clear()
                continue
            now = seconds + micros / 1e6
            self.samples += 1
            for (slot, _), head in zip(slots, replies[1:], strict=True):
                self._look(slot, head[0][0] if head else None, now)

    def _look(self, slot: str, head: str | None, now: float) -> None:
        if head is None:
            self._heads.pop(slot, None)
            return
        seen, since = self._heads.get(slot, (head, now))
        if seen != head:
            since = now
        self._heads[slot] = (head, since)
        self.worst[slot] = max(self.worst.get(slot, 0.0), now - since)
