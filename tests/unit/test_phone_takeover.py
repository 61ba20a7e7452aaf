"""Coexistence: what a person sends from the WhatsApp Business app on our number (echoes) pauses the bot in
that conversation; release, or the pause's end, hands it back (handover/coexistence.py). Real normaliser,
processor and store on fakeredis."""

from __future__ import annotations

from typing import Any

import pytest

from handover.agents import Role
from handover.coexistence import AUTHOR, PAUSE_MINUTES
from handover.conversation import ConversationState
from handover.errors import Conflict, NotYours
from handover.message import DeliveryStatus, StatusUpdate
from handover.traffic.enqueue import InboundItem
from tests.support.world import PNID, World
from webhooks.normalize import normalize

ANA = "5511987650001"
BUSINESS = "5511400000000"  # tests/support/webhook.py's display number


def echo(world: World, to: str, text: str, n: int = 1) -> InboundItem:
    """An `smb_message_echoes` change as Meta sends it (pywa's outgoing_message.json), read by the real
    normaliser."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": BUSINESS, "phone_number_id": PNID},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": to}],
        "message_echoes": [
            {
                "from": BUSINESS,
                "to": to,
                "id": f"wamid.echo.{n}",
                "timestamp": str(int(world.clock())),
                "type": "text",
                "text": {"body": text},
            }
        ],
    }
    body = {"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [
        {"field": "smb_message_echoes", "value": value}
    ]}]}  # fmt: skip
    [message] = normalize(body).messages
    return InboundItem(type="message", message=message)


def after(world: World, conversation_id: str, entry_id: str) -> list[tuple[str, str | None]]:
    """(author, text) of what the transcript holds after `entry_id`."""
    transcript = world.store.transcript(conversation_id)
    at = next(i for i, e in enumerate(transcript) if e.id == entry_id)
    return [(e.author, e.text) for e in transcript[at + 1 :]]


def last_in(world: World, conversation_id: str) -> str:
    return [e.id for e in world.store.transcript(conversation_id) if e.direction == "in"][-1]


async def test_an_echo_pauses_the_bot_and_release_hands_it_back():
    world = World()
    first = await world.says(ANA, "oi")
    assert [a for a, _ in after(world, first.id, last_in(world, first.id))] == ["bot"]  # the bot answers

    await world.deliver(echo(world, ANA, "Oi Ana, é a Júlia da loja, já vejo seu pedido"))
    paused = world.current(ANA)
    assert paused.id == first.id and paused.phone_paused_until == world.clock() + PAUSE_MINUTES * 60
    [phone] = [e for e in world.store.transcript(first.id) if e.author == AUTHOR]
    assert (phone.direction, phone.text, phone.delivery.status) == (
        "out",
        "Oi Ana, é a Júlia da loja, já vejo seu pedido",
        "sent",
    )

    world.clock.advance(30)
    await world.says(ANA, "oi")  # would be answered by the bot's greeting
    assert after(world, first.id, last_in(world, first.id)) == []

    agent = world.available_agent("Bia", ["general"])
    with pytest.raises(NotYours):  # nobody at the desk holds it, and an agent does not see it
        world.assignments.release_to_bot(agent, first.id)
    boss = world.available_agent("Carla", ["general"], role=Role.SUPERVISOR)
    world.assignments.release_to_bot(boss, first.id)
    assert world.current(ANA).phone_paused_until is None
    world.clock.advance(30)
    await world.says(ANA, "oi")
    assert [a for a, _ in after(world, first.id, last_in(world, first.id))] == ["bot"]


async def test_the_pause_ends_by_itself_after_its_time():
    world = World()
    world.processor.phone_pause_seconds = 600
    conversation = await world.says(ANA, "oi")
    await world.deliver(echo(world, ANA, "já te respondo"))
    world.clock.advance(599)
    await world.says(ANA, "oi")
    assert after(world, conversation.id, last_in(world, conversation.id)) == []
    world.clock.advance(2)
    await world.says(ANA, "oi")
    assert [a for a, _ in after(world, conversation.id, last_in(world, conversation.id))] == ["bot"]


async def test_an_echo_to_nobody_yet_starts_a_conversation_the_bot_leaves_to_the_phone():
    world = World()
    await world.deliver(echo(world, ANA, "Ana, seu pedido chegou na loja"))
    started = world.current(ANA)
    assert started.state == ConversationState.BOT and started.phone_paused_until is not None
    world.clock.advance(60)
    await world.says(ANA, "oba, passo aí amanhã")
    assert after(world, started.id, last_in(world, started.id)) == []


async def test_an_echo_to_a_bot_conversation_idle_for_a_day_starts_a_new_paused_one():
    """Otherwise the customer's answer would end the idle conversation and the bot would answer it."""
    world = World()
    old = await world.says(ANA, "oi")
    world.clock.advance(2 * 24 * 3600)
    await world.deliver(echo(world, ANA, "Ana, lembra do orçamento?"))
    world.clock.advance(60)
    answered = await world.says(ANA, "lembro sim")
    assert answered.id != old.id and answered.phone_paused_until is not None
    assert after(world, answered.id, last_in(world, answered.id)) == []


async def test_an_echo_to_a_waiting_conversation_is_only_written_down():
    world = World()
    waiting = await world.says(ANA, "quero falar com um atendente")
    assert waiting.state == ConversationState.QUEUED
    await world.deliver(echo(world, ANA, "já vai um colega te atender"))
    still = world.current(ANA)
    assert (still.state, still.queue, still.phone_paused_until) == (ConversationState.QUEUED, "general", None)
    assert [e.text for e in world.store.transcript(still.id) if e.author == AUTHOR] == [
        "já vai um colega te atender"
    ]


async def test_release_of_a_conversation_nobody_paused_is_refused_as_before():
    world = World()
    conversation = await world.says(ANA, "oi")
    agent = world.available_agent("Bia", ["general"])
    with pytest.raises((NotYours, Conflict)):  # the desk's 403 / 409, as for any conversation not yours
        world.assignments.release_to_bot(agent, conversation.id)


async def test_whatsapps_statuses_of_an_echo_move_its_ticks():
    world = World()
    conversation = await world.says(ANA, "oi")
    await world.deliver(echo(world, ANA, "já te respondo"))
    read = StatusUpdate(
        message_id="wamid.echo.1",
        status=DeliveryStatus.READ,
        timestamp=int(world.clock()),
        phone_number_id=PNID,
        recipient_id=ANA,
    )
    await world.deliver(InboundItem(type="status", status=read))
    [phone] = [e for e in world.store.transcript(conversation.id) if e.author == AUTHOR]
    assert phone.delivery is not None and phone.delivery.status == DeliveryStatus.READ
