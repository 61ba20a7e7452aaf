"""The audit log: entries kept newest first for 30 days, written with the change they record where the code
allows (agents added and removed, a supervisor's move of someone else's conversation)."""

from __future__ import annotations

import fakeredis
import pytest

from handover import audit, keys
from handover.agents import AgentStore, Role
from handover.audit import AuditAction
from handover.clock import FixedClock

DAY = 24 * 3600.0


@pytest.fixture
def client():
    return fakeredis.FakeRedis(decode_responses=True)


def test_entries_are_read_newest_first_within_the_hours_asked(client):
    now = 10 * DAY
    audit.write(
        client,
        "ana@laptop",
        AuditAction.RULES_RELOAD,
        {"version": "a" * 12},
        clock=FixedClock(now - 5 * 3600),
    )
    audit.write(
        client, "ana@laptop", AuditAction.RULES_ROLLBACK, {"version": "b" * 12}, clock=FixedClock(now - 3600)
    )
    audit.write(client, "bia@ops", AuditAction.AGENTS_ADD, {"id": "ag_1"}, clock=FixedClock(now - 60))
    recent = audit.since(client, 2, clock=FixedClock(now))
    assert [(e.action, e.who) for e in recent] == [
        ("agents.add", "bia@ops"),
        ("rules.rollback", "ana@laptop"),
    ]
    assert [e.action for e in audit.since(client, 24, clock=FixedClock(now))] == [
        "agents.add",
        "rules.rollback",
        "rules.reload",
    ]
    assert recent[1].detail == {"version": "b" * 12} and recent[1].at == now - 3600


def test_two_equal_entries_in_the_same_instant_are_both_kept(client):
    for _ in range(2):
        audit.write(client, "ana", AuditAction.AGENTS_REMOVE, {"id": "ag_1"}, clock=FixedClock(100.0))
    assert len(audit.since(client, 1, clock=FixedClock(101.0))) == 2


def test_entries_older_than_30_days_go(client):
    audit.write(client, "ana", AuditAction.RULES_RELOAD, {}, clock=FixedClock(DAY))
    audit.write(client, "ana", AuditAction.RULES_RELOAD, {}, clock=FixedClock(DAY + audit.KEPT_SECONDS + 1))
    assert client.zcard(keys.AUDIT) == 1


def test_entries_are_capped(client, monkeypatch):
    monkeypatch.setattr(audit, "MAX_ENTRIES", 3)
    for i in range(5):
        audit.write(client, "ana", AuditAction.RULES_RELOAD, {"n": i}, clock=FixedClock(100.0 + i))
    assert [e.detail["n"] for e in audit.since(client, 1, clock=FixedClock(110.0))] == [4, 3, 2]


def test_agents_added_and_removed_are_audited_with_who(client):
    store = AgentStore(client)
    agent, _ = store.add("Carla", ["general"], 3, Role.SUPERVISOR, by="ana@laptop")
    store.retire(
        agent.id, by="bia@ops"
    )  # removal's first step (handover/assignment/removal.py) is the audited one
    store.add("Nobody said", ["general"], 3, Role.AGENT)  # the desk's own demo agents: not audited
    removed, added = audit.since(client, 1)
    assert (added.who, added.action, added.detail) == (
        "ana@laptop",
        "agents.add",
        {"id": agent.id, "name": "Carla", "role": "supervisor", "queues": ["general"]},
    )
    assert (removed.who, removed.action, removed.detail) == (
        "bia@ops",
        "agents.remove",
        {"id": agent.id, "name": "Carla"},
    )


def test_the_cli_user_is_user_at_host():
    user, _, host = audit.cli_user().partition("@")
    assert user and host
