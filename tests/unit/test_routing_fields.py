"""What push queues route on is kept with the conversation when the bot hands it over: the skills the
escalating rule asks for and the agent who served the customer last (one hash field each, so an assignment
script reads them with HMGET), and the packet says the same."""

from __future__ import annotations

import json

from handover import keys
from handover.agents import Presence
from handover.rules.loader import parse_rules
from tests.support.world import CONFIG, RULES, World

WA_ID = "5511912340001"
SKILLED = parse_rules(
    (CONFIG / "rules.yaml")
    .read_text()
    .replace(
        "escalate: {queue: general, reason: customer_asked}",
        "escalate: {queue: general, reason: customer_asked, skills: [cards, returns]}",
    ),
    "rules.yaml",
)


def routing(world: World, conversation_id: str) -> tuple[list[str], str | None]:
    skills, previous = world.sync.hmget(keys.conversation_key(conversation_id), ["skills", "previous_agent"])
    return json.loads(skills), previous


async def test_a_first_handover_carries_the_rules_skills_and_no_previous_agent():
    world = World(rules=SKILLED)
    conversation = await world.says(WA_ID, "atendente")
    assert conversation.state == "queued"
    assert (conversation.skills, conversation.previous_agent) == (["cards", "returns"], None)
    assert routing(world, conversation.id) == (["cards", "returns"], None)
    packet = world.store.packet(conversation.id)
    assert (packet.skills, packet.previous_agent) == (["cards", "returns"], None)


async def test_the_next_conversation_remembers_who_served_the_customer_even_past_a_bot_only_one(
    world: World,
):
    ana = world.available_agent("Ana", ["general"])
    first = await world.says(WA_ID, "atendente")
    assert world.assignments.claim_next(ana).id == first.id
    world.assignments.resolve(ana, first.id)

    world.clock.advance(RULES.rules.reopen_within_seconds + 1)
    contained = await world.says(WA_ID, "oi")  # the bot alone answers this one; it stays with the bot
    assert contained.id != first.id and contained.agent_id is None
    world.clock.advance(24 * 3600)
    later = await world.says(WA_ID, "quero falar com um atendente")
    assert later.id not in (first.id, contained.id) and later.state == "queued"
    assert later.previous_agent == ana.id
    assert routing(world, later.id) == ([], ana.id)
    assert world.store.packet(later.id).previous_agent == ana.id


async def test_a_resolved_conversation_reopened_into_the_queue_remembers_its_agent(world: World):
    ana = world.available_agent("Ana", ["general"])
    first = await world.says(WA_ID, "atendente")
    world.assignments.claim_next(ana)
    world.assignments.resolve(ana, first.id)
    world.agents.set_status(ana.id, Presence.AWAY)
    world.clock.advance(60)
    reopened = await world.says(WA_ID, "mais uma coisa")
    assert (reopened.id, reopened.state, reopened.agent_id) == (first.id, "queued", None)
    assert reopened.previous_agent == ana.id
    assert routing(world, first.id)[1] == ana.id
