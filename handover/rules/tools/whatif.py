"""What-if: the customer turns of stored conversations replayed, offline, through the rules in force and a
candidate file, and what the candidate would change (`handover rules whatif`).

Each conversation is replayed turn by turn with its own fresh state, at each turn's own WhatsApp time
(business hours depend on it), against a fixed queue view. Nothing is sent and nothing is written. Once a
replay hands over, the customer waits, as in production (replay.py): heard only for leaving
the queue or asking how long, the rest is for a person and the bot says nothing; after leaving, the next
turn starts anew with the bot. The containment estimate is the share of replayed conversations the bot
never handed over.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import redis

from handover.conversation import Conversation
from handover.masking import mask
from handover.rules.bot import RuleBot
from handover.rules.loader import LoadedRules
from handover.rules.tools.golden import _FixedQueues
from handover.rules.tools.replay import take
from handover.rules.tools.stored import StoredConversation, as_stored, newest_of, read_conversations
from handover.store import Store

DEFAULT_LAST = 1000
EXAMPLES = 10
PARALLEL_FROM = 2000  # below this, starting a second process costs more than it saves
WITH_A_PERSON = "(with a person)"


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


class _AsLived:
    """The identity directory of a replay: the values typed were never stored (see stored.py), so
    it confirms a customer exactly when the real directory did."""

    def __init__(self) -> None:
        self.unconfirmed: frozenset[str] = frozenset()
        self.message_id = ""

    def verify(self, fields: dict[str, str]) -> tuple[str, str | None] | None:
        return None if self.message_id in self.unconfirmed else ("as lived", None)


class Replayer:
    """One side of the comparison: a bot over fixed rules whose clock is the time of the turn it plays."""

    def __init__(self, loaded: LoadedRules) -> None:
        self.loaded = loaded
        self._now = 0.0
        self.directory = _AsLived()
        self.bot = RuleBot(lambda *_: loaded, _FixedQueues(1, 60.0), self.directory, clock=lambda: self._now)

    def replay(self, stored: StoredConversation) -> list[Outcome]:
        """What the bot does with each turn of a fresh conversation; after a handover, what it says to the
        waiting customer (leaving, how long), else a person has it."""
        first = float(stored.turns[0].timestamp)
        customer = stored.customer
        conversation = Conversation.start(customer, first)
        conversation.id = stored.id
        outcomes = []
        self.directory.unconfirmed = stored.unconfirmed
        for message in stored.turns:
            self._now = float(message.timestamp)
            self.directory.message_id = message.id
            taken = take(self.bot, conversation, message, self._now)
            conversation, decision = taken.conversation, taken.decision
            if decision is None:
                outcomes.append(WITH_PERSON)
                continue
            escalated = taken.turn is not None and taken.turn.escalation is not None
            outcomes.append(Outcome(decision.rule, decision.action, escalated))
        return outcomes


def is_change(old: Outcome, new: Outcome) -> bool:
    """A turn some bot handled whose decision (rule, action) or handover differs between the sides."""
    if old.rule is None and new.rule is None:
        return False
    return (old.rule, old.action, old.escalated) != (new.rule, new.action, new.escalated)


@dataclass
class Report:
    """The tally of a what-if run; `as_dict` is the `--json` shape."""

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
                said = as_stored(message)
                text = mask(said) if said else f"[{message.kind}]"
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
    number: str | None = None,
) -> Report:
    """The newest `last` stored conversations (of the business `number` if given) replayed through
    `current` and `candidate`.

    Given `connect` (a picklable way to open another client on the same Redis), a large run is split in
    two: this process replays the older half while a forked one reads and replays the newer half.
    """
    started = time.perf_counter()
    ids = Store(client).newest_conversations(last) if number is None else newest_of(client, number, last)
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
