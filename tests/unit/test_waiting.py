"""A customer waiting for a person is heard only for leaving the queue and asking how long (handover/waiting.py,
handover/rules/waiting.py): leaving ends the wait (abandoned, customer_left), withdraws a pending offer and
counts; asking is answered with the place and the estimate; anything else waits for the agent."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from handover import keys, kpis
from handover.abandon import watch_windows
from handover.assignment.push import Assigner
from handover.clock import FixedClock
from handover.conversation import ConversationState
from handover.keys import Lane
from handover.message import InboundKind, InboundMessage, OutboundKind
from handover.rules.lint import check_warnings
from handover.rules.loader import LoadedRules, parse_rules
from handover.traffic.enqueue import InboundItem, OutboundJob
from tests.support.world import CONFIG, PNID, RULES, T0, World

ASK = "quero falar com um atendente"
ANA = "5511900000001"
MONDAY_10H = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo")).timestamp()  # open
LEFT = "Tudo bem, Cliente, saí da fila. Se precisar, é só chamar de novo."


def push_rules(**general: Any) -> LoadedRules:
    data = yaml.safe_load(Path(CONFIG / "rules.yaml").read_text(encoding="utf-8"))
    data["queues"]["general"] |= {"assignment": "push", **general}
    return parse_rules(yaml.safe_dump(data, allow_unicode=True), str(CONFIG / "rules.yaml"))


def outbox(world: World, wa_id: str) -> list[str]:
    """The texts queued to send to the customer, oldest first (what the sender will deliver): a customer's
    sends all go through one partition, in order."""
    jobs = [
        OutboundJob.model_validate_json(fields["d"])
        for p in range(world.partitions)
        for _, fields in world.sync.xrange(keys.stream_key(Lane.OUTBOUND, p))
    ]
    texts = [j for j in jobs if j.request.kind != OutboundKind.MARK_READ and j.request.to == wa_id]
    return [j.request.text or "" for j in texts]


def events_of(world: World, kind: str) -> list[dict[str, Any]]:
    return [
        {**fields, "data": json.loads(fields["data"])}
        for _, fields in world.sync.xrange(keys.DESK_EVENTS)
        if fields["type"] == kind
    ]


def queued(world: World, queue: str = "general") -> list[str]:
    return world.sync.zrange(keys.queue_key(PNID, queue), 0, -1)


async def test_leaving_while_queued_ends_the_wait_tells_the_customer_and_counts_it_with_its_wait() -> None:
    world = World()
    waiting = await world.says(ANA, ASK)
    assert waiting.state == ConversationState.QUEUED and queued(world) == [waiting.id]
    world.clock.advance(90)

    left = await world.says(ANA, "deixa pra la, ja resolvi, obrigada")

    assert left.id == waiting.id
    assert (left.state, left.abandon_reason, left.abandoned_at) == (
        ConversationState.ABANDONED,
        "customer_left",
        T0 + 90,
    )
    assert queued(world) == []
    assert outbox(world, ANA)[-1] == LEFT
    transcript = world.store.transcript(left.id)
    assert [(e.direction, e.text) for e in transcript[-2:]] == [
        ("in", "deixa pra la, ja resolvi, obrigada"),
        ("out", LEFT),
    ]
    [decision, *_] = world.store.decisions(left.id)
    assert (decision.rule, decision.action) == ("intents.leave_queue", "leave")
    figures = kpis.last_hours(world.sync, 1, world.clock())
    assert figures.abandoned == 1
    bucket = world.sync.hgetall(kpis.hour_key(world.clock()))
    assert bucket["abandoned:customer_left"] == "1"
    assert float(bucket["abandoned_wait_seconds:customer_left_sum"]) == 90.0
    assert bucket["queue:general:abandoned:customer_left"] == "1"
    [abandoned] = events_of(world, "abandoned")
    assert (abandoned["conversation_id"], abandoned["queue"], abandoned["data"]) == (
        left.id,
        "general",
        {"reason": "customer_left"},
    )


async def test_leaving_while_offered_withdraws_the_offer_and_cleans_every_index() -> None:
    world = World(rules=push_rules(offer_timeout_seconds=30))
    assigner = Assigner(world.sync, world.loaded, world.clock)
    bia = world.available_agent("Bia", ["general"])
    await world.says(ANA, ASK)
    world.clock.advance(5)
    assigner.dispatch()
    offered = world.current(ANA)
    assert (offered.state, offered.offer_to) == (ConversationState.QUEUED, bia.id)
    assert world.sync.smembers(keys.agent_offers_key(bia.id)) == {offered.id}
    world.clock.advance(10)

    left = await world.says(ANA, "never mind, solved it")

    assert (left.state, left.abandon_reason, left.offer_to) == (
        ConversationState.ABANDONED,
        "customer_left",
        None,
    )
    stored = world.sync.hgetall(keys.conversation_key(left.id))
    assert not {"offer_to", "offer_expires_at", "offer_score"} & set(stored)
    assert world.sync.smembers(keys.agent_offers_key(bia.id)) == set()
    assert world.sync.zrange(keys.PUSH_OFFERS, 0, -1) == []
    assert queued(world) == []
    assert world.sync.smembers(keys.agent_load_key(bia.id)) == set()
    [withdrawn] = events_of(world, "offer_withdrawn")
    assert (withdrawn["agent_id"], withdrawn["data"]) == (bia.id, {"why": "customer_left"})
    assert (
        outbox(world, ANA)[-1]
        == "All right, Cliente, you're out of the line. Write again any time you need us."
    )
    figures = kpis.last_hours(world.sync, 1, world.clock())
    assert (figures.abandoned, figures.offers.withdrawn, figures.agents[bia.id].offers.withdrawn) == (1, 1, 1)
    bucket = world.sync.hgetall(kpis.hour_key(world.clock()))
    assert float(bucket["abandoned_wait_seconds:customer_left_sum"]) == 15.0  # since it asked, offer included
    # the offer's expiry finds nothing left to do, and the agent is free for the next customer
    world.clock.advance(60)
    assigner.dispatch()
    assert world.current(ANA).state == ConversationState.ABANDONED


async def test_asking_how_long_is_answered_with_the_place_and_the_estimate_and_the_wait_goes_on() -> None:
    world = World(now=MONDAY_10H)
    first = await world.says("5511900000009", ASK)
    world.clock.advance(1)
    waiting = await world.says(ANA, ASK)
    # three customers each served alone, 75 s after joining: a place takes 150 s (handover/waits.py)
    begun = [world.clock() - 1000, world.clock() - 800, world.clock() - 600]
    world.sync.lpush(keys.queue_waits_key(PNID, "general"), *(f"75 {at} 2" for at in begun))
    world.clock.advance(30)

    still = await world.says(ANA, "falta muito?")

    assert still.state == ConversationState.QUEUED
    assert queued(world) == [first.id, waiting.id]
    # second in line: one place and a half, 225 s
    assert outbox(world, ANA)[-1] == "Atualizando: você agora é o 2º da fila (espera estimada: 4 min)."
    told = world.sync.hgetall(keys.announced_key(waiting.id))
    assert (told["wait"], float(told["at"])) == ("4 min", world.clock())
    [decision, *_] = world.store.decisions(waiting.id)
    assert (decision.rule, decision.action) == ("intents.queue_status", "reply")
    assert kpis.last_hours(world.sync, 1, world.clock()).abandoned == 0


async def test_asking_how_long_while_the_queue_is_closed_says_when_people_are_back() -> None:
    saturday_night = datetime(2026, 11, 21, 22, 0, tzinfo=ZoneInfo("America/Sao_Paulo")).timestamp()
    world = World(now=saturday_night)
    waiting = await world.says(ANA, ASK)
    world.clock.advance(60)

    still = await world.says(ANA, "vai demorar?")

    assert still.state == ConversationState.QUEUED
    assert outbox(world, ANA)[-1] == (
        "Nosso time atende segunda-feira às 08:00. Sua mensagem está guardada e vamos responder assim que abrirmos."
    )
    assert world.sync.hgetall(keys.announced_key(waiting.id)) == {}  # no estimate was given


async def test_thanks_alone_while_waiting_changes_nothing() -> None:
    world = World()
    waiting = await world.says(ANA, ASK)
    said = outbox(world, ANA)
    decisions = world.store.decisions(waiting.id)

    still = await world.says(ANA, "obrigada")

    assert (still.id, still.state) == (waiting.id, ConversationState.QUEUED)
    assert queued(world) == [waiting.id]
    assert outbox(world, ANA) == said
    assert world.store.decisions(waiting.id) == decisions
    assert world.store.transcript(waiting.id)[-1].text == "obrigada"  # kept for the agent


async def test_a_cancel_while_waiting_leaves_the_queue_rather_than_escalating_to_retention() -> None:
    world = World()
    await world.says(ANA, ASK)
    left = await world.says(ANA, "cancela o atendimento")
    assert (left.state, left.queue) == (ConversationState.ABANDONED, "general")
    assert world.sync.zrange(keys.queue_key(PNID, "retention"), 0, -1) == []


async def test_a_held_conversation_is_not_heard() -> None:
    world = World()
    ana = world.available_agent("Ana", ["general"])
    await world.says(ANA, ASK)
    taken = world.assignments.claim_next(ana)
    said = outbox(world, ANA)

    still = await world.says(ANA, "deixa pra lá, já resolvi")

    assert (still.id, still.state, still.agent_id) == (taken.id, ConversationState.ASSIGNED, ana.id)
    assert outbox(world, ANA) == said
    assert events_of(world, "abandoned") == []


async def test_with_the_bot_the_intents_just_reply_and_never_hand_over() -> None:
    world = World()
    resolved = await world.says(ANA, "já resolvi")
    assert resolved.state == ConversationState.BOT
    assert outbox(world, ANA) == ["Que bom! Se precisar, é só chamar."]
    asked = await world.says(ANA, "falta muito?")
    assert asked.state == ConversationState.BOT
    assert outbox(world, ANA)[-1].startswith("Você não está em nenhuma fila agora")
    assert kpis.last_hours(world.sync, 1, world.clock()).abandoned == 0


async def test_an_intent_that_only_leaves_the_queue_is_silent_with_the_bot_and_draws_no_warning() -> None:
    data = yaml.safe_load(Path(CONFIG / "rules.yaml").read_text(encoding="utf-8"))
    leave = next(i for i in data["intents"] if i["name"] == "leave_queue")
    del leave["reply"]
    leave["match"]["any"].append("cancelar")  # an escalation keyword: the bot escalates, a waiting one leaves
    loaded = parse_rules(yaml.safe_dump(data, allow_unicode=True), str(CONFIG / "rules.yaml"))
    assert [m for _, m in check_warnings(loaded.rules) if "leave_queue" in m or "cancelar" in m] == []

    world = World(rules=loaded)
    with_bot = await world.says(ANA, "deixa pra lá")
    assert with_bot.state == ConversationState.BOT and outbox(world, ANA) == []
    [decision] = world.store.decisions(with_bot.id)
    assert (decision.rule, decision.action) == ("intents.leave_queue", "silent")
    await world.says(ANA, ASK)
    left = await world.says(ANA, "cancelar")
    assert left.state == ConversationState.ABANDONED


def test_the_shipped_rules_draw_no_warning_about_the_waiting_intents() -> None:
    assert [m for _, m in check_warnings(RULES.rules) if "leave_queue" in m or "queue_status" in m] == []


async def test_a_message_after_leaving_in_the_same_batch_starts_a_new_conversation_and_both_are_kept() -> (
    None
):
    world = World()
    waiting = await world.says(ANA, ASK)
    customer = world.customer(ANA)
    items = [
        InboundItem(
            type="message",
            message=InboundMessage(
                id=f"wamid.batch.{n}",
                customer=customer,
                timestamp=int(world.clock()) + n,
                kind=InboundKind.TEXT,
                wa_type="text",
                text=text,
            ),
        )
        for n, text in enumerate(["deixa pra lá", "oi"], start=1)
    ]

    await world.deliver(*items)  # one batch

    left = world.store.conversation(waiting.id)
    assert left is not None and (left.state, left.abandon_reason) == (
        ConversationState.ABANDONED,
        "customer_left",
    )
    fresh = world.current(ANA)
    assert fresh.id != waiting.id and fresh.state == ConversationState.BOT
    assert queued(world) == []
    assert outbox(world, ANA)[-2] == LEFT


async def test_an_agent_accepting_while_the_customer_leaves_keeps_the_conversation() -> None:
    """The offer is accepted between the batch's read and its commit: the batch is redone from what is
    there now (handover/traffic/fenced.py's expectation), so nobody holds an abandoned conversation."""
    world = World(rules=push_rules(offer_timeout_seconds=30))
    assigner = Assigner(world.sync, world.loaded, world.clock)
    bia = world.available_agent("Bia", ["general"])
    await world.says(ANA, ASK)
    assigner.dispatch()
    offered = world.current(ANA)
    said = outbox(world, ANA)
    read = world.store.current_conversations
    accepted: list[str] = []

    def read_then_bia_accepts(customers):  # type: ignore[no-untyped-def]
        found = read(customers)
        if not accepted:
            world.assignments.accept_offer(world.agents.get(bia.id), offered.id)
            accepted.append(offered.id)
        return found

    world.store.current_conversations = read_then_bia_accepts  # type: ignore[method-assign]
    world.clock.advance(5)
    await world.says(ANA, "deixa pra lá, já resolvi")  # refused as stale: the message stays pending
    world.drain_all()  # the partition was woken for it (lua/let_go.lua): the worker drains it again
    held = world.current(ANA)

    assert accepted == [offered.id]
    assert (held.id, held.state, held.agent_id, held.abandon_reason) == (
        offered.id,
        ConversationState.ASSIGNED,
        bia.id,
        None,
    )
    assert world.sync.smembers(keys.agent_load_key(bia.id)) == {offered.id}
    assert world.store.transcript(held.id)[-1].text == "deixa pra lá, já resolvi"  # for Bia to read
    assert outbox(world, ANA) == said  # not told they left: a person has them
    assert events_of(world, "abandoned") == []
    assert kpis.last_hours(world.sync, 1, world.clock()).abandoned == 0


async def test_with_the_bot_already_solved_after_an_answer_ends_it_as_contained_and_a_topic_wins() -> None:
    world = World()
    await world.says(ANA, "quero trocar um produto")
    done = await world.says(ANA, "já resolvi, obrigado")
    assert (done.state, done.bot_outcome) == (ConversationState.BOT, "contained")
    [decision, *_] = world.store.decisions(done.id)
    assert decision.rule == "intents.leave_queue"
    topic = await world.says("5511900000002", "não preciso mais do boleto")
    assert world.store.decisions(topic.id)[0].rule == "intents.invoice_copy"


async def test_asking_how_long_while_offered_says_next_in_line_and_keeps_the_offer() -> None:
    world = World(rules=push_rules(offer_timeout_seconds=30), now=MONDAY_10H)
    assigner = Assigner(world.sync, world.loaded, world.clock)
    bia = world.available_agent("Bia", ["general"])
    await world.says(ANA, ASK)
    assigner.dispatch()
    world.clock.advance(5)

    still = await world.says(ANA, "how much longer?")

    assert (still.state, still.offer_to) == (ConversationState.QUEUED, bia.id)
    assert world.sync.smembers(keys.agent_offers_key(bia.id)) == {still.id}
    assert (
        outbox(world, ANA)[-1] == "Atualizando: você agora é o 1º da fila (espera estimada: 2 min)."
    )  # the SLA


async def test_a_wait_ended_by_the_closed_window_says_so() -> None:
    world = World()
    waiting = await world.says(ANA, ASK)
    assert watch_windows(world.store, RULES, clock=FixedClock(T0 + 25 * 3600)) == (0, 1)
    closed = world.store.conversation(waiting.id)
    assert closed is not None and (closed.state, closed.abandon_reason) == (
        ConversationState.ABANDONED,
        "window_closed",
    )


async def test_a_window_closing_on_an_offered_wait_withdraws_the_offer_from_the_agent() -> None:
    """The customer's 24-hour window closes while their wait is offered to Bia: abandoned at once (an
    offered wait is out of the queue's list, and used to be looked at only after the offer expired), and
    Bia's desk hears the offer is gone (offer_withdrawn, why window_closed)."""
    world = World(rules=push_rules(offer_timeout_seconds=600))
    assigner = Assigner(world.sync, world.loaded, world.clock)
    await world.says(ANA, ASK)
    closes = world.clock() + 24 * 3600
    world.clock.advance(24 * 3600 - 300)  # Bia comes in five minutes before the window closes
    bia = world.available_agent("Bia", ["general"])
    assigner.dispatch()
    assert world.current(ANA).offer_to == bia.id

    watch_windows(world.store, world.loaded(), clock=FixedClock(closes + 1))

    gone = world.current(ANA)
    assert (gone.state, gone.abandon_reason, gone.offer_to) == (
        ConversationState.ABANDONED,
        "window_closed",
        None,
    )
    assert world.sync.smembers(keys.agent_offers_key(bia.id)) == set()
    assert world.sync.zrange(keys.PUSH_OFFERS, 0, -1) == []
    [withdrawn] = events_of(world, "offer_withdrawn")
    assert (withdrawn["agent_id"], withdrawn["data"]) == (bia.id, {"why": "window_closed"})
    figures = kpis.last_hours(world.sync, 1, closes + 1)
    assert figures.agents[bia.id].offers.withdrawn == 1
