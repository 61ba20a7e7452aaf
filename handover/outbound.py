"""The send handler: sends a batch through a transport, records outcomes, schedules retries with backoff."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from redis.client import Pipeline

from handover.enqueue import OutboundJob, schedule_retry
from handover.message import SendOutcome
from handover.store import Store
from handover.streams import Batch

log = structlog.get_logger(__name__)

# Sends grouped by conversation, in order. The transport sends each group in order and different groups
# concurrently; after a retryable failure it stops that group, leaving later sends unattempted (None), so
# a conversation's messages never overtake one another. It calls `keepalive` every few seconds while it
# waits, so a slow Graph API does not cost the drainer its lease.
SendMany = Callable[[list[list[OutboundJob]], Callable[[], None]], dict[str, SendOutcome | None]]

MAX_ATTEMPTS = 8


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
        groups: dict[str, list[OutboundJob]] = {}
        for job in jobs:
            groups.setdefault(job.conversation_id, []).append(job)
        outcomes = self.send_many(list(groups.values()), batch.renew)
        batch.commit(lambda pipe: self._write(pipe, jobs, outcomes))

    def _write(
        self, pipe: Pipeline, jobs: list[OutboundJob], outcomes: dict[str, SendOutcome | None]
    ) -> None:
        now = self.clock()
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
                    error_code=outcome.error_code,
                    attempt=attempts,
                )
            elif outcome.ok:
                Store.count(pipe, "outbound_sent")
            else:
                outcome = outcome.model_copy(update={"retryable": False})
                Store.count(pipe, f"outbound_failed:{outcome.error_code or 0}")
                log.warning(
                    "send_failed",
                    conversation_id=job.conversation_id,
                    job=job.id,
                    error_code=outcome.error_code,
                )
            if job.entry_id is not None:
                self.store.record_send(pipe, job.conversation_id, job.entry_id, outcome, attempts, now)
