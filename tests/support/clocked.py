"""What the clock tests share (tests/unit/test_clocks.py, tests/unit/test_idle_clock.py): the shipped rules
with a queue's clock settings on top, a world with its clock watch, a conversation held or answered by an
agent, and what the customer and the desk were told."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from handover import keys
from handover.agents import Agent
from handover.clockwatch import ClockWatch
from handover.conversation import Conversation
from handover.rules.loader import LoadedRules, parse_rules
from tests.support.world import CONFIG, T0, World

ASK = "quero falar com um atendente"
WA = "5511900000001"


def rules(top: dict[str, Any] | None = None, drop: tuple[str, ...] = (), **general: Any) -> LoadedRules:
    """The shipped rules, `general` open at all hours unless told, with `general`'s settings on top;
    `drop`: messages the rules do not have."""
    data = yaml.safe_load(Path(CONFIG / "rules.yaml").read_text(encoding="utf-8"))
    data["queues"]["general"].pop("business_hours")
    data["queues"]["general"] |= general
    for name in drop:
        data["messages"].pop(name)
    for key, value in (top or {}).items():
        data[key] = data[key] | value if isinstance(value, dict) else value
    return parse_rules(yaml.safe_dump(data, allow_unicode=True), str(CONFIG / "rules.yaml"))


def setup(loaded: LoadedRules | None = None) -> tuple[World, ClockWatch]:
    world = World(rules=loaded or rules())
    return world, ClockWatch(world.store, world.loaded, world.partitions, world.clock)


async def held_by(world: World, name: str = "Ana", wa: str = WA) -> tuple[Conversation, Agent]:
    agent = world.available_agent(name, ["general"])
    await world.says(wa, ASK)
    taken = world.assignments.claim_next(agent)
    assert taken is not None
    return taken, agent


def events_of(world: World, kind: str) -> list[dict[str, str]]:
    return [fields for _, fields in world.sync.xrange(keys.DESK_EVENTS) if fields["type"] == kind]


def system_said(world: World, conversation_id: str) -> list[str]:
    return [e.text or e.kind for e in world.store.transcript(conversation_id) if e.author == "system"]


def counted(world: World, name: str) -> int:
    return int(world.sync.hget(keys.COUNTERS, name) or 0)


def sweep_at(world: World, watch: ClockWatch, seconds: float) -> dict[str, int]:
    world.clock.now = T0 + seconds
    return {k: v for k, v in watch.sweep().items() if v}


async def answered(world: World) -> tuple[Conversation, Agent]:
    conversation, ana = await held_by(world)
    world.assignments.send(ana, conversation.id, "Pronto, resolvido. Algo mais?")
    return conversation, ana
