"""A customer's new number or business-scoped id (`system` user_changed_number / user_changed_user_id): their
open conversation, history and search terms move to the new customer key, so they stay who they were.

Where it runs: webhooks/normalize.py files the system message under the customer's *new* key, so it is
handled in the new key's partition, in order with what they write from the new number (which is what comes
next). The commit expects both customer pointers as it read them (traffic/fenced.py): a batch of the old
key's partition that opened or moved a conversation meanwhile makes it redo from what is there now.
Should Meta deliver a message from the new number before the change itself, that message opened a
conversation with the bot; the change then folds it into the one that continues (its entries copied, it
ends resolved), so the customer still has one open conversation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import structlog
from redis.client import Pipeline

from handover import keys, search
from handover.conversation import Conversation, ConversationState
from handover.message import CustomerRef, InboundMessage, routing_key
from handover.store import HISTORY_KEPT, Store
from handover.traffic.fenced import Expected
from handover.transcript import TranscriptEntry

log = structlog.get_logger(__name__)

KIND = "number_changed"  # the transcript entry the desk shows: both numbers (or ids), before and after


@dataclass
class Moved:
    """What a re-key writes on its batch's commit; `expect` the customer pointers as the batch read them."""

    phone_number_id: str
    old_key: str
    new_key: str
    current: str  # the conversation the new key points at afterwards
    old_history: list[str]
    remembered: list[str]  # search terms the continuing conversation is filed under: old and new
    copied: list[TranscriptEntry] = field(default_factory=list)  # a folded conversation's, into `current`
    expect: list[Expected] = field(default_factory=list)

    def write(self, pipe: Pipeline, store: Store) -> None:
        new_pointer = keys.customer_key(self.phone_number_id, self.new_key)
        new_history = keys.history_key(self.phone_number_id, self.new_key)
        if self.old_key != self.new_key:
            # the old number may be given to someone else: it no longer leads to this customer
            pipe.delete(keys.customer_key(self.phone_number_id, self.old_key))
            pipe.delete(keys.history_key(self.phone_number_id, self.old_key))
        for earlier in self.old_history:  # older than anything the new key has: after it
            pipe.lrem(new_history, 0, earlier)
            pipe.rpush(new_history, earlier)
        pipe.lrem(new_history, 0, self.current)
        pipe.lpush(new_history, self.current)
        pipe.ltrim(new_history, 0, HISTORY_KEPT - 1)
        pipe.hset(new_pointer, mapping={"conversation": self.current})
        if self.remembered:
            pipe.zadd(keys.SEARCH, {f"{t}{search.SEP}{self.current}": 0 for t in self.remembered})
            pipe.hset(keys.conversation_key(self.current), search.REMEMBERED, json.dumps(self.remembered))
        for entry in self.copied:  # outbound ones with their delivery as it stood when folded
            store.append_entry(pipe, self.current, entry)


@dataclass
class Rekeyed:
    """What a change decided: the conversation that continues (its change entry goes there), the one it
    folded (ended), and the writes."""

    conversation: Conversation
    entry: TranscriptEntry
    moved: Moved
    folded: Conversation | None = None


def rekey(
    store: Store,
    message: InboundMessage,
    current: dict[str, Conversation],
    loaded: dict[str, Conversation],
    fresh: list[tuple[str, TranscriptEntry]],
    now: float,
) -> Rekeyed | None:
    """Move the customer named by `message.changed_from` to `message.customer`, in memory (`current` and
    `loaded` are the batch's conversations by routing key and as read); None when we never knew them."""
    before, after = message.changed_from, message.customer
    assert before is not None
    number = after.phone_number_id
    old_key, old = _old_conversation(store, before, current, loaded)
    new = current.get(after.routing_key)
    if old is None:
        log.info("customer_rekey_unknown", message_id=message.id)
        return None
    old_history = [] if old_key == after.key else _history(store, number, old_key)
    # the pointers as read from Redis: a conversation this batch started is not there yet
    expect = [Expected(keys.customer_key(number, old_key), {"conversation": _read(old, loaded)})]
    if old_key != after.key:
        expect.append(Expected(keys.customer_key(number, after.key), {"conversation": _read(new, loaded)}))
    folded = None
    continuing = old
    if new is not None and new.id != old.id:
        if old.state.is_closed or (not new.state.is_closed and new.state != ConversationState.BOT):
            continuing = new  # the new number's own is the one in hand: the old one is history
            if not old.state.is_closed:
                log.warning("customer_rekey_left_open", conversation_id=old.id, kept=new.id)
        elif not new.state.is_closed:  # opened by the new number before the change came: folded in
            folded = new
            folded.move_to(ConversationState.RESOLVED, now)
    copied = _entries_of(store, folded, fresh) if folded is not None else []
    _follow(continuing, after)
    current.pop(routing_key(number, old_key), None)
    current[after.routing_key] = continuing
    entry = TranscriptEntry(
        id=message.id,
        direction="in",
        at=float(message.timestamp),
        seq=continuing.entry_count,
        kind=KIND,
        author="system",
        content={"change": message.content.get("type"), **_both(before, after)},
    )
    moved = Moved(
        phone_number_id=number,
        old_key=old_key,
        new_key=after.key,
        current=continuing.id,
        old_history=[c for c in old_history if c != continuing.id],
        remembered=_remembered(store, continuing),
        copied=copied,
        expect=expect,
    )
    log.info(
        "customer_rekeyed",
        conversation_id=continuing.id,
        message_id=message.id,
        folded=folded.id if folded else None,
    )
    return Rekeyed(continuing, entry, moved, folded)


def _old_conversation(
    store: Store, before: CustomerRef, current: dict[str, Conversation], loaded: dict[str, Conversation]
) -> tuple[str, Conversation | None]:
    """The customer's conversation under their old key: by business-scoped id first, then by number (a
    customer filed before Meta sent user ids is keyed on their number)."""
    number = before.phone_number_id
    for key in dict.fromkeys(k for k in (before.user_id, before.wa_id) if k):
        found = current.get(routing_key(number, key))
        if found is not None:
            return key, found
        pointer = store.client.hget(keys.customer_key(number, key), "conversation")
        conversation = store.conversation(keys.as_text(pointer)) if pointer else None
        if conversation is not None:
            loaded.setdefault(conversation.id, conversation.model_copy(deep=True))
            return key, conversation
    return before.key, None


def _read(conversation: Conversation | None, loaded: dict[str, Conversation]) -> str:
    return conversation.id if conversation is not None and conversation.id in loaded else ""


def _history(store: Store, number: str, key: str) -> list[str]:
    return [keys.as_text(c) for c in store.client.lrange(keys.history_key(number, key), 0, -1)]


def _follow(conversation: Conversation, after: CustomerRef) -> None:
    """The conversation goes on under the new ids; the number stays when only the user id changed."""
    conversation.customer_key = after.key
    conversation.wa_id = after.wa_id or conversation.wa_id
    conversation.user_id = after.user_id
    conversation.parent_user_id = after.parent_user_id or (
        conversation.parent_user_id if after.user_id is None else None
    )


def _both(before: CustomerRef, after: CustomerRef) -> dict[str, str | None]:
    """What the desk shows: the numbers when the number changed, else the business-scoped ids."""
    if before.wa_id and after.wa_id and before.wa_id != after.wa_id:
        return {"from": before.wa_id, "to": after.wa_id}
    return {"from": before.user_id or before.wa_id, "to": after.user_id or after.wa_id}


def _remembered(store: Store, conversation: Conversation) -> list[str]:
    """Its search terms: those it was filed under (retention removes exactly these) and the new ones."""
    raw = store.client.hget(keys.conversation_key(conversation.id), search.REMEMBERED)
    earlier = set(json.loads(keys.as_text(raw))) if raw else set()
    return sorted(earlier | search.terms(conversation))


def _entries_of(
    store: Store, conversation: Conversation, fresh: list[tuple[str, TranscriptEntry]]
) -> list[TranscriptEntry]:
    stored = store.transcript(conversation.id)
    known = {e.id for e in stored}
    return stored + [e for c, e in fresh if c == conversation.id and e.id not in known]
