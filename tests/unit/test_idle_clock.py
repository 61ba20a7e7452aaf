"""The customer idle clock on a fake Redis (handover/clocks.py, handover/clockwatch.py): one reminder, then
closed; an answer stops it; the survey only with csat.on_idle_close; nothing sent outside the 24-hour
window; and a customer who writes just as the close commits keeps the conversation open."""

from __future__ import annotations

from desk.models import ConversationSummary
from handover import keys
from handover.conversation import ConversationState
from tests.support.clocked import (
    WA,
    answered,
    counted,
    events_of,
    held_by,
    rules,
    setup,
    sweep_at,
    system_said,
)
from tests.support.world import T0


async def test_a_quiet_customer_is_reminded_once_then_the_conversation_is_closed() -> None:
    world, watch = setup()  # general: remind after 10 minutes, close after 30
    conversation, ana = await answered(world)

    assert sweep_at(world, watch, 599) == {}
    assert sweep_at(world, watch, 600) == {"remind": 1}
    assert sweep_at(world, watch, 1200) == {}  # once
    assert system_said(world, conversation.id) == [
        "Cliente, ainda está por aí? Se não precisar mais de ajuda, vamos encerrar o atendimento em breve."
    ]
    assert counted(world, "idle_reminded") == 1

    assert sweep_at(world, watch, 1800) == {"close": 1}
    closed = world.current(WA)
    assert (closed.state, closed.resolved_at) == (ConversationState.RESOLVED, T0 + 1800)
    assert world.sync.smembers(keys.agent_load_key(ana.id)) == set()  # capacity freed
    assert system_said(world, conversation.id)[-1].startswith("Como não tivemos resposta")
    assert len(system_said(world, conversation.id)) == 2  # no survey: csat.on_idle_close is off
    reasons = [e["data"] for e in events_of(world, "closed") if e["agent_id"] == ana.id]
    assert any('"reason": "customer_idle"' in data for data in reasons)
    assert counted(world, "idle_closed") == 1 and counted(world, "resolved") == 1
    # the desk says why nobody's resolve closed it, until an agent resolves it after a reopen
    assert ConversationSummary.of(closed, world.clock()).resolve_reason == "customer_idle"
    world.clock.now = T0 + 1900
    reopened = await world.says(WA, "voltei, ainda preciso de ajuda")  # within reopen_within_seconds
    assert reopened.id == conversation.id and reopened.resolve_reason is None
    world.assignments.resolve(ana, conversation.id)
    assert ConversationSummary.of(world.current(WA), world.clock()).resolve_reason is None


async def test_a_customer_who_answers_stops_the_idle_clock() -> None:
    world, watch = setup()
    await answered(world)
    world.clock.now = T0 + 500
    await world.says(WA, "só mais uma dúvida")
    assert sweep_at(world, watch, 1800) == {"alert": 1}  # not idle: waiting for the agent's answer
    assert world.current(WA).state == ConversationState.ASSIGNED
    assert system_said(world, world.current(WA).id) == []


async def test_the_survey_follows_an_idle_close_only_with_csat_on_idle_close() -> None:
    world, watch = setup(rules(top={"csat": {"on_idle_close": True}}))
    conversation, _ = await answered(world)
    assert sweep_at(world, watch, 1800) == {"close": 1}
    said = system_said(world, conversation.id)
    assert said[-2].startswith("Como não tivemos resposta")
    assert said[-1] == "Seu atendimento foi encerrado. Como você avalia a nossa ajuda?"
    assert world.current(WA).csat_asked_at == T0 + 1800


async def test_nothing_is_sent_outside_the_24_hour_window_the_close_is_silent() -> None:
    world, watch = setup()
    conversation, ana = await held_by(world)
    world.clock.now = T0 + 24 * 3600 - 300  # five minutes before the window closes
    world.assignments.send(ana, conversation.id, "Conseguiu ver?")
    before = len(system_said(world, conversation.id))

    assert sweep_at(world, watch, 24 * 3600 + 300) == {}  # due, but no reminder outside the window
    assert world.current(WA).idle_reminded_at == T0 + 24 * 3600 + 300  # not tried again
    assert sweep_at(world, watch, 24 * 3600 + 1500) == {"close": 1}
    assert world.current(WA).state == ConversationState.RESOLVED
    assert len(system_said(world, conversation.id)) == before  # no reminder, no closing text, no survey
    assert counted(world, "idle_reminded") == 0 and counted(world, "idle_closed") == 1


async def test_a_customer_who_writes_as_the_close_commits_keeps_the_conversation_open() -> None:
    """The sweep saw 30 quiet minutes; the customer's message lands between its read and its commit. The
    close expects the conversation as it saw it (lua/finish.lua), so it is not resolved over the message."""
    world, watch = setup()
    conversation, ana = await answered(world)
    finish = watch.lifecycle.finish

    def message_lands_first(*args, **kwargs):  # type: ignore[no-untyped-def]
        world.sync.hset(keys.conversation_key(conversation.id), "customer_waiting_since", str(T0 + 1799))
        return finish(*args, **kwargs)

    watch.lifecycle.finish = message_lands_first  # type: ignore[method-assign]
    world.sync.hset(keys.conversation_key(conversation.id), "idle_reminded_at", str(T0 + 600))
    assert sweep_at(world, watch, 1800) == {}
    held = world.current(WA)
    assert (held.state, held.agent_id) == (ConversationState.ASSIGNED, ana.id)
    assert world.sync.smembers(keys.agent_load_key(ana.id)) == {conversation.id}
    assert counted(world, "idle_closed") == 0 and counted(world, "resolved") == 0
    assert not [s for s in system_said(world, conversation.id) if s.startswith("Como não tivemos resposta")]
