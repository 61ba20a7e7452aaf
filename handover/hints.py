"""Where to look, remembered by a process so that a read can fetch the likely answer in the same round trip
as the check that it still holds: a token's agent (handover/agents.py), a customer's current conversation
(handover/store.py). A hint is never trusted alone: its reader checks it against Redis in that round trip,
and forgets it when it no longer holds."""

from __future__ import annotations

import threading


class Hints:
    """A bounded map, safe from threads (asyncio.to_thread, a worker's drain threads): reads take no lock,
    changes take one. When full, the longest remembered goes first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._known: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        return self._known.get(key)

    def remember(self, key: str, value: str) -> None:
        with self._lock:
            if key not in self._known and len(self._known) >= self.size:
                del self._known[next(iter(self._known))]
            self._known[key] = value

    def forget(self, key: str) -> None:
        with self._lock:
            self._known.pop(key, None)
