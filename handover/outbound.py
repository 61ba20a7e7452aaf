"""The send handler: sends a batch through a transport, records outcomes, schedules retries with backoff."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import BaseModel
from redis.asyncio import Redis as AsyncRedis
from redis.client import Pipeline

from handover import keys
from handover.clock import Clock, system_clock
from handover.enqueue import OutboundJob, schedule_retry
from handover.message import OutboundKind, SendOutcome
from handover.store import Store
from handover.streams import Batch

log = structlog.get_logger(__name__)

# Sends grouped by conversation, in order. The transport sends each group in order and different groups
# concurrently; after a retryable failure it stops that group, leaving later sends unattempted (None), so
# a conversation's messages never overtake one another. It calls `keepalive` every few seconds while it
# waits, so a slow Graph API does not cost the drainer its lease.
SendMany = Callable[[list[list[OutboundJob]], Callable[[], None]], dict[str, SendOutcome | None]]

MAX_ATTEMPTS = 8
STALE_SECONDS = 600.0  # a line whose retried send is this late past its due time is let go


def _newest_receipts(jobs: list[OutboundJob]) -> tuple[list[OutboundJob], set[str]]:
    """One read receipt per conversation: WhatsApp marks every earlier message read with the newest one.

    Returns the receipts to send and the ids of those they cover (which need no call of their own).
    """
    newest: dict[str, OutboundJob] = {}
    for job in jobs:  # by WhatsApp time; on a tie, the later in the stream
        if job.request.kind is OutboundKind.MARK_READ:
            current = newest.get(job.conversation_id)
            if current is None or (job.message_timestamp or 0) >= (current.message_timestamp or 0):
                newest[job.conversation_id] = job
    kept = {job.id for job in newest.values()}
    covered = {job.id for job in jobs if job.request.kind is OutboundKind.MARK_READ and job.id not in kept}
    return list(newest.values()), covered


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter: ~2 s, 4 s, 8 s ... capped at 5 minutes."""
    return float(min(300.0, 2.0 ** (attempt + 1)) * random.uniform(0.8, 1.2))


class Line(BaseModel):
    """A conversation's sends waiting behind one that is being retried, so none overtakes it: `head` is
    the send being retried (it goes first when it comes back), `tail` the due time of the last one waiting,
    `waiting` how many wait. Kept in Redis (keys.SEND_LINES) while anything waits."""

    head: str | None = None
    tail: float = 0.0
    waiting: int = 0

    @property
    def is_empty(self) -> bool:
        return self.head is None and self.waiting <= 0


def _now_and_later(
    sends: list[OutboundJob], line: Line | None
) -> tuple[list[OutboundJob], list[OutboundJob]]:
    """A conversation's sends in this batch (stream order): those that may go now, and those that wait."""
    if line is None:
        return sends, []
    head = [s for s in sends if s.id == line.head]
    if line.head is not None and not head:  # the send being retried is not back yet: everything waits
        return [], sends
    returning = [s for s in sends if s.deferred]  # back from the line, in the order they waited
    fresh = [s for s in sends if not s.deferred and s.id != line.head]
    # the transport sends these in order and stops at a failure: the rest then waits again, in order
    if len(returning) >= line.waiting:  # the whole line is here: the fresh ones follow it now
        return head + returning + fresh, []
    return head + returning, fresh


@dataclass
class Sender:
    store: Store
    send_many: SendMany
    clock: Clock = system_clock
    max_attempts: int = MAX_ATTEMPTS

    def handle(self, batch: Batch) -> None:
        jobs = [OutboundJob.model_validate_json(fields["d"]) for _, fields in batch.entries]
        receipts, covered = _newest_receipts(jobs)
        ordered: dict[str, list[OutboundJob]] = {}
        for job in jobs:
            if job.request.kind is not OutboundKind.MARK_READ:
                ordered.setdefault(job.conversation_id, []).append(job)
        lines = self._lines(list(ordered))
        now_and_later = {c: _now_and_later(sends, lines.get(c)) for c, sends in ordered.items()}
        groups = [now for now, _ in now_and_later.values() if now]
        # Receipts need no order: each goes alone, concurrently with everything else.
        outcomes = self.send_many([*groups, *([r] for r in receipts)], batch.renew)
        batch.commit(lambda pipe: self._write(pipe, now_and_later, lines, receipts, outcomes, len(covered)))

    def _lines(self, conversations: list[str]) -> dict[str, Line]:
        if not conversations:
            return {}
        raw = self.store.client.hmget(keys.SEND_LINES, conversations)
        lines = {c: Line.model_validate_json(r) for c, r in zip(conversations, raw, strict=True) if r}
        now = self.clock()
        for conversation_id, line in lines.items():
            if line.head is not None and now > line.tail + STALE_SECONDS:
                # the send being retried never came back (set aside as unreadable?): do not wait forever
                log.warning("send_line_released", conversation_id=conversation_id, head=line.head)
                lines[conversation_id] = line.model_copy(update={"head": None, "waiting": 0})
        return lines

    def _write(
        self,
        pipe: Pipeline,
        now_and_later: dict[str, tuple[list[OutboundJob], list[OutboundJob]]],
        lines: dict[str, Line],
        receipts: list[OutboundJob],
        outcomes: dict[str, SendOutcome | None],
        covered: int,
    ) -> None:
        now = self.clock()
        Store.count(pipe, "receipts_covered", covered)
        for conversation_id, (sent, later) in now_and_later.items():
            line = lines.get(conversation_id)
            unattempted = []
            for job in sent:
                outcome = outcomes.get(job.id)
                if outcome is None:  # an earlier send of the conversation failed: it waits behind that one
                    unattempted.append(job)
                else:
                    line = self._record(pipe, job, outcome, line, now)
            line = _wait_in_line(pipe, [*unattempted, *later], line, now)
            if line is not None and line.is_empty:
                pipe.hdel(keys.SEND_LINES, conversation_id)
            elif line is not None:
                pipe.hset(keys.SEND_LINES, conversation_id, line.model_dump_json())
        for receipt in receipts:
            outcome = outcomes.get(receipt.id)
            if outcome is not None:
                self._record(pipe, receipt, outcome, None, now)

    def _record(
        self, pipe: Pipeline, job: OutboundJob, outcome: SendOutcome, line: Line | None, now: float
    ) -> Line | None:
        """What one attempted send achieved; returns its conversation's line as it now stands."""
        if line is not None and job.deferred:
            line = line.model_copy(update={"waiting": line.waiting - 1})
        if line is not None and line.head == job.id:
            line = line.model_copy(update={"head": None})
        attempts = job.attempt + 1
        if not outcome.ok and outcome.retryable and attempts < self.max_attempts:
            due = now + backoff_seconds(job.attempt)
            schedule_retry(pipe, job.model_copy(update={"attempt": attempts, "deferred": False}), due)
            if job.request.kind is not OutboundKind.MARK_READ:  # receipts keep no order: no line for them
                current = line or Line()
                line = current.model_copy(update={"head": job.id, "tail": max(due, current.tail)})
            Store.count(pipe, "outbound_retried")
            log.warning(
                "send_retry_scheduled", **job.log_fields, error_code=outcome.error_code, attempt=attempts
            )
        elif outcome.ok:
            Store.count(pipe, "outbound_sent")
            if job.request.kind is OutboundKind.MARK_READ:
                Store.count(pipe, "receipts_sent")
        else:
            outcome = outcome.model_copy(update={"retryable": False})
            Store.count(pipe, f"outbound_failed:{outcome.error_code or 0}")
            log.warning("send_failed", **job.log_fields, error_code=outcome.error_code)
        if job.entry_id is not None:
            self.store.record_send(pipe, job.conversation_id, job.entry_id, outcome, attempts, now)
        return line


def _wait_in_line(pipe: Pipeline, jobs: list[OutboundJob], line: Line | None, now: float) -> Line | None:
    """Put sends at the end of their conversation's line, in order, each due just after the one before."""
    if not jobs:
        return line
    line = line or Line()
    tail, waiting = max(line.tail, now), line.waiting
    for job in jobs:
        tail += 0.001
        schedule_retry(pipe, job.model_copy(update={"deferred": True}), tail)
        waiting += 0 if job.deferred else 1
        Store.count(pipe, "outbound_held_back")
    return line.model_copy(update={"tail": tail, "waiting": waiting})


# The sandbox outbox (workers/transport.py writes it), read by webhooks/sandbox.py


async def outbox(client: AsyncRedis, to: str | None, start: int = 0) -> list[dict[str, Any]]:
    """What the sandbox transport sent to `to` (None: to anyone), oldest first, from list index `start`
    (negative: that many of the newest)."""
    key = keys.SANDBOX_OUTBOX_ALL if to is None else keys.outbox_key(to)
    return [json.loads(item) for item in await client.lrange(key, start, -1)]
