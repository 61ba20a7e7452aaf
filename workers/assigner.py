"""The assigner's loop: it follows the desk events and assigns the moment something starts waiting or
someone is free; its only timer is the next offer's timeout.

One process among all runs it at a time (a lease, like a partition's): decisions are checked in Redis
anyway (handover/lua/assign.lua), the lease only keeps two processes from racing for the same agents. A
process that takes the lease over, starts, or comes back after Redis was away first looks at everything
once (nothing that happened meanwhile is missed), then follows the stream from where it ends.
"""

from __future__ import annotations

import json
import uuid

import redis
import structlog

from handover import events, keys, lua
from handover.agents import Presence
from handover.assignment.push import Assigner
from handover.availability import is_unavailable
from workers.dispatcher import Loop

log = structlog.get_logger(__name__)

LEASE_MS = 5000
# what can make a waiting conversation and a free agent meet: something starts waiting (or waits again),
# someone is freed, comes back, or gets more capacity
TRIGGERS = frozenset(
    {"waiting", "closed", "released", "transferred", "transfer_accepted", "agent_status", "offer_withdrawn"}
)
FREEING = frozenset({"closed", "released", "transfer_accepted"})


class AssignerLoop(Loop):
    name = "assigner"

    def __init__(self, client: redis.Redis, assigner: Assigner, idle_wait: float = 1.0) -> None:
        self.client = client
        self.assigner = assigner
        self.idle_wait = idle_wait
        self.token = uuid.uuid4().hex
        self._renew = lua.script(client, "renew")
        super().__init__()
        self._version: str | None = None  # the rules versions (every number's) the last dispatch ran with

    def stop(self) -> None:
        super().stop()
        try:
            if keys.as_text(self.client.get(keys.ASSIGNER_LEASE) or "") == self.token:
                self.client.delete(keys.ASSIGNER_LEASE)
        except redis.RedisError:
            pass  # it lapses by itself

    def run(self) -> None:
        after: str | None = None  # None: look at everything before following the stream
        while not self._stop.is_set():
            try:
                if not self._lead():
                    after = None
                    self._stop.wait(self.idle_wait)
                    continue
                if after is None:
                    log.info("assigner_leads", lease=self.token)
                    after = events.newest_id_now(self.client)
                    self.assigner.expire()
                    self.assigner.dispatch()
                after = self.step(after)
            except Exception as exc:
                if is_unavailable(exc):
                    log.warning("assigner_redis_unavailable", error=type(exc).__name__)
                else:
                    log.exception("assigner_failed")
                after = None
                self._stop.wait(self.idle_wait)

    def step(self, after: str) -> str:
        """Wait for desk events (or the next offer's timeout), act on them; returns where to read on."""
        block_ms = self._until_next_timeout()
        entries = events.read_after_now(self.client, after, block_ms, count=1000)
        now = self.assigner.clock()
        triggered = False
        freed: set[str] = set()
        for entry_id, event in entries:
            after = entry_id
            kind, agent_id = event.get("type", ""), event.get("agent_id", "")
            triggered |= kind in TRIGGERS
            if kind in FREEING and agent_id:
                freed.add(agent_id)
            elif kind == "agent_status" and agent_id:
                status = _status(event)
                if status == Presence.AVAILABLE.value:
                    freed.add(agent_id)
                elif status:
                    self.assigner.withdraw_all(agent_id, "unavailable")
        self.assigner.note_freed(freed, now)
        version = self.assigner.versions()  # a queue that starts pushing pushes what waits in it
        triggered |= version != self._version
        self._version = version
        if self.assigner.expire() or triggered:
            self.assigner.dispatch()
        return after

    def _until_next_timeout(self) -> int:
        """How long to wait for events, in ms: until the next offer is due, at most `idle_wait` (so the lease
        is renewed in time)."""
        due = self.assigner.offers.next_push_offer_expiry()
        wait = self.idle_wait if due is None else min(self.idle_wait, due - self.assigner.clock())
        return max(1, int(wait * 1000))

    def _lead(self) -> bool:
        """Hold the lease (take it when free, renew it when ours)."""
        if self._renew(keys=[keys.ASSIGNER_LEASE], args=[self.token, LEASE_MS]):
            return True
        return bool(self.client.set(keys.ASSIGNER_LEASE, self.token, nx=True, px=LEASE_MS))


def _status(event: dict[str, str]) -> str | None:
    try:
        status = json.loads(event.get("data") or "{}").get("status")
    except (ValueError, AttributeError):
        return None
    return status if isinstance(status, str) else None
