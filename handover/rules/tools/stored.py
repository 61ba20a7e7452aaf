"""Stored conversations read back for a replay (`rules whatif`, `rules export-golden`): the customer, and
the customer's turns in order, as the messages they were made from.

What a customer typed to prove who they are is never stored (the transcript says "[cpf]"), so a replay
cannot give it to a directory. Each such turn is replayed as lived instead: the bot's recorded decision
for it says whether the format was accepted (then a placeholder of the right format is said) and whether
the directory confirmed the customer (`unconfirmed` lists the turns it did not).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import redis

from handover import keys
from handover.message import CustomerRef, InboundKind, InboundMessage
from handover.rules.bot import FORMAT_EXHAUSTED, INVALID_FORMAT, NO_MATCH, NOT_VERIFIED

CHUNK = 500  # conversations read per pipeline: a few thousand commands, one round trip
_CUSTOMER_FIELDS = ("phone_number_id", "customer_key", "wa_id", "user_id", "profile_name")
# a value of the right format for each identity field (rules/bot.py's clean_field accepts them)
PLACEHOLDERS = {
    "cpf": "529.982.247-25",
    "birth_date": "01/01/1990",
    "zip_code": "01001-000",
    "account_number": "00000000",
    "email": "replay@example.com",
}
# how the bot recorded an identity answer whose format it refused, or that the directory did not confirm
FORMAT_REFUSED = {INVALID_FORMAT, FORMAT_EXHAUSTED}
NOT_CONFIRMED = {NO_MATCH, NOT_VERIFIED}


@dataclass(frozen=True)
class StoredConversation:
    """What a replay needs of a stored conversation: who the customer is, and what they sent, in order."""

    id: str
    customer: CustomerRef
    turns: list[InboundMessage]
    unconfirmed: frozenset[str] = field(default_factory=frozenset)  # identity answers the directory refused


def newest_of(client: redis.Redis, number: str, last: int) -> list[str]:
    """The ids of the `last` most recently started conversations of one number, oldest of them first:
    the newest of all are read a page at a time until enough are that number's."""
    found: list[str] = []
    page, start = max(last, 500), 0
    while len(found) < last:
        ids = [keys.as_text(c) for c in client.zrevrange(keys.CONVERSATIONS, start, start + page - 1)]
        if not ids:
            break
        with client.pipeline(transaction=False) as pipe:
            for conversation_id in ids:
                pipe.hget(keys.conversation_key(conversation_id), "phone_number_id")
            numbers = pipe.execute()
        found += [c for c, n in zip(ids, numbers, strict=True) if n is not None and keys.as_text(n) == number]
        start += page
    return found[:last][::-1]


def read_conversations(
    client: redis.Redis, ids: list[str], chunk: int = CHUNK
) -> Iterator[StoredConversation]:
    """The stored conversations among `ids`, in that order, read in pipelined chunks; the transcript's
    outbound entries are skipped unparsed (only customer turns are replayed)."""
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        with client.pipeline(transaction=False) as pipe:
            for conversation_id in part:
                pipe.hmget(keys.conversation_key(conversation_id), _CUSTOMER_FIELDS)
                pipe.zrange(keys.transcript_key(conversation_id), 0, -1)
                pipe.hgetall(keys.entries_key(conversation_id))
            replies = pipe.execute()
        found = []
        for index, conversation_id in enumerate(part):
            fields, order, bodies = replies[3 * index : 3 * index + 3]
            if fields[0] is None:  # gone (or never there): nothing to replay
                continue
            stored = _stored(conversation_id, [keys.as_text(f) for f in fields], order, bodies)
            if stored.turns:
                found.append(stored)
        yield from _as_lived(client, found)


def _stored(
    conversation_id: str, fields: list[Any], order: list[Any], bodies: dict[Any, Any]
) -> StoredConversation:
    phone_number_id, customer_key, wa_id, user_id, profile_name = fields
    customer = CustomerRef(
        phone_number_id=phone_number_id,
        wa_id=wa_id or (None if user_id else customer_key),
        user_id=user_id,
        profile_name=profile_name,
    )
    by_id = {keys.as_text(k): v for k, v in bodies.items()}
    turns = []
    for entry_id in order:
        body = by_id.get(keys.as_text(entry_id))
        if body is None or '"direction":"in"' not in keys.as_text(body):
            continue
        turns.append(_message(customer, json.loads(body)))
    return StoredConversation(conversation_id, customer, turns)


def _message(customer: CustomerRef, entry: dict[str, Any]) -> InboundMessage:
    """A transcript entry back as the message it was made from (TranscriptEntry.from_inbound, reversed).
    Built without validation: the store wrote it from a validated message, and this runs per turn."""
    content = dict(entry.get("content") or {})
    wa_type = content.pop("wa_type", entry["kind"])
    errors = content.pop("errors", [])
    try:
        kind = InboundKind(entry["kind"])
    except ValueError:
        kind = InboundKind.UNKNOWN
    return InboundMessage.model_construct(
        id=entry["id"],
        customer=customer,
        timestamp=int(entry["at"]),
        kind=kind,
        wa_type=wa_type,
        text=entry.get("text"),
        reply_id=entry.get("reply_id"),
        media_id=entry.get("media_id"),
        mime_type=entry.get("mime_type"),
        context_id=entry.get("context_id"),
        referral=None,
        errors=errors,
        content=content,
    )


def as_stored(message: InboundMessage) -> str | None:
    """The text as stored: an identity answer as "[cpf]", never the placeholder a replay says for it."""
    redacted = message.content.get("redacted")
    return f"[{redacted}]" if redacted else message.text


def _as_lived(client: redis.Redis, found: list[StoredConversation]) -> list[StoredConversation]:
    """Identity answers replaced as the bot's recorded decisions say they went (one more round trip, only
    for the conversations that have any)."""
    answering = [c for c in found if any("redacted" in m.content for m in c.turns)]
    if not answering:
        return found
    with client.pipeline(transaction=False) as pipe:
        for stored in answering:
            pipe.lrange(keys.decisions_key(stored.id), 0, -1)
        recorded = dict(zip((c.id for c in answering), pipe.execute(), strict=True))
    return [_answered(c, recorded[c.id]) if c.id in recorded else c for c in found]


def _answered(stored: StoredConversation, decisions: list[Any]) -> StoredConversation:
    how = {d["message_id"]: d.get("how") for d in (json.loads(raw) for raw in decisions)}
    turns, unconfirmed = [], set()
    for message in stored.turns:
        asked = message.content.get("redacted")
        said = how.get(message.id)
        if asked in PLACEHOLDERS and said is not None and said not in FORMAT_REFUSED:
            message = message.model_copy(update={"text": PLACEHOLDERS[asked]})
            if said in NOT_CONFIRMED:
                unconfirmed.add(message.id)
        turns.append(message)  # its decision no longer kept, or the format refused: "[cpf]" as stored
    return StoredConversation(stored.id, stored.customer, turns, frozenset(unconfirmed))
