"""The clocks on held conversations on a fake Redis, one rule a test: the agent reply clock (first answer
included, "?" does not restart it, business hours pause it, alerted once, requeued ahead of newer ones and
to someone else), and the customer idle clock (one reminder, then closed; nothing sent outside the 24-hour
window; the survey only with csat.on_idle_close) (handover/clocks.py, handover/clockwatch.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from desk.models import ConversationDetail, ConversationSummary
from handover import keys, kpis
from handover.agents import Agent, Presence
from handover.assignment import Assigner
from handover.clocks import open_seconds
from handover.clockwatch import ClockWatch
from handover.conversation import Conversation, ConversationState
from handover.inbox import Inbox
from handover.rules.loader import LoadedRules, parse_rules
from handover.transfers import TransferRequest
from tests.support.world import CONFIG, T0, World

ASK = "quero falar com um atendente"
WA = "5511900000001"


def rules(top: dict[str, Any] | None = None, drop: tuple[str, ...] = (), **general: Any) -> LoadedRules:
    """The shipped rules, `general` open at all hours unless told, with `general`'s settings on top;
    `drop`: messages the rules do not have."""
    data = yaml.safe_load(Path(CONFIG / "rules.yaml").read_text(encoding="utf-8"))
    data["queues"]["general"].pop("business_hours")
    data["queues"]["general"] |= general
    for name in drop:
        data["messages"].pop(name)
    for key, value in (top or {}).items():
        data[key] = data[key] | value if isinstance(value, dict) else value
    return parse_rules(yaml.safe_dump(data, allow_unicode=True), str(CONFIG / "rules.yaml"))


def setup(loaded: LoadedRules | None = None) -> tuple[World, ClockWatch]:
    world = World(rules=loaded or rules())
    return world, ClockWatch(world.store, world.loaded, world.partitions, world.clock)


async def held_by(world: World, name: str = "Ana", wa: str = WA) -> tuple[Conversation, Agent]:
    agent = world.available_agent(name, ["general"])
    await world.says(wa, ASK)
    taken = world.assignments.claim_next(agent)
    assert taken is not None
    return taken, agent


def events_of(world: World, kind: str) -> list[dict[str, str]]:
    return [fields for _, fields in world.sync.xrange(keys.DESK_EVENTS) if fields["type"] == kind]


def system_said(world: World, conversation_id: str) -> list[str]:
    return [e.text or e.kind for e in world.store.transcript(conversation_id) if e.author == "system"]


def counted(world: World, name: str) -> int:
    return int(world.sync.hget(keys.COUNTERS, name) or 0)


def sweep_at(world: World, watch: ClockWatch, seconds: float) -> dict[str, int]:
    world.clock.now = T0 + seconds
    return {k: v for k, v in watch.sweep().items() if v}


# ---- the agent reply clock ---------------------------------------------------------------------------


async def test_a_conversation_just_taken_waits_for_its_first_answer_from_when_the_agent_got_it() -> None:
    world, watch = setup()
    world.clock.advance(600)  # the customer asked long before the agent took it: that wait is the SLA's
    conversation, ana = await held_by(world)
    taken_at = world.clock()

    assert sweep_at(world, watch, 600 + 179) == {}
    assert sweep_at(world, watch, 600 + 180) == {"alert": 1}

    [event] = events_of(world, "agent_silent")
    assert (event["conversation_id"], event["agent_id"], event["queue"]) == (
        conversation.id,
        ana.id,
        "general",
    )
    assert '"waited_seconds": 180' in event["data"]
    assert world.current(WA).agent_silent_since == taken_at


async def test_the_alert_is_published_and_counted_once_a_stretch() -> None:
    world, watch = setup()
    _, ana = await held_by(world)
    assert sweep_at(world, watch, 200) == {"alert": 1}
    assert sweep_at(world, watch, 260) == {}
    assert sweep_at(world, watch, 3600) == {}  # alert only: it stays with the agent

    assert len(events_of(world, "agent_silent")) == 1
    assert counted(world, "agent_silent") == 1
    hour = world.sync.hgetall(kpis.hour_key(T0 + 200))
    assert hour["agent_silent"] == "1" and hour["queue:general:agent_silent"] == "1"
    assert hour[kpis.agent_prefix(ana.id) + "agent_silent"] == "1"
    assert world.current(WA).state == ConversationState.ASSIGNED


async def test_an_answer_ends_the_stretch_and_a_customer_asking_again_does_not_restart_the_clock() -> None:
    world, watch = setup()
    conversation, ana = await held_by(world)
    world.clock.now = T0 + 30
    world.assignments.send(ana, conversation.id, "Oi! Já vejo isso.")
    assert world.current(WA).agent_silent_since is None
    assert sweep_at(world, watch, 400) == {}  # answered; the customer's turn (not idle long enough)

    world.clock.now = T0 + 400
    await world.says(WA, "e aí, conseguiu ver?")  # the stretch starts here...
    world.clock.now = T0 + 500
    await world.says(WA, "?")  # ... and "?" does not restart it
    assert sweep_at(world, watch, 579) == {}
    assert sweep_at(world, watch, 580) == {"alert": 1}
    assert world.current(WA).agent_silent_since == T0 + 400

    world.clock.now = T0 + 600
    world.assignments.send(ana, conversation.id, "Consegui, sim.")
    assert world.current(WA).agent_silent_since is None  # the desk's mark goes with the answer
    world.clock.now = T0 + 700
    await world.says(WA, "obrigada, mais uma coisa")
    assert sweep_at(world, watch, 879) == {}
    assert sweep_at(world, watch, 880) == {"alert": 1}  # a new stretch, flagged again
    assert len(events_of(world, "agent_silent")) == 2


async def test_templates_and_files_answer_the_customer_too() -> None:
    world, watch = setup()
    conversation, ana = await held_by(world)
    world.clock.now = T0 + 60
    templates = world.loaded().rules.templates
    name, template = next(iter(templates.items()))
    language = next(iter(template.languages))
    params = ["x"] * template.params(language)
    world.assignments.send_template(ana, conversation.id, name, language, params)
    assert sweep_at(world, watch, 400) == {}


def test_business_hours_count_only_open_seconds() -> None:
    hours = World().loaded().rules.business_hours["store"]  # mon-fri 08-20, sat 09-13, São Paulo
    friday_1958 = T0 + (14 * 3600 + 58 * 60)  # T0 is a Friday at 05:00 there
    assert open_seconds(hours, friday_1958, friday_1958 + 60) == 60
    assert open_seconds(hours, friday_1958, friday_1958 + 3600) == 120  # closed at 20:00
    saturday_0901 = friday_1958 + (13 * 3600 + 3 * 60)
    assert open_seconds(hours, friday_1958, saturday_0901) == 180  # 2 min on Friday, 1 on Saturday
    assert open_seconds(None, friday_1958, saturday_0901) == saturday_0901 - friday_1958


async def test_the_reply_clock_pauses_outside_business_hours() -> None:
    world, watch = setup(rules(business_hours="store"))
    world.clock.advance(14 * 3600 + 58 * 60)  # Friday 19:58 in São Paulo
    await held_by(world)
    start = world.clock() - T0
    assert sweep_at(world, watch, start + 3600) == {}  # 2 open minutes, then the night
    saturday_0900 = start + 13 * 3600 + 2 * 60
    assert sweep_at(world, watch, saturday_0900 + 59) == {}
    assert sweep_at(world, watch, saturday_0900 + 60) == {"alert": 1}


async def test_requeued_after_requeue_seconds_ahead_of_newer_ones_and_the_customer_told() -> None:
    world, watch = setup(
        rules(agent_reply_seconds=120, on_agent_silence="requeue", requeue_after_seconds=300)
    )
    conversation, ana = await held_by(world)
    world.clock.now = T0 + 60
    newer = await world.says("5511900000002", ASK)  # asked later: waits behind it once it is back

    assert sweep_at(world, watch, 120) == {"alert": 1}
    assert sweep_at(world, watch, 299) == {}
    assert sweep_at(world, watch, 300) == {"requeue": 1}

    back = world.current(WA)
    assert (back.state, back.agent_id) == (ConversationState.QUEUED, None)
    assert world.sync.zrange(keys.queue_key("general"), 0, -1) == [conversation.id, newer.id]
    assert world.sync.smembers(keys.agent_load_key(ana.id)) == set()
    [moved] = events_of(world, "transferred")
    assert '"reason": "agent_silent"' in moved["data"] and f'"by": "{ana.id}"' in moved["data"]
    assert world.store.packet(conversation.id).transfers[-1].reason == "agent_silent"  # type: ignore[union-attr]
    assert system_said(world, conversation.id) == [
        "Desculpe a demora, Cliente. Outra pessoa da equipe vai continuar o seu atendimento."
    ]
    assert (counted(world, "agent_silent"), counted(world, "agent_silent_requeued")) == (1, 1)


async def test_alerted_and_requeued_in_one_sweep_when_both_are_due() -> None:
    world, watch = setup(rules(agent_reply_seconds=120, on_agent_silence="requeue"))
    await held_by(world)
    assert sweep_at(world, watch, 240) == {"requeue": 1}  # default: twice agent_reply_seconds
    assert len(events_of(world, "agent_silent")) == 1
    assert counted(world, "agent_silent_requeued") == 1


async def test_taken_again_and_left_again_the_customer_is_told_once_until_they_write() -> None:
    world, watch = setup(rules(agent_reply_seconds=60, on_agent_silence="requeue"))
    conversation, ana = await held_by(world)
    assert sweep_at(world, watch, 120) == {"requeue": 1}
    assert world.assignments.claim_next(ana) is not None  # a pull queue: she takes it back, and stays silent
    assert sweep_at(world, watch, 240) == {"requeue": 1}
    changed = "Desculpe a demora, Cliente. Outra pessoa da equipe vai continuar o seu atendimento."
    assert system_said(world, conversation.id) == [changed]  # the same news twice would be noise

    world.clock.now = T0 + 250
    await world.says(WA, "olá? alguém aí?")
    assert world.assignments.claim_next(ana) is not None
    assert sweep_at(world, watch, 380) == {"requeue": 1}
    assert system_said(world, conversation.id) == [changed, changed]  # they asked again: told again
    assert counted(world, "agent_silent_requeued") == 3


async def test_without_messages_agent_changed_the_customer_hears_nothing() -> None:
    loaded = rules(drop=("agent_changed",), agent_reply_seconds=60, on_agent_silence="requeue")
    world, watch = setup(loaded)
    conversation, _ = await held_by(world)
    assert sweep_at(world, watch, 120) == {"requeue": 1}
    assert system_said(world, conversation.id) == []


async def test_a_push_queue_offers_it_to_the_next_agent_never_back_to_the_silent_one() -> None:
    loaded = rules(
        assignment="push", offer_timeout_seconds=0, agent_reply_seconds=60, on_agent_silence="requeue"
    )
    world, watch = setup(loaded)
    assigner = Assigner(world.sync, world.loaded, world.clock)
    ana = world.available_agent("Ana", ["general"])
    await world.says(WA, ASK)
    assert assigner.dispatch() == 1
    assert world.current(WA).agent_id == ana.id

    assert sweep_at(world, watch, 120) == {"requeue": 1}
    assigner.dispatch()
    assert world.current(WA).state == ConversationState.QUEUED  # Ana is free, and skipped for it

    bia = world.available_agent("Bia", ["general"])
    assert assigner.dispatch() == 1
    assert (world.current(WA).state, world.current(WA).agent_id) == (ConversationState.ASSIGNED, bia.id)


async def test_an_away_agent_keeps_the_clock_and_the_next_holder_starts_their_own() -> None:
    world, watch = setup(rules(agent_reply_seconds=60, on_agent_silence="requeue"))
    _, ana = await held_by(world)
    world.agents.set_status(ana.id, Presence.AWAY)  # away keeps what it holds, as today
    assert sweep_at(world, watch, 120) == {"requeue": 1}
    world.assignments.claim_next(world.available_agent("Bia", ["general"]))
    assert sweep_at(world, watch, 150) == {}  # Bia got it at 120: her own first-answer clock runs


# ---- the customer idle clock ---------------------------------------------------------------------------


async def answered(world: World) -> tuple[Conversation, Agent]:
    conversation, ana = await held_by(world)
    world.assignments.send(ana, conversation.id, "Pronto, resolvido. Algo mais?")
    return conversation, ana


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


# ---- what the desk shows -----------------------------------------------------------------------------


async def test_the_desk_lists_and_shows_the_mark_until_the_agent_answers() -> None:
    world, watch = setup()
    conversation, ana = await held_by(world)
    inbox = Inbox(world.store, world.agents, world.loaded)

    def shown() -> tuple[float | None, float | None]:
        [row] = inbox.listed([conversation.id])
        assert row is not None
        listed = ConversationSummary.of(row, world.clock()).agent_silent_since
        return listed, ConversationDetail.load(
            world.store, world.current(WA), world.clock()
        ).agent_silent_since

    assert shown() == (None, None)
    sweep_at(world, watch, 200)
    assert shown() == (T0, T0)
    world.assignments.send(ana, conversation.id, "Desculpe a demora!")
    assert shown() == (None, None)


async def test_a_conversation_reopened_to_its_agent_waits_from_the_customers_new_message() -> None:
    world, watch = setup()
    conversation, ana = await held_by(world)
    world.clock.now = T0 + 30
    world.assignments.resolve(ana, conversation.id)  # resolved without a word (it happens)
    world.clock.now = T0 + 600
    again = await world.says(WA, "esqueci de perguntar uma coisa")
    assert (again.id, again.state, again.agent_id) == (conversation.id, ConversationState.ASSIGNED, ana.id)
    assert sweep_at(world, watch, 600 + 179) == {}  # not from when she first got it
    assert sweep_at(world, watch, 600 + 180) == {"alert": 1}


async def test_the_idle_clock_pauses_outside_business_hours_too() -> None:
    world, watch = setup(rules(business_hours="store"))
    world.clock.advance(14 * 3600 + 55 * 60)  # Friday 19:55 in São Paulo
    conversation, ana = await held_by(world)
    world.assignments.send(ana, conversation.id, "Pronto! Algo mais?")
    start = world.clock() - T0
    saturday_0900 = start + 13 * 3600 + 5 * 60
    assert sweep_at(world, watch, saturday_0900 + 4 * 60) == {}  # 5 open minutes on Friday, 4 on Saturday
    assert sweep_at(world, watch, saturday_0900 + 5 * 60) == {"remind": 1}


async def test_a_requeue_outside_the_24_hour_window_tells_the_customer_nothing() -> None:
    world, watch = setup(rules(agent_reply_seconds=86400, on_agent_silence="requeue"))
    conversation, _ = await held_by(world)
    assert sweep_at(world, watch, 2 * 86400) == {"requeue": 1}
    assert world.current(WA).state == ConversationState.QUEUED
    assert system_said(world, conversation.id) == []


async def test_the_handovers_requeues_are_not_transfers_for_the_cap_the_senior_lane_or_the_kpis() -> None:
    world, watch = setup(rules(agent_reply_seconds=60, on_agent_silence="requeue"))
    conversation, ana = await held_by(world)
    for silent_until in (120, 240):  # left unanswered twice: twice back in the queue
        assert sweep_at(world, watch, silent_until) == {"requeue": 1}
        assert world.assignments.claim_next(ana) is not None
    assert [t.requeue for t in world.store.packet(conversation.id).transfers] == [True, True]  # type: ignore[union-attr]

    # her first transfer is the conversation's first: billing at its priority, not the senior lane
    moved = world.transfers.transfer(
        ana, conversation.id, TransferRequest(reason="boleto", to_queue="billing")
    )
    assert (moved.queue, moved.priority) == ("billing", "normal")
    bea = world.available_agent("Bea", ["billing"])
    assert world.assignments.claim_next(bea) is not None
    world.assignments.resolve(bea, conversation.id)

    assert world.sync.hget(keys.COUNTERS, kpis.transfers_field(1)) == "1"  # one transfer, not three
    assert world.sync.hget(keys.COUNTERS, "transfers:cold") == "1"
