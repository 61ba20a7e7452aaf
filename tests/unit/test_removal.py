"""Removing an agent (handover/assignment/removal.py) on the domain alone: what they held, what was offered to them and
what they were offering all move on; a removal cut short is finished by running it again."""

from __future__ import annotations

import pytest

from handover import audit, keys
from handover.agents import UnknownAgent
from handover.assignment.push import Assigner
from handover.assignment.removal import remove_agent
from handover.lifecycle import Decided, Lifecycle
from handover.transfers import TransferRequest
from handover.warm import WarmTransfers
from tests.support.world import PNID, World


def removal_parts(world: World) -> tuple[WarmTransfers, Assigner]:
    warm = WarmTransfers(world.store, world.agents, world.loaded, world.partitions, clock=world.clock)
    return warm, Assigner(world.sync, world.loaded, clock=world.clock)


async def asked(world: World, wa_id: str):
    """The customer asks for a person, a minute after the one before: the queue's order is theirs."""
    world.clock.advance(60)
    return await world.says(wa_id, "atendente")


def event_kinds(world: World, kind: str) -> list[dict[str, str]]:
    return [e for _, e in world.sync.xrange(keys.DESK_EVENTS) if e["type"] == kind]


async def test_a_removal_cut_short_is_finished_by_running_it_again(world: World, monkeypatch):
    ana = world.available_agent("Ana", ["general"])
    _, token = world.agents.add("Ana's twin", ["general"], 3, role=ana.role)
    held = await asked(world, "5511900000001")
    assert world.assignments.claim_next(ana).id == held.id
    warm, assigner = removal_parts(world)
    token_of_ana = world.sync.hget(keys.agent_key(ana.id), "token")

    def dies(*args, **kwargs):
        raise ConnectionError("the process died here")

    monkeypatch.setattr(warm, "requeue_held", dies)
    with pytest.raises(ConnectionError):
        remove_agent(world.agents, warm, assigner, ana.id, by="ops")
    # cut short after its first step: the token is dead already, the agent no longer listed
    assert world.sync.get(keys.agent_token_key(token_of_ana)) is None
    assert ana.id not in world.agents.ids()
    assert world.store.conversation(held.id).agent_id == ana.id
    monkeypatch.undo()

    done = remove_agent(world.agents, warm, assigner, ana.id, by="ops")

    assert done.requeued == [held.id]
    back = world.store.conversation(held.id)
    assert (back.state, back.agent_id) == ("queued", None)
    assert world.store.packet(held.id).transfers[-1].reason == "agent_removed"
    assert not world.sync.exists(keys.agent_key(ana.id), keys.agent_load_key(ana.id))
    assert [e.action for e in audit.since(world.sync, 1)] == ["agents.remove"]  # once, by its first run
    with pytest.raises(UnknownAgent):  # gone: a third run has nothing left to do
        remove_agent(world.agents, warm, assigner, ana.id)
    assert world.agents.by_token(token) is not None  # nobody else touched


async def test_offers_to_and_from_the_removed_agent_go_on(world: World):
    """A push offer to them waits again; a colleague's warm transfer to them goes back to the colleague; a
    conversation they were offering a colleague (warm) goes back to its queue and the colleague hears of
    it."""
    ana = world.available_agent("Ana", ["general"])
    bia = world.available_agent("Bia", ["general"])
    warm, assigner = removal_parts(world)
    mine, theirs, offered = [await asked(world, f"551190000000{n}") for n in (1, 2, 3)]
    assert world.assignments.claim_next(ana).id == mine.id
    assert world.assignments.claim_next(bia).id == theirs.id
    warm.offer(ana, mine.id, TransferRequest(reason="billing", to_agent=bia.id, mode="warm"))
    warm.offer(bia, theirs.id, TransferRequest(reason="help", to_agent=ana.id, mode="warm"))
    decided = Lifecycle(world.sync).assign(offered.id, PNID, "general", ana.id, 3, 600, world.clock())
    assert decided is Decided.OFFERED

    done = remove_agent(world.agents, warm, assigner, ana.id, by="ops")

    assert (done.requeued, done.offers_withdrawn, done.transfers_handed_back) == ([mine.id], 1, [theirs.id])
    assert world.store.conversation(mine.id).state == "queued"
    assert world.store.conversation(mine.id).offer_to is None
    assert world.store.conversation(theirs.id).state == "assigned"
    assert world.store.conversation(theirs.id).agent_id == bia.id
    assert world.store.conversation(offered.id).state == "queued"
    assert world.store.conversation(offered.id).offer_to is None
    assert not world.sync.zrange(keys.OFFERS, 0, -1) and not world.sync.zrange(keys.PUSH_OFFERS, 0, -1)
    assert world.store.packet(mine.id).transfers[-1].reason == "agent_removed"
    # the desks hear it: Ana's push offer withdrawn, and Bia's offer from Ana gone from her screen
    withdrawn = [(e["conversation_id"], e["agent_id"]) for e in event_kinds(world, "offer_withdrawn")]
    assert withdrawn == [(offered.id, ana.id), (mine.id, bia.id)]
    [declined] = event_kinds(world, "transfer_declined")
    assert (declined["conversation_id"], declined["agent_id"]) == (theirs.id, bia.id)
    assert [e["agent_id"] for e in event_kinds(world, "agent_removed")] == [ana.id]
    assert world.agents.load(bia.id) == 1  # hers again, and nothing else changed for her
