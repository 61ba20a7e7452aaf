"""The clocks on held conversations on a fake Redis, one rule a test: the agent reply clock (first answer
included, "?" does not restart it, business hours pause it, alerted once, requeued ahead of newer ones and
to someone else), and what the desk shows of both clocks (handover/clocks.py, handover/clockwatch.py). The
customer idle clock's own rules are in test_idle_clock.py."""

from __future__ import annotations

from desk.models import ConversationDetail, ConversationSummary
from handover import keys, kpis
from handover.agents import Presence
from handover.assignment.push import Assigner
from handover.clocks import open_seconds
from handover.conversation import ConversationState
from handover.inbox import Inbox
from handover.transfers import TransferRequest
from tests.support.clocked import (
    ASK,
    WA,
    counted,
    events_of,
    held_by,
    rules,
    setup,
    sweep_at,
    system_said,
)
from tests.support.world import PNID, T0, World

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
    assert world.sync.zrange(keys.queue_key(PNID, "general"), 0, -1) == [conversation.id, newer.id]
    assert world.sync.smembers(keys.agent_load_key(ana.id)) == set()
    [moved] = events_of(world, "transferred")
    assert '"reason": "agent_silent"' in moved["data"] and f'"by": "{ana.id}"' in moved["data"]
    assert world.store.packet(conversation.id).transfers[-1].reason == "agent_silent"  # type: ignore[union-attr]
    assert system_said(world, conversation.id) == [
        "Desculpe a demora, Cliente. Outra pessoa da equipe vai continuar o seu atendimento."
    ]
    assert (counted(world, "agent_silent"), counted(world, "agent_silent_requeued")) == (1, 1)


async def test_an_answer_landing_as_the_requeue_commits_keeps_the_conversation_with_its_agent() -> None:
    """The sweep found Ana silent for 300 s; her answer lands between that read and the move. The move checks
    the clock again on what it commits (Transfers.requeue_one `still`), so she keeps the conversation."""
    world, watch = setup(
        rules(agent_reply_seconds=120, on_agent_silence="requeue", requeue_after_seconds=300)
    )
    conversation, ana = await held_by(world)
    assert sweep_at(world, watch, 120) == {"alert": 1}
    requeue_one = watch.transfers.requeue_one

    def answer_lands_first(*args, **kwargs):  # type: ignore[no-untyped-def]
        world.assignments.send(ana, conversation.id, "Desculpe, estou aqui!")
        return requeue_one(*args, **kwargs)

    watch.transfers.requeue_one = answer_lands_first  # type: ignore[method-assign]
    assert sweep_at(world, watch, 300) == {}
    held = world.current(WA)
    assert (held.state, held.agent_id) == (ConversationState.ASSIGNED, ana.id)
    assert world.sync.smembers(keys.agent_load_key(ana.id)) == {conversation.id}
    assert events_of(world, "transferred") == []
    assert counted(world, "agent_silent_requeued") == 0


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
