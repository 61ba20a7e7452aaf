"""Agents in Redis: their languages and skills, and changing what they take (`AgentStore.update`) in one
transaction with its audit entry and the desk event an assigner waits for."""

from __future__ import annotations

import json

import fakeredis
import pytest
from pydantic import ValidationError

from desk.models import AgentView
from handover import audit, keys
from handover.agents import MAX_CAPACITY, AgentStore, Presence, Role, UnknownAgent
from handover.clock import FixedClock


@pytest.fixture
def client():
    return fakeredis.FakeRedis(decode_responses=True)


@pytest.fixture
def store(client):
    return AgentStore(client, clock=lambda: 1000.0)


def events(client) -> list[dict[str, object]]:
    return [{**fields, "data": json.loads(fields["data"])} for _, fields in client.xrange(keys.DESK_EVENTS)]


def test_an_agent_has_the_languages_and_skills_they_were_added_with(store, client):
    agent, _ = store.add(
        "Ana", ["general"], 3, Role.AGENT, by="ops", languages=["pt", "en"], skills=["cards", "disputes"]
    )
    assert (store.get(agent.id).languages, store.get(agent.id).skills) == (
        ["pt", "en"],
        ["cards", "disputes"],
    )
    [added] = audit.since(client, 1, clock=FixedClock(1000.0))
    assert added.detail["languages"] == ["pt", "en"] and added.detail["skills"] == ["cards", "disputes"]


def test_agents_stored_before_languages_and_skills_load_with_none(store, client):
    old = {"id": "ag_old", "name": "Old", "queues": ["general"], "capacity": 2, "role": "agent"}
    client.hset(keys.agent_key("ag_old"), mapping={"json": json.dumps({**old, "created_at": 1.0})})
    client.sadd(keys.AGENTS, "ag_old")
    agent = store.get("ag_old")
    assert (agent.languages, agent.skills, agent.capacity) == ([], [], 2)
    assert [a.id for a in store.all()] == ["ag_old"]


def test_update_changes_only_what_is_given_audits_it_and_tells_the_desks(store, client):
    agent, _ = store.add("Ana", ["general"], 3, Role.AGENT, languages=["pt"], skills=["cards"])
    store.set_status(agent.id, Presence.AVAILABLE)
    client.delete(keys.DESK_EVENTS)

    changed = store.update(agent.id, capacity=5, skills=["cards", "returns"], by="bia@ops")

    assert store.get(agent.id) == changed
    assert (changed.capacity, changed.skills) == (5, ["cards", "returns"])
    assert (changed.queues, changed.languages, changed.name, changed.status) == (
        ["general"],
        ["pt"],
        "Ana",
        Presence.AVAILABLE,
    )
    [entry] = audit.since(client, 1)
    assert (entry.who, entry.action, entry.detail) == (
        "bia@ops",
        "agents.set",
        {"id": agent.id, "name": "Ana", "capacity": 5, "skills": ["cards", "returns"]},
    )
    assert events(client) == [
        {
            "type": "agent_status",
            "conversation_id": "",
            "agent_id": agent.id,
            "queue": "",
            "data": {"status": "available", "why": "updated"},
        }
    ]


def test_update_can_clear_languages_and_skills_and_move_queues(store):
    agent, _ = store.add("Ana", ["general"], 3, Role.AGENT, languages=["pt"], skills=["cards"])
    changed = store.update(agent.id, queues=["billing", "senior"], languages=[], skills=[])
    assert (changed.queues, changed.languages, changed.skills) == (["billing", "senior"], [], [])
    assert store.get(agent.id).queues == ["billing", "senior"]


def test_update_of_an_unknown_agent_raises_and_writes_nothing(store, client):
    with pytest.raises(UnknownAgent):
        store.update("ag_nobody", capacity=4, by="ops")
    assert not client.exists(keys.agent_key("ag_nobody"), keys.DESK_EVENTS, keys.AUDIT)


@pytest.mark.parametrize(
    "change",
    [{"capacity": 0}, {"capacity": MAX_CAPACITY + 1}, {"skills": ["Not A Name"]}],
    ids=["capacity-zero", "capacity-too-high", "skill-not-a-name"],
)
def test_update_out_of_bounds_is_refused_and_writes_nothing(store, client, change):
    agent, _ = store.add("Ana", ["general"], 3, Role.AGENT)
    before = client.hget(keys.agent_key(agent.id), "json")
    with pytest.raises(ValidationError):
        store.update(agent.id, **change, by="ops")
    assert client.hget(keys.agent_key(agent.id), "json") == before
    assert not client.exists(keys.DESK_EVENTS, keys.AUDIT)


def test_the_desk_shows_agents_languages_and_skills(store):
    agent, _ = store.add("Ana", ["general"], 3, Role.AGENT, languages=["pt"], skills=["cards"])
    view = AgentView.of(store.get(agent.id), load=1).model_dump()
    assert {k: view[k] for k in ("languages", "skills", "capacity", "load")} == {
        "languages": ["pt"],
        "skills": ["cards"],
        "capacity": 3,
        "load": 1,
    }


def test_an_agent_serves_the_numbers_given_and_every_number_when_none(store, client):
    scoped, _ = store.add("Ana", ["general"], 3, Role.AGENT, by="ops", numbers=["111", "222"])
    everyone, _ = store.add("Bia", ["general"], 3, Role.SUPERVISOR, by="ops")
    assert store.get(scoped.id).numbers == ["111", "222"]
    assert (store.get(scoped.id).serves("222"), store.get(scoped.id).serves("333")) == (True, False)
    assert store.get(everyone.id).numbers == [] and store.get(everyone.id).serves("333")
    added = {e.detail["name"]: e.detail for e in audit.since(client, 1, clock=FixedClock(1000.0))}
    assert added["Ana"]["numbers"] == ["111", "222"] and "numbers" not in added["Bia"]
    assert AgentView.of(store.get(scoped.id), load=0).numbers == ["111", "222"]


def test_update_moves_an_agent_to_other_numbers_and_back_to_every_number(store, client):
    agent, _ = store.add("Ana", ["general"], 3, Role.AGENT, numbers=["111"])
    assert store.update(agent.id, numbers=["222"], by="ops").numbers == ["222"]
    assert not store.get(agent.id).serves("111")
    [changed] = audit.since(client, 1, clock=FixedClock(1000.0))
    assert (changed.action, changed.detail["numbers"]) == ("agents.set", ["222"])
    assert store.update(agent.id, numbers=[]).numbers == []
    assert store.get(agent.id).serves("111")
