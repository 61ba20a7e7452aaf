"""What-if: the customer turns of stored conversations replayed, offline, through the rules in force and a
candidate file, and what the candidate would change (`handover rules whatif`).

Each conversation is replayed turn by turn with its own fresh state, at each turn's own WhatsApp time
(business hours depend on it), against a fixed queue view. Nothing is sent and nothing is written. Once a
replay hands over, the rest of that conversation is with a person and the bot says nothing, as in
production. The containment estimate is the share of replayed conversations the bot never handed over.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import redis

from handover import keys
from handover.conversation import Conversation, ConversationState
from handover.masking import mask
from handover.message import CustomerRef, InboundKind, InboundMessage
from handover.rules.bot import RuleBot
from handover.rules.directory import RulesDirectory
from handover.rules.golden import _FixedQueues
from handover.rules.loader import LoadedRules
from handover.store import Store

DEFAULT_LAST = 1000
EXAMPLES = 10
PARALLEL_FROM = 2000  # below this, starting a second process costs more than it saves
CHUNK = 500  # conversations read per pipeline: a few thousand commands, one round trip
WITH_A_PERSON = "(with a person)"
_CUSTOMER_FIELDS = ("phone_number_id", "customer_key", "wa_id", "user_id", "profile_name")


@dataclass(frozen=True)
class StoredConversation:
    """What a replay needs of a stored conversation: who the customer is, and what they sent, in order."""

    id: str
    customer: CustomerRef
    turns: list[InboundMessage]


@dataclass(frozen=True)
class Outcome:
    """What one side's bot did with one turn; `rule` None when the conversation was with a person."""

    rule: str | None
    action: str | None = None
    escalated: bool = False

    def label(self, other: Outcome) -> str:
        """The rule, and the action too when the other side's rule is the same (only the action moved)."""
        if self.rule is None:
            return WITH_A_PERSON
        return f"{self.rule} ({self.action})" if self.rule == other.rule else self.rule


WITH_PERSON = Outcome(None)


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
        for index, conversation_id in enumerate(part):
            fields, order, bodies = replies[3 * index : 3 * index + 3]
            if fields[0] is None:  # gone (or never there): nothing to replay
                continue
            stored = _stored(conversation_id, [keys.as_text(f) for f in fields], order, bodies)
            if stored.turns:
                yield stored


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


class Replayer:
    """One side of the comparison: a bot over fixed rules whose clock is the time of the turn it plays."""

    def __init__(self, loaded: LoadedRules) -> None:
        self.loaded = loaded
        self._now = 0.0
        self.bot = RuleBot(
            lambda: loaded, _FixedQueues(1, 60.0), RulesDirectory(lambda: loaded), clock=lambda: self._now
        )

    def replay(self, stored: StoredConversation) -> list[Outcome]:
        """What the bot does with each turn of a fresh conversation; after a handover, a person has it."""
        first = float(stored.turns[0].timestamp)
        customer = stored.customer
        conversation = Conversation(
            id=stored.id,
            phone_number_id=customer.phone_number_id,
            customer_key=customer.key,
            wa_id=customer.wa_id,
            user_id=customer.user_id,
            profile_name=customer.profile_name,
            created_at=first,
            updated_at=first,
        )
        outcomes = []
        for message in stored.turns:
            if conversation.state != ConversationState.BOT:
                outcomes.append(WITH_PERSON)
                continue
            self._now = float(message.timestamp)
            turn = self.bot.handle(conversation, message)
            escalated = turn.escalation is not None
            if escalated:
                conversation.state = ConversationState.QUEUED
            outcomes.append(Outcome(turn.decision.rule, turn.decision.action, escalated))
        return outcomes


def is_change(old: Outcome, new: Outcome) -> bool:
    """A turn some bot handled whose decision (rule, action) or handover differs between the sides."""
    if old.rule is None and new.rule is None:
        return False
    return (old.rule, old.action, old.escalated) != (new.rule, new.action, new.escalated)


@dataclass
class Report:
    conversations: int = 0
    turns: int = 0
    changed: int = 0
    escalated: dict[str, int] = field(default_factory=lambda: {"current": 0, "candidate": 0})
    changes: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, stored: StoredConversation, old: list[Outcome], new: list[Outcome]) -> None:
        self.conversations += 1
        self.turns += len(stored.turns)
        self.escalated["current"] += any(o.escalated for o in old)
        self.escalated["candidate"] += any(o.escalated for o in new)
        example = len(self.examples) < EXAMPLES  # one per conversation: ten conversations, not one
        for message, before, after in zip(stored.turns, old, new, strict=True):
            if not is_change(before, after):
                continue
            self.changed += 1
            move = (before.label(after), after.label(before))
            self.changes[move] += 1
            if example:
                text = mask(message.text) if message.text else f"[{message.kind}]"
                self.examples.append(
                    {"conversation_id": stored.id, "text": text, "from": move[0], "to": move[1]}
                )
                example = False

    def merge(self, other: Report) -> None:
        """Add another part's tally (the conversations after this part's, for the examples' order)."""
        self.conversations += other.conversations
        self.turns += other.turns
        self.changed += other.changed
        for side, count in other.escalated.items():
            self.escalated[side] += count
        self.changes.update(other.changes)
        self.examples = (self.examples + other.examples)[:EXAMPLES]

    def rate(self, side: str, escalated: bool) -> float | None:
        if not self.conversations:
            return None
        count = self.escalated[side]
        return round((count if escalated else self.conversations - count) / self.conversations, 4)

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "turns": self.turns,
            "changed": self.changed,
            "escalation_rate": {s: self.rate(s, True) for s in ("current", "candidate")},
            "containment": {s: self.rate(s, False) for s in ("current", "candidate")},
            "changes": [
                {"from": old, "to": new, "count": count}
                for (old, new), count in sorted(self.changes.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            "examples": self.examples,
            "seconds": round(self.seconds, 3),
        }


def compare(
    current: LoadedRules, candidate: LoadedRules, conversations: Iterable[StoredConversation]
) -> Report:
    """Replay every conversation through both rules and tally what differs."""
    old, new, report = Replayer(current), Replayer(candidate), Report()
    for stored in conversations:
        report.add(stored, old.replay(stored), new.replay(stored))
    return report


def whatif(
    client: redis.Redis,
    current: LoadedRules,
    candidate: LoadedRules,
    last: int = DEFAULT_LAST,
    connect: Callable[[], redis.Redis] | None = None,
) -> Report:
    """The newest `last` stored conversations replayed through `current` and `candidate`.

    Given `connect` (a picklable way to open another client on the same Redis), a large run is split in
    two: this process replays the older half while a forked one reads and replays the newer half.
    """
    started = time.perf_counter()
    ids = Store(client).newest_conversations(last)
    if connect is None or len(ids) < PARALLEL_FROM:
        report = compare(current, candidate, read_conversations(client, ids))
    else:
        middle = len(ids) // 2
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
            newer = pool.submit(_replay_part, connect, current, candidate, ids[middle:])
            report = compare(current, candidate, read_conversations(client, ids[:middle]))
            report.merge(newer.result())
    report.seconds = time.perf_counter() - started
    return report


def _replay_part(
    connect: Callable[[], redis.Redis], current: LoadedRules, candidate: LoadedRules, ids: list[str]
) -> Report:
    client = connect()
    try:
        return compare(current, candidate, read_conversations(client, ids))
    finally:
        client.close()


def render(report: Report) -> str:
    """The report for people: figures, the from→to table, and examples with masked text."""
    data = report.as_dict()
    lines = [
        f"replayed {data['conversations']} conversations, {data['turns']} customer turns "
        f"in {data['seconds']:.1f} s",
        f"turns whose decision changed: {data['changed']}",
    ]
    for name, key in (("escalation rate", "escalation_rate"), ("containment estimate", "containment")):
        lines.append(
            f"{name:22} current {_share(data[key]['current'])}  candidate {_share(data[key]['candidate'])}"
        )
    if data["changes"]:
        width = max(len(c["from"]) for c in data["changes"])
        lines += ["", "changes (from → to: turns)"]
        lines += [f"  {c['from']:{width}} → {c['to']}: {c['count']}" for c in data["changes"]]
        lines += ["", "examples"]
        lines += [
            f"  {e['conversation_id']}  {e['text']!r}: {e['from']} → {e['to']}" for e in data["examples"]
        ]
    else:
        lines.append("the candidate decides every replayed turn as the rules in force do")
    return "\n".join(lines)


def _share(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.1%}"
