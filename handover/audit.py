"""The audit log: who changed what the bot and the desk do (rules reloads and rollbacks, agents added and
removed or changed, a supervisor's assign or move of someone else's conversation), kept 30 days in Redis."""

from __future__ import annotations

import getpass
import json
import socket
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import redis

from handover import keys
from handover.clock import Clock, system_clock

KEPT_SECONDS = 30 * 24 * 3600
MAX_ENTRIES = 100_000  # a bound on memory whatever happens; ops changes are far fewer
HOURS_KEPT = KEPT_SECONDS // 3600


class AuditAction(StrEnum):
    RULES_RELOAD = "rules.reload"
    RULES_ROLLBACK = "rules.rollback"
    AGENTS_ADD = "agents.add"
    AGENTS_REMOVE = "agents.remove"
    AGENTS_SET = "agents.set"  # capacity, queues, languages, skills or numbers changed
    CONVERSATIONS_ASSIGN = (
        "conversations.assign"  # a supervisor gives someone else's conversation to an agent
    )
    CONVERSATIONS_MOVE = "conversations.move"  # a supervisor moves someone else's conversation to a queue
    HOOKS_ADD = "hooks.add"
    HOOKS_REMOVE = "hooks.remove"


@dataclass(frozen=True)
class AuditEntry:
    at: float
    who: str
    action: str
    detail: dict[str, Any] = field(default_factory=dict)


def write(
    client: redis.Redis | redis.client.Pipeline,
    who: str,
    action: AuditAction,
    detail: dict[str, Any],
    clock: Clock = system_clock,
) -> None:
    """Add an entry. Given a pipeline (a transaction), the entry is written with the change it records."""
    at = clock()
    # the nonce keeps two equal entries in the same instant apart (a sorted set holds each member once)
    member = json.dumps(
        {"at": at, "who": who, "action": str(action), "detail": detail, "n": uuid.uuid4().hex[:8]},
        ensure_ascii=False,
        sort_keys=True,
    )
    client.zadd(keys.AUDIT, {member: at})
    client.zremrangebyscore(keys.AUDIT, "-inf", f"({at - KEPT_SECONDS}")
    client.zremrangebyrank(keys.AUDIT, 0, -(MAX_ENTRIES + 1))


def since(client: redis.Redis, hours: int, clock: Clock = system_clock) -> list[AuditEntry]:
    """The entries of the last `hours`, newest first."""
    now = clock()
    raw = client.zrevrangebyscore(keys.AUDIT, "+inf", now - hours * 3600)
    entries = []
    for member in raw:
        data = json.loads(keys.as_text(member))
        entries.append(AuditEntry(data["at"], data["who"], data["action"], data.get("detail") or {}))
    return entries


def cli_user() -> str:
    """Who ran a command, when they did not say (`--by`): the OS user and host, e.g. ana@ops-laptop."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment or the password database (some containers)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
