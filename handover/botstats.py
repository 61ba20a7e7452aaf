"""What the bot does, measured: per rule and per rules version, by the hour, kept 30 days.

Every hour is a Redis hash `hv:bot:<hours since the epoch>`, written in the same transaction as the
decisions it counts (traffic/processing.py), with fields named `<what>|<rules version>[|<rule>[|<reason>]]`:

    d|<v>|<rule>           decisions a rule made
    e|<v>|<rule>|<reason>  escalations, by the rule (intent or trigger) and reason
    u|<v>                  messages no rule understood
    a|<v>                  acknowledgements ("ok", "👍"): not a miss, nothing to answer
    c|<v>                  conversations the bot started
    x|<v>                  conversations that ended: handed over, or ended with the bot (below)
    k|<v>                  ... of which contained: ended with the bot, never handed over
    s|<v>|<score>          satisfaction answers of conversations that were handed over

A conversation's outcome is counted once, when the first of these happens:
- it is handed over (ended, not contained);
- the customer thanks or acknowledges after the bot answered a topic, with nothing pending (contained);
- nobody wrote for 24 hours after the bot's last answer (contained; `end_idle` finds them).
A conversation counted contained that is handed over later after all is taken back out of `k`.

What customers wrote that no rule caught, and the last message before "the bot could not help" handovers,
go to two capped streams, already grouped and masked (handover/masking.py): no CPF is kept there.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import redis
from pydantic import BaseModel
from redis.client import Pipeline

from handover import keys
from handover.bot import Decision, EscalationDecision
from handover.masking import group_key
from handover.unit import guarded

DAYS_KEPT = 30
HOURS_KEPT = DAYS_KEPT * 24
TTL_SECONDS = (HOURS_KEPT + 1) * 3600
IDLE_SECONDS = 24 * 3600  # no customer message for this long after the bot's last answer: ended
GROUP_IDS = 5
SEP = "|"
ACKNOWLEDGED = "acknowledgements"

MissedKind = Literal["unrecognized", "could_not_help"]


def hour_of(at: float) -> int:
    return int(at // 3600)


def field(*parts: str) -> str:
    return SEP.join(parts)


@dataclass(frozen=True)
class Outcome:
    """A conversation's outcome to count, and a containment to take back if it was counted earlier."""

    outcome: Literal["contained", "escalated"]
    version: str
    at: float
    taken_back: tuple[str, float] | None = None  # (version, at) of a containment counted before


@dataclass(frozen=True)
class Missed:
    kind: MissedKind
    conversation_id: str
    text: str
    at: float


@dataclass
class Tally:
    """One batch's bot figures, queued on the batch's transaction by `write`."""

    decisions: list[Decision]
    escalations: list[EscalationDecision]
    started: list[Decision]  # the first decision of each conversation the batch started
    outcomes: list[Outcome]
    missed: list[Missed]
    csat: list[tuple[str, int, float]]  # (rules version of the handover, score, when answered)


def write(pipe: Pipeline, tally: Tally) -> None:
    sums: dict[int, Counter[str]] = defaultdict(Counter)
    rules: Counter[str] = Counter()
    for d in tally.decisions:
        sums[hour_of(d.at)][field("d", d.rules_version, d.rule)] += 1
        rules[d.rule] += 1
        if d.action == "unrecognized":
            sums[hour_of(d.at)][field("u", d.rules_version)] += 1
        if d.rule == ACKNOWLEDGED:
            sums[hour_of(d.at)][field("a", d.rules_version)] += 1
    for e in tally.escalations:
        sums[hour_of(e.at)][field("e", e.rules_version, e.rule, e.reason)] += 1
    for d in tally.started:
        sums[hour_of(d.at)][field("c", d.rules_version)] += 1
    for o in tally.outcomes:
        sums[hour_of(o.at)][field("x", o.version)] += 1
        if o.outcome == "contained":
            sums[hour_of(o.at)][field("k", o.version)] += 1
        if o.taken_back is not None:
            version, at = o.taken_back
            sums[hour_of(at)][field("k", version)] -= 1
            sums[hour_of(at)][field("x", version)] -= 1  # it ends once: now, handed over
    for version, score, at in tally.csat:
        sums[hour_of(at)][field("s", version, str(score))] += 1
    for hour, counts in sums.items():
        _bump(pipe, hour, counts)
    for rule, n in rules.items():
        pipe.hincrby(keys.COUNTERS, f"bot_decisions:{rule}", n)
    for m in tally.missed:
        pipe.xadd(
            keys.bot_missed_key(m.kind),
            {"t": group_key(m.text), "c": m.conversation_id, "a": str(m.at)},
            maxlen=keys.BOT_MISSED_KEPT,
            approximate=True,
        )


def _bump(pipe: Any, hour: int, counts: Counter[str]) -> None:
    key = keys.bot_hour_key(hour)
    for name, n in counts.items():
        if n:
            pipe.hincrby(key, name, n)
    pipe.expire(key, TTL_SECONDS)


# ending idle conversations


def note_answered(pipe: Pipeline, conversation_id: str, at: float) -> None:
    """The bot answered: the conversation ends with the bot if nobody writes for IDLE_SECONDS."""
    pipe.zadd(keys.BOT_IDLE, {conversation_id: at})


def forget_idle(pipe: Pipeline, conversation_id: str) -> None:
    pipe.zrem(keys.BOT_IDLE, conversation_id)


def end_idle(client: redis.Redis, now: float, limit: int = 500) -> int:
    """Count as contained the conversations nobody wrote in for IDLE_SECONDS after the bot's last answer
    (never handed over: a handover takes them off the idle set). Returns how many ended."""
    due = [keys.as_text(c) for c in client.zrangebyscore(keys.BOT_IDLE, "-inf", now - IDLE_SECONDS, 0, limit)]
    return sum(_end(client, conversation_id, now) for conversation_id in due)


def _end(client: redis.Redis, conversation_id: str, now: float) -> int:
    key = keys.conversation_key(conversation_id)
    try:
        with guarded(client, key) as pipe:  # the worker may hand it over meanwhile: then this one gives way
            state, outcome = (keys.as_text(v) for v in pipe.hmget(key, ["state", "bot_outcome"]))
            latest = pipe.lindex(keys.decisions_key(conversation_id), 0)
            pipe.multi()
            pipe.zrem(keys.BOT_IDLE, conversation_id)
            if outcome is None and state in ("bot", "resolved"):
                version = Decision.model_validate_json(latest).rules_version if latest else "none"
                fields = {"bot_outcome": "contained", "bot_outcome_at": now, "bot_outcome_version": version}
                pipe.hset(key, mapping=fields)
                _bump(pipe, hour_of(now), Counter({field("x", version): 1, field("k", version): 1}))
    except redis.WatchError:
        return 0  # changed under us: the next sweep looks again
    return int(outcome is None and state in ("bot", "resolved"))


# reading


class Csat(BaseModel):
    answers: int
    average_score: float | None
    by_score: dict[str, int]


class Totals(BaseModel):
    decisions: int
    escalations: int
    unrecognized: int
    acknowledgements: int
    conversations: int
    ended: int
    contained: int
    containment: float | None  # contained / ended
    escalation_rate: float | None  # handed over / ended (the rest of the ended were contained)
    escalated_csat: Csat


class RuleCount(BaseModel):
    rule: str
    decisions: int
    escalations: int


class Hour(BaseModel):
    hour: float  # its start, Unix seconds
    decisions: int
    escalations: int
    unrecognized: int
    conversations: int
    ended: int
    contained: int
    containment: float | None
    escalation_rate: float | None


class VersionSeen(BaseModel):
    version: str
    first_hour: float
    decisions: int


class BotStats(BaseModel):
    """The last `hours` hours, the current one included (GET /api/v1/bot/stats)."""

    hours: int
    since: float
    rules_version: str | None
    totals: Totals
    rules: list[RuleCount]  # most decisions first
    escalations_by_reason: dict[str, int]
    escalations_by_trigger: dict[str, int]
    hourly: list[Hour]
    versions: list[VersionSeen]


class _Sums:
    def __init__(self) -> None:
        self.n: Counter[str] = Counter()
        self.rules: Counter[str] = Counter()
        self.escalated_rules: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.scores: Counter[str] = Counter()

    def add(self, kind: str, rest: list[str], value: int) -> None:
        self.n[kind] += value
        if kind == "d":
            self.rules[rest[0]] += value
        elif kind == "e" and len(rest) >= 2:
            self.escalated_rules[rest[0]] += value
            self.reasons[rest[1]] += value
        elif kind == "s":
            self.scores[rest[0]] += value

    def figures(self) -> dict[str, Any]:
        """What an hour and the totals both say."""
        n = self.n
        return {
            "decisions": n["d"],
            "escalations": n["e"],
            "unrecognized": n["u"],
            "conversations": n["c"],
            "ended": n["x"],
            "contained": n["k"],
            "containment": _share(n["k"], n["x"]),
            "escalation_rate": _share(n["x"] - n["k"], n["x"]),
        }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


def last_hours(client: redis.Redis, hours: int, now: float, rules_version: str | None = None) -> BotStats:
    current = hour_of(now)
    buckets = list(range(current - hours + 1, current + 1))
    with client.pipeline(transaction=False) as pipe:
        for hour in buckets:
            pipe.hgetall(keys.bot_hour_key(hour))
        found = pipe.execute()
    total = _Sums()
    hourly: list[Hour] = []
    first_seen: dict[str, tuple[int, int]] = {}  # version -> (first hour, decisions)
    for hour, bucket in zip(buckets, found, strict=True):
        sums = _Sums()
        for raw, value in bucket.items():
            kind, version, *rest = keys.as_text(raw).split(SEP)
            count = int(value)
            if kind == "d" and count:
                first, seen = first_seen.get(version, (hour, 0))
                first_seen[version] = (first, seen + count)
            if rules_version is not None and not version.startswith(rules_version):
                continue
            sums.add(kind, rest, count)
            total.add(kind, rest, count)
        hourly.append(Hour(hour=float(hour * 3600), **sums.figures()))
    n = total.n
    answers = sum(total.scores.values())
    weighted = sum(int(s) * c for s, c in total.scores.items() if s.lstrip("-").isdigit())
    return BotStats(
        hours=hours,
        since=float(buckets[0] * 3600),
        rules_version=rules_version,
        totals=Totals(
            **total.figures(),
            acknowledgements=n["a"],
            escalated_csat=Csat(
                answers=answers,
                average_score=round(weighted / answers, 2) if answers else None,
                by_score=dict(sorted(total.scores.items())),
            ),
        ),
        rules=[
            RuleCount(rule=rule, decisions=count, escalations=total.escalated_rules[rule])
            for rule, count in sorted(total.rules.items(), key=lambda item: (-item[1], item[0]))
        ],
        escalations_by_reason=dict(total.reasons.most_common()),
        escalations_by_trigger=dict(total.escalated_rules.most_common()),
        hourly=hourly,
        versions=[
            VersionSeen(version=v, first_hour=float(first * 3600), decisions=count)
            for v, (first, count) in sorted(first_seen.items(), key=lambda item: item[1][0])
        ],
    )


class MissedGroup(BaseModel):
    text: str  # normalised and masked
    count: int
    last_seen: float
    conversations: list[str]  # up to five, newest first


class Unrecognized(BaseModel):
    """GET /api/v1/bot/unrecognized: what no rule caught, and what came before 'the bot could not help'."""

    hours: int
    unrecognized: list[MissedGroup]
    could_not_help: list[MissedGroup]


def missed(client: redis.Redis, hours: int, now: float, top: int = 100) -> Unrecognized:
    since = now - hours * 3600
    return Unrecognized(
        hours=hours,
        unrecognized=_groups(client, "unrecognized", since, top),
        could_not_help=_groups(client, "could_not_help", since, top),
    )


def _newest(
    client: redis.Redis, kind: MissedKind, since: float, chunk: int = 1000
) -> Iterator[dict[str, str]]:
    """The stream's entries newest first, down to `since` (by the workers' clock, which the entries carry)."""
    end = "+"
    while True:
        entries = client.xrevrange(keys.bot_missed_key(kind), end, "-", count=chunk)
        for _, data in entries:
            fields = {keys.as_text(k): keys.as_text(v) for k, v in data.items()}
            if float(fields.get("a", 0)) < since:
                return
            yield fields
        if len(entries) < chunk:
            return
        end = "(" + keys.as_text(entries[-1][0])


def _groups(client: redis.Redis, kind: MissedKind, since: float, top: int) -> list[MissedGroup]:
    groups: dict[str, MissedGroup] = {}
    for fields in _newest(client, kind, since):
        text, conversation, at = fields.get("t", ""), fields.get("c", ""), float(fields.get("a", 0))
        group = groups.get(text)
        if group is None:
            group = groups[text] = MissedGroup(text=text, count=0, last_seen=at, conversations=[])
        group.count += 1
        if conversation and conversation not in group.conversations and len(group.conversations) < GROUP_IDS:
            group.conversations.append(conversation)
    ranked = sorted(groups.values(), key=lambda g: (-g.count, -g.last_seen, g.text))
    return ranked[:top]
