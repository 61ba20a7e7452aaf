"""The send handler: sends a batch through a transport, records outcomes, schedules retries with backoff."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from redis.asyncio import Redis as AsyncRedis
from redis.client import Pipeline

from handover import keys, lua
from handover.clock import Clock, system_clock
from handover.keys import Lane
from handover.message import OutboundKind, SendOutcome
from handover.store import Store
from handover.traffic.enqueue import OutboundJob, read_send, schedule_retry
from handover.traffic.streams import Batch

log = structlog.get_logger(__name__)

# Sends grouped by conversation, in order. The transport sends each group in order and different groups
# concurrently; after a retryable failure it stops that group, leaving later sends unattempted (None), so
# a conversation's messages never overtake one another. It calls `keepalive` every few seconds while it
# waits, so a slow Graph API does not cost the drainer its lease.
SendMany = Callable[[list[list[OutboundJob]], Callable[[], None]], dict[str, SendOutcome | None]]

MAX_ATTEMPTS = 8
STALE_SECONDS = 600.0  # a cursor that has not moved this long past its send's due time skips to what waits


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
    # an agent's "typing…" rides on the receipt that covers it
    typing = {job.conversation_id for job in jobs if job.id in covered and job.request.typing}
    receipts = [
        job.model_copy(update={"request": job.request.model_copy(update={"typing": True})})
        if job.conversation_id in typing and not job.request.typing
        else job
        for job in newest.values()
    ]
    return receipts, covered


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter: ~2 s, 4 s, 8 s ... capped at 5 minutes."""
    return float(min(300.0, 2.0 ** (attempt + 1)) * random.uniform(0.8, 1.2))


@dataclass(frozen=True)
class Cursor:
    """A conversation's "next to send": the number (queue_send.lua) of its oldest send not yet accepted
    by Meta nor failed for good, and since when (ms) it has been waiting on it. Kept in Redis
    (keys.SEND_CURSORS) while the conversation owes sends; moved only by lua/advance_sends.lua."""

    next: int = 1
    since_ms: int = 0

    @classmethod
    def parse(cls, raw: str | None) -> Cursor | None:
        if not raw:
            return None
        next_, since = raw.split(" ", 1)
        return cls(int(next_), int(since))


@dataclass
class Turn:
    """What a batch does with one conversation's numbered sends: `go` (the run from the cursor on, in
    order), `hold` (those behind a send not here or not finished: they wait in keys.held_sends_key)."""

    next: int
    go: list[OutboundJob]
    hold: list[OutboundJob]
    stale: bool = False


def _turn(sends: list[OutboundJob], cursor: Cursor | None, now: float) -> Turn:
    """Of a conversation's numbered sends in a batch, those that may go now, in number order: from the
    cursor on, with no gap. One numbered below the cursor was finished already (a redelivery): dropped."""
    next_ = cursor.next if cursor is not None else 1
    by_number: dict[int, OutboundJob] = {}
    for send in sends:
        assert send.seq is not None
        if send.seq >= next_:
            by_number.setdefault(send.seq, send)
    ordered = [by_number[n] for n in sorted(by_number)]
    if (
        cursor is not None
        and ordered
        and ordered[0].seq != next_
        and now * 1000 > cursor.since_ms + STALE_SECONDS * 1000
    ):
        # the send the cursor waits on never came back (dead-lettered?): do not wait forever
        return Turn(next_, [], ordered, stale=True)
    run = 0
    while run < len(ordered) and ordered[run].seq == next_ + run:
        run += 1
    return Turn(next_, ordered[:run], ordered[run:])


@dataclass
class Sender:
    store: Store
    send_many: SendMany
    clock: Clock = system_clock
    max_attempts: int = MAX_ATTEMPTS

    def handle(self, batch: Batch) -> None:
        jobs = [read_send(fields) for _, fields in batch.entries]
        receipts, covered = _newest_receipts(jobs)
        numbered: dict[str, list[OutboundJob]] = {}
        unnumbered: dict[str, list[OutboundJob]] = {}  # queued before sends had numbers: stream order
        for job in jobs:
            if job.request.kind is not OutboundKind.MARK_READ:
                (numbered if job.seq is not None else unnumbered).setdefault(job.conversation_id, []).append(
                    job
                )
        cursors, addresses = self._read(list(numbered), [*numbered, *unnumbered])
        now = self.clock()
        turns = {c: _turn(sends, cursors.get(c), now) for c, sends in numbered.items()}
        for conversation_id, turn in turns.items():
            if turn.stale:
                log.warning("send_cursor_skipped", conversation_id=conversation_id, next=turn.next)
        # a send queued for a customer who has since changed number (or id) goes where the conversation
        # answers now, never to the old number, which may be someone else's by then (handover/rekey.py)
        groups = [
            [_to(job, addresses.get(job.conversation_id)) for job in group]
            for group in [*(turn.go for turn in turns.values() if turn.go), *unnumbered.values()]
        ]
        # Receipts need no order: each goes alone, concurrently with everything else.
        outcomes = self.send_many([*groups, *([r] for r in receipts)], batch.renew)
        batch.commit(
            lambda pipe: self._write(
                pipe, turns, [*unnumbered.values(), *([r] for r in receipts)], outcomes, len(covered)
            )
        )

    def _read(self, numbered: list[str], sending: list[str]) -> tuple[dict[str, Cursor], dict[str, str]]:
        """In one round trip: the numbered conversations' send cursors, and where every conversation with a
        send in the batch answers now (`Conversation.address`)."""
        with self.store.client.pipeline(transaction=False) as pipe:
            if numbered:
                pipe.hmget(keys.SEND_CURSORS, numbered)
            for conversation_id in sending:
                pipe.hmget(keys.conversation_key(conversation_id), _ADDRESS_FIELDS)
            found = pipe.execute() if sending else []  # numbered ones are among those sending
        raw = found.pop(0) if numbered else []
        parsed = {c: Cursor.parse(keys.as_text(r)) for c, r in zip(numbered, raw, strict=True)}
        addresses = {
            c: keys.as_text(next(f for f in fields if f))
            for c, fields in zip(sending, found, strict=True)
            if any(fields)
        }
        return {c: cursor for c, cursor in parsed.items() if cursor is not None}, addresses

    def _write(
        self,
        pipe: Pipeline,
        turns: dict[str, Turn],
        unordered: list[list[OutboundJob]],
        outcomes: dict[str, SendOutcome | None],
        covered: int,
    ) -> None:
        now = self.clock()
        Store.count(pipe, "receipts_covered", covered)
        for conversation_id, turn in turns.items():
            finished, due, hold = 0, None, list(turn.hold)
            for job in turn.go:
                outcome = outcomes.get(job.id)
                if outcome is None:  # an earlier send of the conversation is being retried: it waits
                    hold.append(job)
                    continue
                retry_at = self._record(pipe, job, outcome, now)
                if retry_at is not None:
                    due = retry_at
                elif due is None:
                    finished += 1
            if turn.go or hold:
                _advance(pipe, conversation_id, turn, finished, now, due, hold)
        for group in unordered:
            for job in group:
                outcome = outcomes.get(job.id)
                if outcome is not None:
                    self._record(pipe, job, outcome, now)

    def _record(self, pipe: Pipeline, job: OutboundJob, outcome: SendOutcome, now: float) -> float | None:
        """What one attempted send achieved; returns when it is retried, or None if it is finished."""
        attempts, due = job.attempt + 1, None
        if not outcome.ok and outcome.retryable and attempts < self.max_attempts:
            due = now + backoff_seconds(job.attempt)
            schedule_retry(pipe, job.model_copy(update={"attempt": attempts}), due)
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
        return due


def _advance(
    pipe: Pipeline,
    conversation_id: str,
    turn: Turn,
    finished: int,
    now: float,
    due: float | None,
    hold: list[OutboundJob],
) -> None:
    """Move the conversation's cursor past the `finished` sends, hold `hold` until their turn, and put
    back in the stream the held sends whose turn it is (lua/advance_sends.lua), in the batch's commit."""
    stream = keys.stream_key(Lane.OUTBOUND, (turn.go or hold)[0].p)
    held: list[Any] = []
    for job in hold:
        held += (job.seq, job.model_dump_json(exclude_none=True))
    if hold:
        Store.count(pipe, "outbound_held_back", len(hold))
    lua.queue(
        pipe,
        "advance_sends",
        [keys.SEND_CURSORS, keys.SEND_NUMBERS, keys.held_sends_key(conversation_id), stream],
        [
            conversation_id,
            turn.next,
            finished,
            int(now * 1000),
            "" if due is None else int(due * 1000),
            int(turn.stale),
            *held,
        ],
    )


# The sandbox outbox (graph/transport.py writes it), read by webhooks/sandbox.py


async def outbox(client: AsyncRedis, to: str | None, start: int = 0) -> list[dict[str, Any]]:
    """What the sandbox transport sent to `to` (None: to anyone), oldest first, from list index `start`
    (negative: that many of the newest)."""
    key = keys.SANDBOX_OUTBOX_ALL if to is None else keys.outbox_key(to)
    return [json.loads(item) for item in await client.lrange(key, start, -1)]


_ADDRESS_FIELDS = ["wa_id", "user_id", "customer_key"]  # Conversation.address, in its order


def _to(job: OutboundJob, address: str | None) -> OutboundJob:
    if address is None or job.request.to == address:
        return job
    log.info("send_readdressed", conversation_id=job.conversation_id, job_id=job.id)
    return job.model_copy(update={"request": job.request.model_copy(update={"to": address})})
