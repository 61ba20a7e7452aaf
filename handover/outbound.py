"""The send handler: sends a batch through a transport, records outcomes, schedules retries with backoff."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from redis.client import Pipeline

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


@dataclass
class Sender:
    store: Store
    send_many: SendMany
    clock: Callable[[], float] = time.time
    max_attempts: int = MAX_ATTEMPTS

    def handle(self, batch: Batch) -> None:
        jobs = [OutboundJob.model_validate_json(fields["d"]) for _, fields in batch.entries]
        receipts, covered = _newest_receipts(jobs)
        groups: dict[str, list[OutboundJob]] = {}
        for job in jobs:
            if job.request.kind is not OutboundKind.MARK_READ:
                groups.setdefault(job.conversation_id, []).append(job)
        # Receipts need no order: each goes alone, concurrently with everything else.
        outcomes = self.send_many([*groups.values(), *([r] for r in receipts)], batch.renew)
        sent = [job for job in jobs if job.id not in covered]
        batch.commit(lambda pipe: self._write(pipe, sent, outcomes, len(covered)))

    def _write(
        self, pipe: Pipeline, jobs: list[OutboundJob], outcomes: dict[str, SendOutcome | None], covered: int
    ) -> None:
        now = self.clock()
        Store.count(pipe, "receipts_covered", covered)
        due_after: dict[str, float] = {}  # per conversation: held-back sends go right after the retry
        for job in jobs:
            outcome = outcomes.get(job.id)
            if outcome is None:  # not attempted: an earlier send of its conversation is waiting to retry
                due = due_after.get(job.conversation_id, now) + 0.001
                due_after[job.conversation_id] = due
                schedule_retry(pipe, job, due)
                continue
            attempts = job.attempt + 1
            if not outcome.ok and outcome.retryable and attempts < self.max_attempts:
                due = now + backoff_seconds(job.attempt)
                due_after[job.conversation_id] = due
                schedule_retry(pipe, job.model_copy(update={"attempt": attempts}), due)
                Store.count(pipe, "outbound_retried")
                log.warning(
                    "send_retry_scheduled",
                    conversation_id=job.conversation_id,
                    job=job.id,
                    message_id=job.message_id,
                    error_code=outcome.error_code,
                    attempt=attempts,
                )
            elif outcome.ok:
                Store.count(pipe, "outbound_sent")
                if job.request.kind is OutboundKind.MARK_READ:
                    Store.count(pipe, "receipts_sent")
            else:
                outcome = outcome.model_copy(update={"retryable": False})
                Store.count(pipe, f"outbound_failed:{outcome.error_code or 0}")
                log.warning(
                    "send_failed",
                    conversation_id=job.conversation_id,
                    job=job.id,
                    message_id=job.message_id,
                    error_code=outcome.error_code,
                )
            if job.entry_id is not None:
                self.store.record_send(pipe, job.conversation_id, job.entry_id, outcome, attempts, now)
