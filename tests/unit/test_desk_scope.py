"""Business numbers on the desk, without HTTP: who a person of some numbers sees, the queues' figures once
they say their number, and the event hub telling them only of their numbers (its lookups remembered, an
agent's forgotten when `agents set` changes them). The routes are tried in
tests/integration/test_desk_isolation.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import fakeredis

from desk import live, scope
from handover import keys
from handover.agents import AgentStore, Role
from handover.events import publish


@dataclass
class Figures:
    name: str
    number: str | None = None


def person(store: AgentStore, name: str, numbers: list[str], role: Role = Role.SUPERVISOR):
    agent, _ = store.add(name, ["general"], 3, role, numbers=numbers)
    return agent


def test_a_person_of_some_numbers_sees_their_colleagues_and_their_queues_only():
    store = AgentStore(fakeredis.FakeRedis(decode_responses=True))
    a = person(store, "a", ["111"])
    b = person(store, "b", ["222"])
    both, everyone, admin = (
        person(store, "ab", ["111", "222"]),
        person(store, "all", []),
        person(store, "admin", ["222"], Role.ADMIN),
    )
    team = [a, b, both, everyone, admin]
    assert [p.name for p in scope.colleagues(a, team)] == ["a", "ab", "all", "admin"]
    assert scope.colleagues(everyone, team) == team and scope.colleagues(admin, team) == team
    assert (scope.is_scoped(a), scope.is_scoped(everyone), scope.is_scoped(admin)) == (True, False, False)
    queues = [Figures("general", "111"), Figures("general", "222"), Figures("legacy")]
    assert scope.of_numbers(a, queues) == [Figures("general", "111"), Figures("legacy")]
    assert scope.of_numbers(admin, queues) == queues


async def test_the_hub_hands_a_stream_of_some_numbers_only_their_numbers_events():
    server = fakeredis.FakeServer()
    client = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    sync = fakeredis.FakeRedis(server=server, decode_responses=True)
    store = AgentStore(sync)
    colleague_b = person(store, "b", ["222"], Role.AGENT)
    for conversation_id, number in [("c_a", "111"), ("c_b", "222")]:
        sync.hset(keys.conversation_key(conversation_id), "phone_number_id", number)
    hub = live.EventHub(client, block_ms=50)
    of_a, of_all = hub.join("ag_a", supervisor=True, numbers=["111"]), hub.join("ag_all", supervisor=True)
    await hub.start()

    def tell(*events: tuple[str, str, str]) -> None:
        with sync.pipeline() as pipe:
            for kind, conversation_id, agent_id in events:
                publish(pipe, kind, conversation_id, agent_id=agent_id, why="x")  # type: ignore[arg-type]
            pipe.execute()

    async def heard(subscriber: live.Subscriber, count: int) -> list[str]:
        got = [(await asyncio.wait_for(subscriber.inbox.get(), 10))[1] for _ in range(count)]
        return [e["conversation_id"] or e["agent_id"] for e in got]

    tell(
        ("note_added", "c_b", ""),
        ("agent_status", "", colleague_b.id),
        ("note_added", "gone", ""),
        ("note_added", "c_a", ""),
    )
    assert await heard(of_a, 1) == ["c_a"]
    assert await heard(of_all, 4) == ["c_b", colleague_b.id, "gone", "c_a"]
    store.update(colleague_b.id, numbers=["111", "222"])  # publishes agent_status why "updated"
    tell(("agent_status", "", colleague_b.id))
    assert await heard(of_a, 2) == [colleague_b.id, colleague_b.id]  # looked up again, now a colleague
    assert hub._numbers == {"c_a": "111", "c_b": "222"}  # remembered (a conversation's never changes)
    await hub.stop()
