"""The one way edges hand work to workers: webhook items into inbound streams, sends into outbound ones."""

from __future__ import annotations

import functools
import json
import weakref
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field
from redis.asyncio import Redis as AsyncRedis
from redis.client import Pipeline

from handover import keys, lua
from handover.conversation import Conversation
from handover.ids import new_id
from handover.keys import Lane
from handover.message import InboundMessage, OutboundKind, OutboundRequest, StatusUpdate
from handover.numbers import register_async
from handover.traffic.wakeups import WAKE_MS, lane_partition, wake_if_pending, wake_keys
from handover.transcript import TranscriptEntry


class InboundItem(BaseModel):
    """What travels in an inbound stream entry: a customer message or a status, with its customer key."""

    type: Literal["message", "status"]
    message: InboundMessage | None = None
    status: StatusUpdate | None = None

    @property
    def dedupe_id(self) -> str:
        """Messages are stored once per WhatsApp id. Statuses are not deduplicated: applying one twice
        changes nothing (they only move forward), and three markers per send would cost memory for naught."""
        return self.message.id if self.message is not None else ""

    @property
    def item_id(self) -> str:
        """The WhatsApp id the item is about: the message's own, or the sent message a status concerns."""
        if self.message is not None:
            return self.message.id
        assert self.status is not None
        return self.status.message_id

    @property
    def phone_number_id(self) -> str:
        """The business number the item came to."""
        if self.message is not None:
            return self.message.customer.phone_number_id
        assert self.status is not None
        return self.status.phone_number_id

    @property
    def routing_key(self) -> str:
        if self.message is not None:
            return self.message.customer.routing_key
        assert self.status is not None
        return self.status.routing_key


class OutboundJob(BaseModel):
    """One send waiting in an outbound stream; `entry_id` names its transcript entry (none for receipts)."""

    id: str = Field(default_factory=new_id)
    conversation_id: str
    entry_id: str | None = None
    p: int  # the partition, so a retry goes back to the same stream
    attempt: int = 0
    request: OutboundRequest
    message_timestamp: int | None = None  # receipts: WhatsApp's time of the message being marked read
    seq: int | None = None  # its place in its conversation's sends (queue_send.lua; none for receipts)

    @property
    def message_id(self) -> str | None:
        """The message this send is about, for logs: its transcript entry, or the message a receipt reads."""
        return self.entry_id or self.request.message_id

    @property
    def log_fields(self) -> dict[str, str | None]:
        """What names this send in a log line (ids only, never text or phone numbers)."""
        return {"conversation_id": self.conversation_id, "job": self.id, "message_id": self.message_id}


@dataclass(frozen=True)
class IngestResult:
    added: int
    duplicates: int
    duplicate_ids: list[str]


async def ingest(client: AsyncRedis, items: list[InboundItem], partitions: int) -> IngestResult:
    """Store items durably, once each (dedupe on WhatsApp's ids), and wake the drainers they need.

    One round trip, atomic: when it returns, every new item is in Redis; when Redis is down, it raises.
    """
    if not items:
        return IngestResult(0, 0, [])
    routed = [keys.partition_of(item.routing_key, partitions) for item in items]
    touched = sorted(set(routed))
    position = {p: i for i, p in enumerate(touched, start=1)}  # as Lua counts
    item_keys: list[str] = []
    args: list[Any] = [keys.SEEN_TTL_SECONDS, WAKE_MS, len(items)]
    for item, partition in zip(items, routed, strict=True):
        stream, dedupe_id = _inbound(partition)[0], item.dedupe_id
        # no dedupe id: the seen slot repeats the stream key, which tells the script
        item_keys += (keys.seen_key(dedupe_id) if dedupe_id else stream, stream)
        args += (item.model_dump_json(exclude_none=True), position[partition])
    for p in touched:
        _, lease, wake, name = _inbound(p)
        item_keys += (lease, wake)
        args.append(name)
    added, duplicates, positions = await lua.call_async(client, "ingest", [keys.WAKEUPS, *item_keys], args)
    await _register(client, {item.phone_number_id for item in items})
    return IngestResult(int(added), int(duplicates), [items[int(i) - 1].dedupe_id for i in positions])


# The business numbers this process registered, per client (one per Redis it writes to): each is written
# once per process, so `numbers.known` lists every number that reached the webhook for one SADD each.
_registered: weakref.WeakKeyDictionary[AsyncRedis, set[str]] = weakref.WeakKeyDictionary()


async def _register(client: AsyncRedis, numbers: set[str]) -> None:
    done = _registered.setdefault(client, set())
    for number in sorted(numbers - done):
        await register_async(client, number)
        done.add(number)


@functools.cache
def _inbound(partition: int) -> tuple[str, str, str, str]:
    """An inbound partition's stream, lease and wake keys and its wake-up name: made once (every POST
    needs them)."""
    lease, wake = wake_keys(Lane.INBOUND, partition)
    return keys.stream_key(Lane.INBOUND, partition), lease, wake, lane_partition(Lane.INBOUND, partition)


def outbound_job(
    conversation: Conversation,
    request: OutboundRequest,
    partitions: int,
    entry_id: str | None = None,
    message_timestamp: int | None = None,
) -> OutboundJob:
    """A send for a conversation, routed to the outbound partition of its customer."""
    return OutboundJob(
        conversation_id=conversation.id,
        entry_id=entry_id,
        p=keys.partition_of(conversation.routing_key, partitions),
        request=request,
        message_timestamp=message_timestamp,
    )


def text_request(conversation: Conversation, text: str) -> OutboundRequest:
    """A plain text to the conversation's customer, from the number they wrote to."""
    return OutboundRequest(
        kind=OutboundKind.TEXT,
        phone_number_id=conversation.phone_number_id,
        to=conversation.address,
        text=text,
    )


def reply(
    conversation: Conversation, request: OutboundRequest, author: str, at: float, partitions: int
) -> tuple[TranscriptEntry, OutboundJob]:
    """A message to the customer: its transcript entry (delivery pending) and the send that delivers it."""
    entry_id = f"out.{new_id()}"
    conversation.messages_out += 1
    entry = TranscriptEntry.from_outbound(entry_id, request, author, at, conversation.entry_count)
    return entry, outbound_job(conversation, request, partitions, entry_id)


def queue_send(pipe: Pipeline, job: OutboundJob) -> None:
    """Queue a send on the caller's transaction, so it is stored exactly when the decision to send is."""
    queue_sends(pipe, [job])


def queue_sends(pipe: Pipeline, jobs: list[OutboundJob]) -> None:
    """Queue sends on the caller's transaction, then wake each outbound partition they touch once.

    Each send but a receipt is numbered in its conversation as it is queued (lua/queue_send.lua): the
    sender keeps that order through any retry (handover/traffic/outbound.py)."""
    for job in jobs:
        stream, data = keys.stream_key(Lane.OUTBOUND, job.p), job.model_dump_json(exclude_none=True)
        if job.request.kind is OutboundKind.MARK_READ:  # receipts need no order
            pipe.xadd(stream, {"d": data})
        else:
            lua.queue(pipe, "queue_send", [keys.SEND_NUMBERS, stream], [job.conversation_id, data])
    # By SHA: the pipeline makes sure Redis has the script before the transaction runs.
    for partition in sorted({job.p for job in jobs}):
        wake_if_pending(pipe, Lane.OUTBOUND, partition)


def read_send(fields: dict[str, str]) -> OutboundJob:
    """A send as an outbound stream entry holds it: its number, when queue_send.lua gave it one, is beside."""
    job = OutboundJob.model_validate_json(fields["d"])
    number = fields.get("n")
    return job if number is None or job.seq is not None else job.model_copy(update={"seq": int(number)})


def schedule_retry(pipe: Pipeline, job: OutboundJob, due: float) -> None:
    """Put a send back after its backoff; the sweep moves it into its stream when due."""
    member = json.dumps(job.model_dump(mode="json", exclude_none=True), sort_keys=True)
    pipe.zadd(keys.RETRIES, {member: int(due * 1000)})


# The webhook edge keeps what it does not act on through this


async def keep_unhandled(client: AsyncRedis, changes: list[str], unrouted: list[str]) -> None:
    """Webhook changes we do not act on, and items for numbers we do not serve (each as JSON), kept in
    capped streams for whoever looks into them later."""
    async with client.pipeline(transaction=False) as pipe:
        for change in changes:
            pipe.xadd(keys.EVENTS, {"d": change}, maxlen=keys.EVENTS_KEPT, approximate=True)
        for item in unrouted:
            pipe.xadd(keys.UNROUTED, {"d": item}, maxlen=keys.UNROUTED_KEPT, approximate=True)
        await pipe.execute()
