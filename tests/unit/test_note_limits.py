"""Private notes on a fake Redis: only on an open conversation, never trimmed with (nor trimming) the
customer's messages, at most so many per conversation and per agent a minute (handover/notes.py)."""

from __future__ import annotations

import pytest

from handover import keys
from handover.agents import Role
from handover.conversation import Conversation
from handover.errors import Closed, NotYours, RateLimited, TooManyNotes
from handover.notes import Notes
from tests.support.world import World

ASK = "quero falar com um atendente"
WA = "5511900000001"


async def held(world: World) -> Conversation:
    """A conversation Ana holds, after two customer messages."""
    await world.says(WA, "oi")
    await world.says(WA, ASK)
    ana = world.available_agent("Ana", ["general"])
    taken = world.assignments.claim_next(ana)
    assert taken is not None
    return taken


async def test_no_note_on_a_closed_conversation_nor_on_an_earlier_one() -> None:
    world = World()
    conversation = await held(world)
    ana = world.agents.get(conversation.agent_id or "")
    world.assignments.resolve(ana, conversation.id)
    notes = Notes(world.store, world.clock)

    with pytest.raises(Closed) as refused:
        notes.add(ana, world.store.conversation(conversation.id) or conversation, "tarde demais")
    assert refused.value.code == "conversation_closed"
    assert not [e for e in world.store.transcript(conversation.id) if e.direction == "note"]

    # the customer comes back an hour later and waits: the earlier conversation stays read-only
    world.clock.advance(3600)
    await world.says(WA, ASK)
    assert world.current(WA).id != conversation.id
    dani = world.available_agent("Dani", ["general"])
    earlier = world.assignments.conversation_for(dani, conversation.id)
    with pytest.raises(Closed):
        notes.add(dani, earlier, "nota")
    # the current one, waiting in Dani's queue, takes notes
    current = world.current(WA)
    assert notes.add(dani, world.assignments.conversation_for(dani, current.id), "nota").direction == "note"
    carlos = world.available_agent("Carlos", ["billing"])
    with pytest.raises(NotYours):
        world.assignments.conversation_for(carlos, current.id)


async def test_notes_past_the_transcript_cap_never_erase_the_customers_messages() -> None:
    world = World(transcript_max=10)
    conversation = await held(world)
    said = [e.id for e in world.store.transcript(conversation.id) if e.direction == "in"]
    assert len(said) == 2
    ana = world.agents.get(conversation.agent_id or "")
    carla = world.available_agent("Carla", ["general"], role=Role.SUPERVISOR)
    colleague = Notes(world.store, world.clock).add(carla, conversation, "cliente VIP")
    notes = Notes(world.store, world.clock, most=50, per_minute=1000)

    for n in range(40):
        notes.add(ana, conversation, f"nota {n}")

    kept = world.store.transcript(conversation.id)
    assert [e.id for e in kept if e.direction == "in"] == said
    assert colleague.id in {e.id for e in kept}
    assert len([e for e in kept if e.direction == "note"]) == 41
    # messages still trim as before: past ten of them, the oldest go, the notes stay
    for n in range(12):
        await world.says(WA, f"mensagem {n}")
    kept = world.store.transcript(conversation.id)
    assert len([e for e in kept if e.direction != "note"]) == 10
    assert len([e for e in kept if e.direction == "note"]) == 41
    assert said[0] not in {e.id for e in kept}


async def test_at_most_so_many_notes_on_one_conversation() -> None:
    world = World()
    conversation = await held(world)
    ana = world.agents.get(conversation.agent_id or "")
    notes = Notes(world.store, world.clock, most=5, per_minute=1000)
    for n in range(5):
        notes.add(ana, conversation, f"nota {n}")

    with pytest.raises(TooManyNotes) as refused:
        notes.add(ana, conversation, "mais uma")
    assert refused.value.code == "too_many_notes"
    packet = world.store.packet(conversation.id)
    assert packet is not None and len(packet.notes) == 5
    assert len([e for e in world.store.transcript(conversation.id) if e.direction == "note"]) == 5


async def test_an_agent_writes_at_most_so_many_notes_a_minute() -> None:
    world = World()
    conversation = await held(world)
    ana = world.agents.get(conversation.agent_id or "")
    notes = Notes(world.store, world.clock, per_minute=3)
    world.clock.advance(60 - world.clock() % 60 + 15)  # 15 s into a minute
    for n in range(3):
        notes.add(ana, conversation, f"nota {n}")

    with pytest.raises(RateLimited) as refused:
        notes.add(ana, conversation, "mais uma")
    assert (refused.value.code, refused.value.retry_after) == ("too_many_notes_per_minute", 45)
    minute = int(world.clock() // 60)
    assert 0 < world.sync.ttl(keys.note_rate_key(ana.id, minute)) <= 120
    assert len([e for e in world.store.transcript(conversation.id) if e.direction == "note"]) == 3

    world.clock.advance(45)  # the next minute
    assert notes.add(ana, conversation, "de novo").direction == "note"
