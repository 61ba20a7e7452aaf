"""First contact resolution: which resolved conversations' customers came back within `kpis.fcr_days`.

Nothing is remembered per customer beyond what the conversations already hold: a customer's current
conversation is where they come back to. So
- a resolution is counted when it happens, in the FCR bucket `hv:fcr:<hour>` of its hour (lua/finish.lua:
  `resolved`, `queue:<q>:resolved`, `agent:<id>:resolved`); the bot's containments are already counted per
  rules version in the bot's buckets (`k|<version>`, handover/botstats.py);
- when that customer's next message reopens the conversation (within `reopen_within_seconds`: never first
  contact) or starts a new one within `fcr_days` of the resolution, the resolution "came back": counted in
  the bucket of the hour it was resolved (`came_back`, per queue and agent; `r|<version>` in the bot's
  bucket for a containment). A conversation is replaced when the customer comes back, so it counts once.

A containment the day-of-silence sweep (botstats.end_idle) finds only after the customer already wrote
again is counted contained but not come back: the sweep runs every minute, so only a return within that
minute (or while the workers were down) is missed.

FCR buckets are kept TTL_SECONDS (the longest `fcr_days` plus the 8 days the stats read, plus a day): a
resolution can be marked as come back until `fcr_days` after it, and read for 8 days after that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import redis
from pydantic import BaseModel

from handover import botstats, keys, kpis
from handover.conversation import Conversation, ConversationState
from handover.rules.model import Rules

DAY = 86400
FCR_DAYS_MAX = 30  # the rules' kpis.fcr_days may not be longer (handover/rules/model.py)
STATS_DAYS = 8  # handover/kpis.py HOURS_KEPT
TTL_SECONDS = (FCR_DAYS_MAX + STATS_DAYS + 1) * DAY  # lua/finish.lua FCR_TTL (test_lua_registry.py)
DEFAULT_FCR_DAYS = 7
CAME_BACK = "came_back"
BOT_CAME_BACK = "r"  # the bot's buckets: r|<version>, next to k|<version> (contained)


@dataclass(frozen=True)
class Return:
    """A customer came back after a resolution: count it in the hour it was resolved."""

    kind: Literal["agent", "bot"]
    hour: int  # the resolution's hour (hours since the epoch)
    queue: str | None = None
    agent_id: str | None = None
    version: str | None = None  # the rules version that contained it (bot)


def windows(rules: Rules | None) -> tuple[int, int]:
    """(fcr_days, reopen_within_seconds) of the rules in force (the defaults without rules)."""
    if rules is None:
        return DEFAULT_FCR_DAYS, 0
    return rules.kpis.fcr_days, rules.reopen_within_seconds


def returns(previous: Conversation | None, sent_at: float, now: float, rules: Rules | None) -> list[Return]:
    """What a customer message coming to `previous` (their current conversation, before this message)
    says about first contact resolution: nothing, unless it reopens or replaces a resolved conversation
    (or one the bot contained) within fcr_days."""
    if previous is None:
        return []
    fcr_days, reopen_within = windows(rules)
    ended_with_bot = previous.idle_with_bot(sent_at, botstats.IDLE_SECONDS)
    if previous.state != ConversationState.RESOLVED and not ended_with_bot:
        return []
    found = []
    resolved_at, contained_at = previous.resolved_at, previous.bot_outcome_at
    by_agent = previous.state == ConversationState.RESOLVED and previous.agent_id is not None
    if by_agent and resolved_at is not None and now - resolved_at <= max(fcr_days * DAY, reopen_within):
        found.append(Return("agent", int(resolved_at // 3600), previous.queue, previous.agent_id))
    contained = previous.bot_outcome == "contained" and contained_at is not None
    if contained and contained_at is not None and now - contained_at <= fcr_days * DAY:
        version = previous.bot_outcome_version or "none"
        found.append(Return("bot", int(contained_at // 3600), version=version))
    return found


def write(pipe: Any, found: list[Return]) -> None:
    """Queue the counts of customers who came back on the caller's transaction."""
    for back in found:
        if back.kind == "bot":
            key = keys.bot_hour_key(back.hour)
            pipe.hincrby(key, botstats.field(BOT_CAME_BACK, back.version or "none"), 1)
            pipe.expire(key, botstats.TTL_SECONDS)
            continue
        key = keys.fcr_hour_key(back.hour)
        pipe.hincrby(key, CAME_BACK, 1)
        if back.queue:
            pipe.hincrby(key, kpis.queue_prefix(back.queue) + CAME_BACK, 1)
        if back.agent_id:
            pipe.hincrby(key, kpis.agent_prefix(back.agent_id) + CAME_BACK, 1)
        pipe.expire(key, TTL_SECONDS)
        pipe.hincrby(keys.COUNTERS, f"fcr_{CAME_BACK}", 1)


def settled(hour: int, now: float, fcr_days: int) -> bool:
    """Whether the resolutions of `hour` are final: its end is fcr_days old, nobody can come back to them
    any more. Until then they are pending: the hour's FCR can still fall."""
    return (hour + 1) * 3600 + fcr_days * DAY <= now


class VersionFcr(BaseModel):
    """First contact resolution of what one rules version contained (the bot alone ended it)."""

    version: str
    contained: int
    came_back: int  # their customers wrote again within fcr_days, in a new conversation
    pending: int  # contained less than fcr_days ago and not back yet
    fcr: float | None  # 1 - came_back / contained; provisional while pending > 0


class BotStatsWithFcr(botstats.BotStats):
    fcr_days: int
    fcr_by_version: list[VersionFcr]  # most contained first


def bot_stats(
    client: redis.Redis, hours: int, now: float, fcr_days: int, rules_version: str | None = None
) -> BotStatsWithFcr:
    """The bot's stats (handover/botstats.py) with the FCR of its containments per rules version."""
    stats = botstats.last_hours(client, hours, now, rules_version)
    current = botstats.hour_of(now)
    buckets = list(range(current - hours + 1, current + 1))
    with client.pipeline(transaction=False) as pipe:
        for hour in buckets:
            pipe.hgetall(keys.bot_hour_key(hour))
        found = pipe.execute()
    sums: dict[str, list[int]] = {}  # version -> [contained, came back, pending]
    for hour, bucket in zip(buckets, found, strict=True):
        counts: dict[str, list[int]] = {}
        for raw, value in bucket.items():
            kind, version, *_ = keys.as_text(raw).split(botstats.SEP)
            if kind in ("k", BOT_CAME_BACK) and (rules_version is None or version.startswith(rules_version)):
                counts.setdefault(version, [0, 0])[kind == BOT_CAME_BACK] += int(value)
        for version, (contained, back) in counts.items():
            back = min(back, contained)
            total = sums.setdefault(version, [0, 0, 0])
            total[0] += contained
            total[1] += back
            total[2] += 0 if settled(hour, now, fcr_days) else contained - back
    by_version = [
        VersionFcr(
            version=version,
            contained=contained,
            came_back=back,
            pending=pending,
            fcr=round((contained - back) / contained, 4) if contained > 0 else None,
        )
        for version, (contained, back, pending) in sorted(sums.items(), key=lambda kv: (-kv[1][0], kv[0]))
        if contained > 0
    ]
    return BotStatsWithFcr(**stats.model_dump(), fcr_days=fcr_days, fcr_by_version=by_version)
