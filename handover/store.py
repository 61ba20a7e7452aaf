"""Redis storage of customers, conversations and transcripts: reads, and writes queued on a pipeline."""

from __future__ import annotations

import json
from typing import Any

import redis
from redis.asyncio import Redis as AsyncRedis
from redis.client import Pipeline

from handover import keys, kpis, lua, search
from handover.bot import Decision
from handover.clock import system_clock
from handover.conversation import Conversation
from handover.hints import Hints
from handover.message import CustomerRef
from handover.packet import ContextPacket
from handover.traffic.deliveries import Deliveries
from handover.traffic.enqueue import OutboundJob, queue_sends
from handover.transcript import NOTE_PREFIX, Delivery, TranscriptEntry

DECISIONS_KEPT = 100
HISTORY_KEPT = 20
CUSTOMERS_REMEMBERED = 50_000  # a worker's hints of customers' current conversations (~10 MB)
CONVERSATIONS_KEPT = 200_000  # the conversation index (what-if replays the newest of them)


class Store(Deliveries):
    """The one module that knows how customers, conversations and transcripts sit in Redis (what WhatsApp
    says of the messages we sent: handover/traffic/deliveries.py)."""

    def __init__(self, client: redis.Redis, *, transcript_max: int = 500) -> None:
        super().__init__(client)
        self.transcript_max = transcript_max
        # customer pointer -> the conversation it held when last read (see `current_conversations`)
        self.current_hints = Hints(CUSTOMERS_REMEMBERED)

    # reads

    def conversation(self, conversation_id: str) -> Conversation | None:
        raw = self.client.hgetall(keys.conversation_key(conversation_id))
        return Conversation.model_validate(_decode_hash(raw)) if raw else None

    def current_conversation(self, customer: CustomerRef) -> Conversation | None:
        """The customer's latest conversation on this number, open or closed; None if they never wrote."""
        conversation_id = self.client.hget(
            keys.customer_key(customer.phone_number_id, customer.key), "conversation"
        )
        return self.conversation(keys.as_text(conversation_id)) if conversation_id else None

    def current_conversations(self, customers: list[CustomerRef]) -> list[Conversation | None]:
        """current_conversation for many customers (a batch touches dozens). One round trip when this
        process read them before: each customer's pointer and the conversation it pointed to then, taken
        only where the pointer still says so; a second round trip for the rest."""
        pointers = [keys.customer_key(c.phone_number_id, c.key) for c in customers]
        hinted = [self.current_hints.get(pointer) for pointer in pointers]
        with self.client.pipeline(transaction=False) as pipe:
            for pointer, hint in zip(pointers, hinted, strict=True):
                pipe.hget(pointer, "conversation")
                if hint is not None:
                    pipe.hgetall(keys.conversation_key(hint))
            replies = iter(pipe.execute())
        ids: list[str | None] = []
        found: dict[int, Any] = {}
        for n, hint in enumerate(hinted):
            current = next(replies)
            ids.append(keys.as_text(current) if current else None)
            if hint is not None:
                raw = next(replies)
                if ids[n] == hint and raw:
                    found[n] = raw
        missing = [n for n, cid in enumerate(ids) if cid is not None and n not in found]
        if missing:
            with self.client.pipeline(transaction=False) as pipe:
                for n in missing:
                    pipe.hgetall(keys.conversation_key(ids[n] or ""))
                found.update(zip(missing, pipe.execute(), strict=True))
        conversations: list[Conversation | None] = []
        for n, pointer in enumerate(pointers):
            raw, cid = found.get(n), ids[n]
            if cid is None or not raw:
                self.current_hints.forget(pointer)
                conversations.append(None)
                continue
            self.current_hints.remember(pointer, cid)
            conversations.append(Conversation.model_validate(_decode_hash(raw)))
        self._read_identity_typed([c for c in conversations if c is not None and c.bot.awaits_identity])
        return conversations

    def _read_identity_typed(self, awaiting: list[Conversation]) -> None:
        """The identity values typed so far, for conversations whose bot waits for the rest (one more
        round trip, only when any does); none when they expired (the bot asks again from the start)."""
        if not awaiting:
            return
        found = self.client.mget([keys.pending_identity_key(c.id) for c in awaiting])
        for conversation, raw in zip(awaiting, found, strict=True):
            conversation.bot.pending_identity = json.loads(raw) if raw else {}

    def transcript(self, conversation_id: str) -> list[TranscriptEntry]:
        """Every kept entry in WhatsApp-time order, outbound ones with their delivery status."""
        ids = self.client.zrange(keys.transcript_key(conversation_id), 0, -1)
        return self._entries_and_kept(conversation_id, ids, None)

    def packet_and_transcript(
        self, conversation_id: str
    ) -> tuple[ContextPacket | None, list[TranscriptEntry]]:
        """`packet` and `transcript` together in two round trips (the desk shows both on every open): the
        packet and the transcript's ids, then the entries and which earlier conversations are kept."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.get(keys.packet_key(conversation_id))
            pipe.zrange(keys.transcript_key(conversation_id), 0, -1)
            raw, ids = pipe.execute()
        packet = _packet(raw)
        return packet, self._entries_and_kept(conversation_id, ids, packet)

    def _entries_and_kept(
        self, conversation_id: str, ids: list[Any], packet: ContextPacket | None
    ) -> list[TranscriptEntry]:
        """The second round trip of `transcript` and `packet`, for either or both: the entries with these
        ids (outbound ones with their delivery status), and the packet's earlier conversations cut to those
        still kept (retention deletes them)."""
        ids = [keys.as_text(i) for i in ids]
        past = packet.past_conversations if packet is not None else []
        if not ids and not past:
            return []
        with self.client.pipeline(transaction=False) as pipe:
            if ids:
                pipe.hmget(keys.entries_key(conversation_id), ids)
                pipe.hmget(keys.delivery_key(conversation_id), ids)
            for earlier in past:
                pipe.exists(keys.conversation_key(earlier))
            found = pipe.execute()
        if packet is not None and past:
            kept = found[len(found) - len(past) :]
            packet.past_conversations = [p for p, k in zip(past, kept, strict=True) if k]
        return _entries(found[0], found[1]) if ids else []

    def entry(self, conversation_id: str, entry_id: str) -> TranscriptEntry | None:
        """One transcript entry as kept (without its delivery), or None."""
        body = self.client.hget(keys.entries_key(conversation_id), entry_id)
        return TranscriptEntry.model_validate_json(body) if body else None

    # writes, queued on the caller's pipeline so a batch commits whole

    def save_conversation(
        self, pipe: Pipeline, conversation: Conversation, loaded: Conversation | None = None
    ) -> None:
        """Write what changed since `loaded` (everything for a new conversation): other writers (the desk,
        the announcer) may have changed other fields meanwhile, and counters move by increments."""
        now = _fields(conversation)
        before = _fields(loaded) if loaded is not None else {}
        key = keys.conversation_key(conversation.id)
        changed = {k: v for k, v in now.items() if before.get(k) != v and k not in COUNTER_FIELDS}
        removed = [k for k in before if k not in now]
        if changed:
            pipe.hset(key, mapping=changed)
        if removed:
            pipe.hdel(key, *removed)
        for counter in COUNTER_FIELDS:
            delta = int(now.get(counter, 0)) - int(before.get(counter, 0))
            if delta:
                pipe.hincrby(key, counter, delta)
        typed, typed_before = conversation.identity_typed, loaded.identity_typed if loaded else {}
        if typed and typed != typed_before:  # each answer gets the question's whole lifetime, no more
            value = json.dumps(typed, sort_keys=True)
            ttl = keys.PENDING_IDENTITY_TTL_SECONDS
            pipe.set(keys.pending_identity_key(conversation.id), value, ex=ttl)
        elif typed_before and not typed:  # the bot stopped asking, however: verified, failed, escalated...
            pipe.delete(keys.pending_identity_key(conversation.id))

    def link_to_customer(self, pipe: Pipeline, conversation: Conversation) -> None:
        """Make a new conversation the customer's current one, remember it in their history, index it by
        when it started (the newest CONVERSATIONS_KEPT: what `rules whatif` replays) and for search, and
        file it where retention looks (handover/retention.py: once, not at every change)."""
        customer = keys.customer_key(conversation.phone_number_id, conversation.customer_key)
        history = keys.history_key(conversation.phone_number_id, conversation.customer_key)
        pipe.lpush(history, conversation.id)
        pipe.ltrim(history, 0, HISTORY_KEPT - 1)
        pipe.hset(customer, mapping={"conversation": conversation.id})
        pipe.zadd(keys.CONVERSATIONS, {conversation.id: conversation.created_at})
        pipe.zremrangebyrank(keys.CONVERSATIONS, 0, -CONVERSATIONS_KEPT - 1)
        pipe.zadd(keys.RETAINED, {conversation.id: conversation.updated_at})
        search.index(pipe, conversation)

    def newest_conversations(self, count: int) -> list[str]:
        """The ids of the `count` most recently started conversations, oldest of them first."""
        if count <= 0:
            return []
        return [keys.as_text(c) for c in self.client.zrange(keys.CONVERSATIONS, -count, -1)]

    def append_entry(self, pipe: Pipeline, conversation_id: str, entry: TranscriptEntry) -> None:
        # pending, unless it went out before we heard of it (an echo: handover/coexistence.py; a folded
        # conversation's: handover/rekey.py), whose later statuses then find it here
        delivery = (entry.delivery or Delivery()).model_dump_json() if entry.direction == "out" else ""
        if entry.delivery is not None and entry.delivery.wa_message_id:
            sent = f"{conversation_id} {entry.id}"
            pipe.set(keys.wamid_key(entry.delivery.wa_message_id), sent, ex=keys.WAMID_TTL_SECONDS)
        body = entry.model_dump_json(exclude={"delivery", "media"})
        if entry.media_id:  # who may fetch it: GET /api/v1/media/{id}
            where = {"conversation_id": conversation_id, **(entry.media or {})}
            pipe.set(keys.media_key(entry.media_id), json.dumps(where), ex=keys.MEDIA_KEPT_SECONDS)
        lua.queue(
            pipe,
            "append_entry",
            [
                keys.transcript_key(conversation_id),
                keys.entries_key(conversation_id),
                keys.delivery_key(conversation_id),
            ],
            [entry.id, entry.score, body, self.transcript_max, delivery, entry.ceiling, NOTE_PREFIX],
        )

    def past_conversations(self, conversation: Conversation) -> list[str]:
        """The customer's earlier conversations on this number, newest first."""
        history = keys.history_key(conversation.phone_number_id, conversation.customer_key)
        return [
            c for c in (keys.as_text(x) for x in self.client.lrange(history, 0, -1)) if c != conversation.id
        ]

    def record_decisions(self, pipe: Pipeline, conversation_id: str, decisions: list[Decision]) -> None:
        """Keep the bot's decisions, newest first, the last hundred of them."""
        key = keys.decisions_key(conversation_id)
        pipe.lpush(key, *(d.model_dump_json() for d in decisions))
        pipe.ltrim(key, 0, DECISIONS_KEPT - 1)

    def decisions(self, conversation_id: str) -> list[Decision]:
        """Newest first."""
        return [
            Decision.model_validate_json(d)
            for d in self.client.lrange(keys.decisions_key(conversation_id), 0, -1)
        ]

    def save_packet(self, pipe: Pipeline, packet: ContextPacket) -> None:
        pipe.set(keys.packet_key(packet.conversation_id), packet.model_dump_json(by_alias=True))

    def packet(self, conversation_id: str) -> ContextPacket | None:
        """The packet, listing only the earlier conversations still kept (retention deletes them)."""
        packet = _packet(self.client.get(keys.packet_key(conversation_id)))
        self._entries_and_kept(conversation_id, [], packet)
        return packet

    @staticmethod
    def count(pipe: Pipeline, name: str, amount: int = 1, at: float | None = None) -> None:
        """A counter shared by all processes (for /metrics); the support KPIs also by the hour (the hour
        of `at`: pass your clock's time; the system clock's when not given)."""
        if amount:
            pipe.hincrby(keys.COUNTERS, name, amount)
            if kpis.is_kpi(name):
                kpis.mirror(pipe, name, amount, system_clock() if at is None else at)

    @staticmethod
    def count_seconds(pipe: Pipeline, name: str, seconds: float, at: float | None = None) -> None:
        """One more duration for `name` (a Prometheus summary's _sum and _count, shared by all processes),
        counted in the KPI hour of `at` (the system clock's time when not given)."""
        seconds = round(max(0.0, seconds), 3)
        pipe.hincrbyfloat(keys.COUNTERS, f"{name}_sum", seconds)
        pipe.hincrby(keys.COUNTERS, f"{name}_count", 1)
        hour = system_clock() if at is None else at
        kpis.mirror(pipe, f"{name}_sum", seconds, hour)
        kpis.mirror(pipe, f"{name}_count", 1, hour)

    def conversations(self, conversation_ids: list[str]) -> list[Conversation | None]:
        """`conversation` for many ids in one pipelined round trip (None where one is gone)."""
        with self.client.pipeline(transaction=False) as pipe:
            for conversation_id in conversation_ids:
                pipe.hgetall(keys.conversation_key(conversation_id))
            found = pipe.execute()
        return [Conversation.model_validate(_decode_hash(raw)) if raw else None for raw in found]

    @staticmethod
    def count_sent(pipe: Pipeline, conversation_id: str) -> None:
        """One more message out, as a counter only: the inbound drainer may be writing the rest right now."""
        pipe.hincrby(keys.conversation_key(conversation_id), "messages_out", 1)

    def queue_reply(
        self, pipe: Pipeline, conversation_id: str, entry: TranscriptEntry, job: OutboundJob
    ) -> None:
        """A message to the customer outside the webhook's batches (agents, transfers, surveys, wait
        updates): counted, in the transcript and queued to send, on the caller's transaction."""
        self.count_sent(pipe, conversation_id)
        self.append_entry(pipe, conversation_id, entry)
        queue_sends(pipe, [job])

    @staticmethod
    def mark(pipe: Pipeline, conversation_id: str, fields: dict[str, str]) -> None:
        """Fields of a conversation that are not its state (those change in handover/lifecycle.py only)."""
        if "state" in fields:
            raise ValueError("a conversation's state changes through handover/lifecycle.py")
        pipe.hset(keys.conversation_key(conversation_id), mapping=fields)

    @staticmethod
    def unmark(pipe: Pipeline, conversation_id: str, *fields: str) -> None:
        """Fields of a conversation that no longer hold (never its state)."""
        if "state" in fields:
            raise ValueError("a conversation's state changes through handover/lifecycle.py")
        pipe.hdel(keys.conversation_key(conversation_id), *fields)

    def watch(self, pipe: Pipeline, conversation_id: str, packet_only: bool = False) -> None:
        """WATCH a conversation and its packet (or its packet only): a change by anyone else fails the
        caller's transaction."""
        watched = [keys.packet_key(conversation_id)]
        pipe.watch(*watched if packet_only else [keys.conversation_key(conversation_id), *watched])

    def windows(self, conversation_ids: list[str]) -> list[tuple[float | None, bool]]:
        """When each conversation's 24-hour window closes, and whether agents were warned: one round trip."""
        with self.client.pipeline(transaction=False) as pipe:
            for conversation_id in conversation_ids:
                pipe.hmget(keys.conversation_key(conversation_id), _WINDOW_FIELDS)
            found = pipe.execute()
        return [
            (float(keys.as_text(closes)) if closes is not None else None, keys.as_text(flagged) == "true")
            for closes, flagged in found
        ]

    @staticmethod
    def note_processed(pipe: Pipeline, at: float) -> None:
        """When a batch last went through (/metrics shows the lag)."""
        pipe.hset(keys.COUNTERS, "last_processed_at", at)


COUNTER_FIELDS = ("messages_in", "messages_out")
_WINDOW_FIELDS = ["window_expires_at", "window_closing_flagged"]


def _fields(conversation: Conversation) -> dict[str, str]:
    """A conversation as its Redis hash: strings as they are, everything else as JSON; None absent."""
    data = conversation.model_dump(mode="json")
    return {
        k: v if isinstance(v, str) else json.dumps(v, sort_keys=True)
        for k, v in data.items()
        if v is not None
    }


def _packet(raw: str | bytes | None) -> ContextPacket | None:
    return ContextPacket.model_validate_json(raw) if raw else None


def _entries(bodies: list[Any], deliveries: list[Any]) -> list[TranscriptEntry]:
    """Transcript entries from their stored bodies and deliveries (same order; None: gone, or not sent)."""
    entries = []
    for body, delivery in zip(bodies, deliveries, strict=True):
        if body is None:
            continue
        entry = TranscriptEntry.model_validate_json(body)
        if delivery is not None:
            entry.delivery = Delivery.model_validate_json(delivery)
        entries.append(entry)
    return entries


def _decode_hash(raw: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in raw.items():
        key, value = keys.as_text(k), keys.as_text(v)
        try:
            out[key] = json.loads(value) if key not in _STRING_FIELDS else value
        except ValueError:
            out[key] = value
    return out


_STRING_FIELDS = {
    "agent_id",
    "csat",
    "offer_to",
    "offer_by",
    "offer_reason",
    "offer_customer_reason",
    "offer_note",
    "id",
    "phone_number_id",
    "customer_key",
    "wa_id",
    "user_id",
    "parent_user_id",
    "profile_name",
    "state",
    "queue",
    "priority",
    "bot_outcome",
    "bot_outcome_version",
}


async def shared_counters(client: AsyncRedis) -> dict[str, str]:
    """The counters every process keeps for /metrics (see `Store.count`)."""
    return {keys.as_text(k): keys.as_text(v) for k, v in (await client.hgetall(keys.COUNTERS)).items()}
