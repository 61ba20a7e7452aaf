"""Push queues on a fake Redis: the assigner gives waiting conversations to suitable free agents, offers
time out and move on, and nothing goes past capacity or to two agents (handover/assignment/push.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from handover import keys, kpis
from handover.agents import Presence, Role
from handover.assignment.push import Assigner
from handover.conversation import ConversationState
from handover.errors import Conflict, NotYours
from handover.rules.loader import LoadedRules, parse_rules
from handover.transfers import TransferRequest
from tests.support.world import CONFIG, PNID, World

ASK = "quero falar com um atendente"


def push_rules(**general: Any) -> LoadedRules:
    """The shipped rules with `general` made a push queue (`general` overrides its settings)."""
    data = yaml.safe_load(Path(CONFIG / "rules.yaml").read_text(encoding="utf-8"))
    data["queues"]["general"] |= {"assignment": "push", **general}
    return parse_rules(yaml.safe_dump(data, allow_unicode=True), str(CONFIG / "rules.yaml"))


def setup(**general: Any) -> tuple[World, Assigner]:
    world = World(rules=push_rules(**general))
    return world, Assigner(world.sync, world.loaded, world.clock)


def waiting(world: World, queue: str = "general") -> list[str]:
    return world.sync.zrange(keys.queue_key(PNID, queue), 0, -1)


def events_of(world: World, kind: str) -> list[dict[str, str]]:
    return [fields for _, fields in world.sync.xrange(keys.DESK_EVENTS) if fields["type"] == kind]


async def test_a_free_agent_gets_a_conversation_the_moment_it_waits() -> None:
    world, assigner = setup(offer_timeout_seconds=0)
    ana = world.available_agent("Ana", ["general"])
    conversation = await world.says("5511900000001", ASK)
    assert conversation.state == ConversationState.QUEUED

    assert assigner.dispatch() == 1

    taken = world.current("5511900000001")
    assert (taken.state, taken.agent_id) == (ConversationState.ASSIGNED, ana.id)
    assert world.sync.smembers(keys.agent_load_key(ana.id)) == {taken.id}
    assert waiting(world) == []
    assert [e["agent_id"] for e in events_of(world, "assigned")] == [ana.id]


async def test_pull_queues_are_left_to_the_agents() -> None:
    world = World()  # the shipped rules: every queue pulls
    assigner = Assigner(world.sync, world.loaded, world.clock)
    world.available_agent("Ana", ["general"])
    await world.says("5511900000001", ASK)
    assert assigner.dispatch() == 0
    assert world.current("5511900000001").state == ConversationState.QUEUED


async def test_an_offer_is_accepted_in_time_and_counted() -> None:
    world, assigner = setup(offer_timeout_seconds=20)
    ana = world.available_agent("Ana", ["general"])
    await world.says("5511900000001", ASK)
    assigner.dispatch()

    offered = world.current("5511900000001")
    assert (offered.state, offered.offer_to) == (ConversationState.QUEUED, ana.id)
    assert waiting(world) == []  # out of the queue while offered: nobody else takes it
    assert [e["agent_id"] for e in events_of(world, "offered")] == [ana.id]

    world.clock.advance(5)
    world.assignments.accept_offer(world.agents.get(ana.id), offered.id)

    taken = world.current("5511900000001")
    assert (taken.state, taken.agent_id, taken.offer_to) == (ConversationState.ASSIGNED, ana.id, None)
    figures = kpis.last_hours(world.sync, 1, world.clock())
    assert (figures.offers.offered, figures.offers.accepted) == (1, 1)
    assert figures.time_to_assign.count == 1
    assert figures.agents[ana.id].assigned == 1


async def test_a_declined_offer_goes_back_to_its_place_and_on_to_someone_else() -> None:
    world, assigner = setup(offer_timeout_seconds=20, policy="round_robin")
    ana = world.available_agent("Ana", ["general"])
    bia = world.available_agent("Bia", ["general"])
    first = await world.says("5511900000001", ASK)
    score = world.sync.zscore(keys.queue_key(PNID, "general"), first.id)
    assigner.dispatch()
    offered_to = world.current("5511900000001").offer_to
    assert offered_to in (ana.id, bia.id)
    other = bia.id if offered_to == ana.id else ana.id

    world.assignments.decline_offer(world.agents.get(offered_to), first.id)
    assert world.sync.zscore(keys.queue_key(PNID, "general"), first.id) == score  # its place kept
    assert world.sync.smembers(keys.skip_key(first.id)) == {offered_to}

    assigner.dispatch()
    assert world.current("5511900000001").offer_to == other
    with pytest.raises(NotYours):  # declined: not theirs to accept any more
        world.assignments.accept_offer(world.agents.get(offered_to), first.id)


async def test_an_offer_nobody_answers_moves_on_and_the_agent_who_walked_away_is_set_away() -> None:
    world, assigner = setup(offer_timeout_seconds=10, away_after_missed_offers=2)
    ana = world.available_agent("Ana", ["general"])
    await world.says("5511900000001", ASK)
    await world.says("5511900000002", ASK)
    assigner.dispatch()
    assert {world.current(c).offer_to for c in ("5511900000001", "5511900000002")} == {ana.id}

    world.clock.advance(9)
    assert assigner.expire() == 0  # not due yet
    world.clock.advance(2)
    assert assigner.expire() == 2

    assert world.agents.get(ana.id).status is Presence.AWAY
    assert len(waiting(world)) == 2 and not world.sync.smembers(keys.agent_offers_key(ana.id))
    statuses = [e for e in events_of(world, "agent_status") if '"missed_offers"' in e["data"]]
    assert [e["agent_id"] for e in statuses] == [ana.id]
    figures = kpis.last_hours(world.sync, 1, world.clock())
    assert figures.offers.expired == 2 and figures.agents[ana.id].offers.expired == 2
    world.agents.set_status(ana.id, Presence.AVAILABLE)  # back: but skipped for both conversations
    assert assigner.dispatch() == 0
    assert not world.sync.smembers(keys.agent_offers_key(ana.id))


async def test_an_agent_who_frees_capacity_gets_the_oldest_waiting_conversation() -> None:
    world, assigner = setup(offer_timeout_seconds=0)
    ana = world.available_agent("Ana", ["general"], capacity=1)
    held = await world.says("5511900000001", ASK)
    assigner.dispatch()
    world.clock.advance(10)
    older = await world.says("5511900000002", ASK)
    world.clock.advance(10)
    await world.says("5511900000003", ASK)
    assert assigner.dispatch() == 0  # at capacity: both wait

    world.assignments.resolve(world.agents.get(ana.id), held.id)
    assert assigner.dispatch() == 1
    assert world.current("5511900000002").agent_id == ana.id == world.store.conversation(older.id).agent_id
    assert world.current("5511900000003").state == ConversationState.QUEUED


async def test_offers_count_against_capacity_for_the_assigner_and_for_claims() -> None:
    world, assigner = setup(offer_timeout_seconds=30)
    ana = world.available_agent("Ana", ["general"], capacity=2)
    for n in range(3):
        await world.says(f"551190000000{n}", ASK)
    assert assigner.dispatch() == 2
    assert len(world.sync.smembers(keys.agent_offers_key(ana.id))) == 2
    with pytest.raises(Conflict):
        world.assignments.claim_next(world.agents.get(ana.id))  # two offered, capacity two


async def test_least_loaded_spreads_a_burst_evenly() -> None:
    world, assigner = setup(offer_timeout_seconds=0, policy="least_loaded")
    agents = [world.available_agent(f"A{n}", ["general"], capacity=3) for n in range(4)]
    for n in range(10):
        await world.says(f"55119000000{n:02}", ASK)
    assert assigner.dispatch() == 10
    loads = sorted(world.agents.loads([a.id for a in agents]).values())
    assert loads == [2, 2, 3, 3]


async def test_the_customers_previous_agent_is_chosen_first() -> None:
    world, assigner = setup(offer_timeout_seconds=0, policy="least_loaded")
    ana = world.available_agent("Ana", ["general"])
    bia = world.available_agent("Bia", ["general"])
    first = await world.says("5511900000001", ASK)
    world.agents.set_status(ana.id, Presence.AWAY)
    assigner.dispatch()
    assert world.current("5511900000001").agent_id == bia.id
    world.assignments.resolve(world.agents.get(bia.id), first.id)
    world.agents.set_status(ana.id, Presence.AVAILABLE)
    world.clock.advance(3600)

    again = await world.says("5511900000001", ASK)
    assert again.id != first.id and again.previous_agent == bia.id
    assigner.dispatch()  # both free, both idle alike: Bia served this customer before
    assert world.current("5511900000001").agent_id == bia.id


async def test_a_supervisor_moving_an_offered_conversation_ends_the_offer() -> None:
    world, assigner = setup(offer_timeout_seconds=30)
    ana = world.available_agent("Ana", ["general"])
    boss = world.available_agent("Boss", [], role=Role.SUPERVISOR)
    conversation = await world.says("5511900000001", ASK)
    assigner.dispatch()
    assert world.current("5511900000001").offer_to == ana.id

    move = TransferRequest(reason="vip", to_queue="senior")
    world.transfers.transfer(world.agents.get(boss.id), conversation.id, move)
    moved = world.current("5511900000001")
    assert (moved.queue, moved.offer_to) == ("senior", None)
    assert not world.sync.zrange(keys.PUSH_OFFERS, 0, -1)
    assert not world.sync.smembers(keys.agent_offers_key(ana.id))
    assert world.sync.zrange(keys.queue_key(PNID, "senior"), 0, -1) == [conversation.id]


async def test_the_assigner_sees_an_agent_changed_or_added_since_it_last_looked() -> None:
    world, assigner = setup(offer_timeout_seconds=0)
    ana = world.available_agent("Ana", ["general"], capacity=1)
    for n in range(3):
        await world.says(f"551190000000{n}", ASK)
    assert assigner.dispatch() == 1  # the assigner now knows Ana with capacity 1

    world.agents.update(ana.id, capacity=2)
    assert assigner.dispatch() == 1
    assert world.agents.load(ana.id) == 2

    bia = world.available_agent("Bia", ["general"], capacity=1)
    assert assigner.dispatch() == 1
    assert world.agents.load(bia.id) == 1


async def test_an_agent_who_declined_the_oldest_is_offered_the_next_one_behind_it() -> None:
    world, assigner = setup(offer_timeout_seconds=20)
    ana = world.available_agent("Ana", ["general"], capacity=1)
    oldest = await world.says("5511900000001", ASK)
    world.clock.advance(5)
    behind = await world.says("5511900000002", ASK)
    assigner.dispatch()
    world.assignments.decline_offer(world.agents.get(ana.id), oldest.id)

    assert assigner.dispatch() == 1  # one place, the oldest passed over: the one behind it
    assert world.store.conversation(behind.id).offer_to == ana.id
    assert world.store.conversation(oldest.id).offer_to is None


async def test_supervisors_are_offered_nothing_they_watch_the_desk() -> None:
    world, assigner = setup(offer_timeout_seconds=0)
    boss = world.available_agent("Boss", ["general"], role=Role.SUPERVISOR)
    await world.says("5511900000001", ASK)
    assert assigner.dispatch() == 0
    ana = world.available_agent("Ana", ["general"])
    assert assigner.dispatch() == 1
    assert world.current("5511900000001").agent_id == ana.id != boss.id


async def test_a_stale_entry_at_the_head_of_a_queue_does_not_hold_up_the_ones_behind_it() -> None:
    world, assigner = setup(offer_timeout_seconds=0)
    waiting_one = await world.says("5511900000002", ASK)
    world.sync.zadd(keys.queue_key(PNID, "general"), {"gone": 1})  # sorts first; no such conversation
    ana = world.available_agent("Ana", ["general"], capacity=1)
    assert assigner.dispatch() == 1
    assert world.store.conversation(waiting_one.id).agent_id == ana.id
