"""A customer writing again soon after a resolve goes back to the same agent, else to the queue; later, a
new conversation starts with the bot."""

from __future__ import annotations

from handover import keys
from handover.agents import Presence
from tests.support.world import PNID, RULES, World

WA_ID = "5511912340000"


async def test_reopen_to_the_same_agent_then_the_queue_then_a_new_conversation(world: World):
    desk, agents, store = world.assignments, world.agents, world.store
    ana = world.available_agent("Ana", ["general"], capacity=3)

    first = await world.says(WA_ID, "atendente")
    assert first.state == "queued"
    assert desk.claim_next(ana).id == first.id
    desk.resolve(ana, first.id)

    world.clock.advance(600)  # ten minutes later
    again = await world.says(WA_ID, "esqueci de perguntar: e a nota fiscal?")
    assert (again.id, again.state, again.agent_id) == (first.id, "assigned", ana.id)
    assert world.sync.smembers(keys.agent_load_key(ana.id)) == {first.id}
    assert [e.text for e in store.transcript(first.id)][-1] == "esqueci de perguntar: e a nota fiscal?"

    desk.resolve(ana, first.id)
    agents.set_status(ana.id, Presence.AWAY)
    world.clock.advance(60)
    queued = await world.says(WA_ID, "mais uma coisa")
    assert (queued.id, queued.state, queued.agent_id) == (first.id, "queued", None)
    assert world.sync.zrange(keys.queue_key(PNID, "general"), 0, -1) == [first.id]
    assert store.packet(first.id).escalation.reason == "customer_asked"  # the old packet goes with it

    agents.set_status(ana.id, Presence.AVAILABLE)
    assert desk.claim_next(agents.get(ana.id)).id == first.id
    desk.resolve(ana, first.id)
    world.clock.advance(RULES.rules.reopen_within_seconds + 1)
    fresh = await world.says(WA_ID, "oi")
    assert fresh.id != first.id and fresh.state == "bot"
