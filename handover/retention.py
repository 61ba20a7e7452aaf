"""Retention: a conversation that is closed, or was left with the bot, is deleted with everything of it once
its last change is older than HANDOVER_RETENTION_DAYS; open ones (waiting, held) are kept however old.

Where the sweep looks is keys.RETAINED: every conversation, filed once when it starts (Store.link_to_customer)
at a time no later than its last change. No writer of a conversation keeps it up to date (the webhook's
batches, the desk, the Lua scripts pay nothing): a score only has to be a lower bound, since the deleting
script (handover/lua/expire_conversation.lua) decides on the conversation's own hash, and files one that is
not due yet again at its last change (an open one at now: it can only close later). So a conversation is
looked at about twice in its life: once when its first score comes due, once when it is really due.
Its last change is the latest of `updated_at`, `resolved_at`, `abandoned_at` and `csat_asked_at`.

Safe beside the worker: the script deletes a customer's current conversation only while their inbound
partition's lease is free, as a batch that read it (to end an idle bot conversation, to record a late
survey answer) commits under that lease; otherwise it looks again a minute later. Conversations written
before this index existed are filed by `file_existing`, a step at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
import structlog

from handover import keys, lua, search
from handover.clock import Clock, system_clock
from handover.keys import Lane
from handover.message import routing_key
from handover.store import Store

log = structlog.get_logger(__name__)

DAY_SECONDS = 24 * 3600
BATCH = 500  # due conversations read, then deleted, per round trip
BATCHES_PER_RUN = 20  # a backlog (after the upgrade, or a long stop) spreads over runs, never one long job
LATER_SECONDS = 60  # one left for later (its bot outcome not counted yet, its partition busy) is due again
UPGRADE_STEPS = 50  # SCAN calls per run while `file_existing` has not gone through the whole keyspace
SCAN_COUNT = 1000
DONE = "done"

_READ = ["phone_number_id", "customer_key", "wa_id", "user_id", "profile_name", search.REMEMBERED]
_PLACES = ["queue", "agent_id"]
_TIMES = ["updated_at", "resolved_at", "abandoned_at", "csat_asked_at", "created_at"]


@dataclass(frozen=True)
class Found:
    """A due conversation as read before the script runs: the keys it names and its search members."""

    conversation_id: str
    keys: list[str]
    members: list[str]
    linked: bool  # the hash names its customer (else the customer's keys are placeholders)


class Retention:
    """Deletes expired conversations in bounded batches; idempotent, and safe beside any other writer."""

    def __init__(self, client: redis.Redis, days: int, partitions: int, clock: Clock = system_clock) -> None:
        self.client = client
        self.seconds = days * DAY_SECONDS
        self.partitions = partitions
        self.clock = clock

    def sweep(self) -> int:
        """The periodic job: a step of filing older conversations, then batches of due ones while more are
        due (at most BATCHES_PER_RUN). Returns how many conversations it deleted."""
        now = self.clock()
        file_existing(self.client)
        deleted = 0
        for _ in range(BATCHES_PER_RUN):
            due = self.due(now)
            deleted += self.expire(due, now).count("deleted")
            if len(due) < BATCH:
                break
        if deleted:
            Store.count(self.client, "conversations_expired", deleted, at=now)
            log.info("conversations_expired", deleted=deleted, retention_days=self.seconds // DAY_SECONDS)
        return deleted

    def due(self, now: float, limit: int | None = None) -> list[str]:
        """Conversations whose filed time is at or before the cutoff, the oldest first (a BATCH of them)."""
        cutoff = now - self.seconds
        found = self.client.zrangebyscore(keys.RETAINED, "-inf", cutoff, start=0, num=limit or BATCH)
        return [keys.as_text(c) for c in found]

    def expire(self, conversation_ids: list[str], now: float) -> list[str]:
        """Delete those of `conversation_ids` still due; what the script said of each (see its header)."""
        return self.delete(self.inspect(conversation_ids), now)

    def inspect(self, conversation_ids: list[str]) -> list[Found]:
        """Read, in one round trip, what deleting each conversation needs to name: its customer's keys, the
        activity indexes of its last queue and holder, its search members."""
        with self.client.pipeline(transaction=False) as pipe:
            for conversation_id in conversation_ids:
                pipe.hmget(keys.conversation_key(conversation_id), [*_READ, *_PLACES])
            rows = pipe.execute()
        rows = [[keys.as_text(v) for v in row] for row in rows]
        return [self._found(c, row) for c, row in zip(conversation_ids, rows, strict=True)]

    def _found(self, conversation_id: str, row: list[str | None]) -> Found:
        phone_number_id, customer_key, wa_id, user_id, name, remembered, queue, agent_id = row
        conversation = keys.conversation_key(conversation_id)
        customer = [conversation] * 3  # placeholders, untouched by the script
        if phone_number_id and customer_key:
            partition = keys.partition_of(routing_key(phone_number_id, customer_key), self.partitions)
            customer = [
                keys.history_key(phone_number_id, customer_key),
                keys.customer_key(phone_number_id, customer_key),
                keys.lease_key(Lane.INBOUND, partition),
            ]
        return Found(
            conversation_id,
            [
                keys.RETAINED,
                conversation,
                keys.transcript_key(conversation_id),
                keys.entries_key(conversation_id),
                keys.delivery_key(conversation_id),
                keys.packet_key(conversation_id),
                keys.decisions_key(conversation_id),
                keys.announced_key(conversation_id),
                keys.pending_identity_key(conversation_id),
                keys.skip_key(conversation_id),
                keys.CONVERSATIONS,
                keys.BOT_IDLE,
                keys.SEARCH,
                keys.ACTIVITY_WAITING,
                keys.ACTIVITY_HELD,
                (
                    keys.activity_waiting_key(phone_number_id, queue)
                    if queue and phone_number_id
                    else keys.ACTIVITY_WAITING
                ),
                keys.activity_held_key(agent_id) if agent_id else keys.ACTIVITY_HELD,
                *customer,
                keys.SEND_NUMBERS,
                keys.SEND_CURSORS,
                keys.held_sends_key(conversation_id),
            ],
            search.members_of(conversation_id, remembered, wa_id, user_id, name),
            customer[0] != conversation,
        )

    def delete(self, found: list[Found], now: float) -> list[str]:
        """Run the script for each, in one round trip: each checks its conversation is still due first."""
        if not found:
            return []
        cutoff = now - self.seconds
        with self.client.pipeline(transaction=False) as pipe:
            for each in found:
                lua.queue(
                    pipe,
                    "expire_conversation",
                    each.keys,
                    [
                        each.conversation_id,
                        repr(cutoff),
                        repr(now),
                        repr(cutoff + LATER_SECONDS),
                        "1" if each.linked else "",
                        *each.members,
                    ],
                )
            return [keys.as_text(outcome) for outcome in pipe.execute()]


def file_existing(client: redis.Redis, steps: int = UPGRADE_STEPS) -> int:
    """The upgrade: file the conversations written before keys.RETAINED existed, at their latest time, a
    bounded number of SCAN steps per call, going on where the last call stopped (the cursor is kept in
    keys.UPGRADED_RETAINED, "done" at the end: once per Redis). Conversations already filed keep their
    score (ZADD NX); filing one twice changes nothing. Returns how many it looked at."""
    cursor = keys.as_text(client.get(keys.UPGRADED_RETAINED))
    if cursor == DONE:
        return 0
    position, looked = int(cursor or 0), 0
    prefix = keys.conversation_key("")
    for _ in range(steps):
        position, found = client.scan(
            position, match=keys.conversation_key("*"), count=SCAN_COUNT, _type="hash"
        )
        ids = [keys.as_text(k).removeprefix(prefix) for k in found]
        if ids:
            with client.pipeline(transaction=False) as pipe:
                for conversation_id in ids:
                    pipe.hmget(keys.conversation_key(conversation_id), _TIMES)
                times = pipe.execute()
            latest = {
                c: max((float(t) for t in row if t is not None), default=0.0)
                for c, row in zip(ids, times, strict=True)
            }
            client.zadd(keys.RETAINED, latest, nx=True)
            looked += len(ids)
        client.set(keys.UPGRADED_RETAINED, DONE if position == 0 else str(position))
        if position == 0:
            log.info("upgrade_retention_done")  # once per Redis
            break
    return looked
