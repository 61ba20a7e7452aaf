"""The contact-centre KPIs (handover/kpireport.py, handover/fcr.py), each formula on a scripted story with
the one clock: service level, abandonment rate and medians, FCR with its pending part, per queue and agent,
the bot's FCR per rules version, transfers per conversation, breaches, AHT."""

from __future__ import annotations

from handover import fcr, keys, kpis
from handover.abandon import watch_windows
from handover.kpireport import Stats, report
from handover.transfers import TransferRequest
from tests.support.world import RULES, T0, World

DAY = 86400
SLAS = {name: q.sla_seconds for name, q in RULES.rules.queues.items()}
FCR_DAYS = RULES.rules.kpis.fcr_days


def stats(world: World, hours: int = 24, queue: str | None = None) -> Stats:
    return report(world.sync, hours, world.clock(), SLAS, FCR_DAYS, queue)


async def test_service_level_is_the_share_of_waits_taken_within_the_queues_sla(world: World) -> None:
    ana = world.available_agent("Ana", ["general", "billing"], capacity=5)
    quick = await world.says("5511900000001", "atendente")  # general: sla 120 s
    world.clock.advance(60)
    assert world.assignments.claim_next(ana).id == quick.id  # waited 60 s: met
    slow = await world.says("5511900000002", "atendente")
    world.clock.advance(121)
    assert world.assignments.claim_next(ana).id == slow.id  # waited 121 s: missed

    day = stats(world)
    assert day.service_level.model_dump() == {"met": 1, "missed": 1, "rate": 0.5}
    general = day.queues["general"]
    assert (general.service_level.met, general.service_level.missed, general.sla_seconds) == (1, 1, 120)
    assert (general.queue_wait.count, general.queue_wait.average_seconds) == (2, 90.5)
    assert day.queues["billing"].service_level.rate is None  # nothing taken there: no rate, not 0
    assert set(day.queues) == set(RULES.rules.queues)  # every queue listed, even quiet ones
    assert world.sync.hget(keys.COUNTERS, "queue:general:sla_met") == "1"  # for /metrics
    [hour] = [h for h in day.by_hour if h.taken]
    assert (hour.taken, hour.service_level) == (2, 0.5)
    assert stats(world, queue="billing").service_level.met == 0  # ?queue= is that queue only


async def test_abandonment_rate_counts_every_ended_wait_with_the_median_wait_by_reason(world: World) -> None:
    ana = world.available_agent("Ana", ["general"], capacity=5)
    taken = await world.says("5511900000011", "atendente")
    world.assignments.claim_next(ana)
    assert taken.state == "queued"
    closing = await world.says("5511900000012", "atendente")  # nobody takes it: its window closes
    world.clock.advance(DAY + 30)
    assert watch_windows(world.store, world.loaded(), clock=world.clock) == (0, 1)
    assert world.store.conversation(closing.id).state == "abandoned"
    with world.sync.pipeline() as pipe:  # what the way out of the queue counts (another part calls this)
        for waited in (40.0, 100.0, 600.0):
            kpis.abandoned(pipe, "general", "customer_left", waited, world.clock())
        pipe.execute()

    day = stats(world, hours=48)
    abandonment = day.abandonment
    assert (abandonment.abandoned, abandonment.taken, abandonment.rate) == (4, 1, 0.8)
    left, closed = abandonment.by_reason["customer_left"], abandonment.by_reason["window_closed"]
    assert (left.count, left.median_wait_seconds, left.average_wait_seconds) == (3, 100.0, 246.7)
    assert (closed.count, closed.median_wait_seconds) == (1, DAY + 30.0)
    assert day.queues["general"].abandonment.rate == 0.8
    assert stats(world, hours=48, queue="billing").abandonment.rate is None
    assert world.sync.hget(keys.COUNTERS, "abandoned:window_closed") == "1"
    assert world.sync.llen(keys.kpi_waits_key(int(world.clock() // 3600), "customer_left")) == 3


async def test_fcr_counts_who_came_back_within_fcr_days_in_the_hour_of_the_resolution(world: World) -> None:
    ana = world.available_agent("Ana", ["general"], capacity=5)
    customers = {"back_later": "5511900000021", "back_too_late": "5511900000022", "reopened": "5511900000023"}
    for wa_id in customers.values():
        conversation = await world.says(wa_id, "atendente")
        world.assignments.claim_next(ana)
        world.assignments.resolve(ana, conversation.id)
    resolved_hour = int(T0 // 3600) * 3600.0

    world.clock.advance(600)  # within reopen_within_seconds: never first contact
    reopened = await world.says(customers["reopened"], "esqueci uma coisa")
    assert reopened.state == "assigned"
    world.clock.advance(2 * DAY)
    assert (await world.says(customers["back_later"], "oi de novo")).state == "bot"

    early = stats(world, hours=72)
    assert early.fcr.model_dump() == {"resolved": 3, "came_back": 2, "pending": 1, "rate": 0.3333}
    [hour] = [h for h in early.by_hour if h.resolved]
    assert (hour.hour, hour.resolved, hour.came_back, hour.fcr, hour.fcr_pending) == (
        resolved_hour, 3, 2, 0.3333, True,
    )  # fmt: skip

    world.clock.advance(FCR_DAYS * DAY - 2 * DAY + 3600)  # past fcr_days: coming back now is a new contact
    await world.says(customers["back_too_late"], "oi, outra dúvida")
    settled = stats(world, hours=kpis.HOURS_KEPT)
    assert settled.fcr.model_dump() == {"resolved": 3, "came_back": 2, "pending": 0, "rate": 0.3333}
    assert settled.queues["general"].fcr.came_back == 2
    assert settled.agents[ana.id].fcr.model_dump() == {
        "resolved": 3,
        "came_back": 2,
        "pending": 0,
        "rate": 0.3333,
    }
    assert not next(h for h in settled.by_hour if h.resolved).fcr_pending
    assert 0 < world.sync.ttl(keys.fcr_hour_key(int(T0 // 3600))) <= fcr.TTL_SECONDS


async def test_the_bots_fcr_is_per_rules_version_of_what_it_contained(world: World) -> None:
    back, gone = "5511900000031", "5511900000032"
    for wa_id in (back, gone):
        await world.says(wa_id, "quero trocar um produto")
        await world.says(wa_id, "obrigado")  # contained
    world.clock.advance(2 * DAY)
    await world.says(back, "oi, de novo o produto")  # a new conversation: the containment came back

    bot = fcr.bot_stats(world.sync, 72, world.clock(), FCR_DAYS)
    [version] = bot.fcr_by_version
    assert (version.contained, version.came_back, version.pending, version.fcr) == (2, 1, 1, 0.5)
    assert version.version == world.loaded().version
    assert bot.totals.contained == 2  # the bot's own stats are all still there


async def test_transfers_per_resolved_conversation_aht_and_breaches_per_queue(world: World) -> None:
    ana = world.available_agent("Ana", ["general"], capacity=5)
    bia = world.available_agent("Bia", ["general", "billing"], capacity=5)
    direct = await world.says("5511900000041", "atendente")
    world.assignments.claim_next(ana)
    world.clock.advance(300)
    world.assignments.resolve(ana, direct.id)
    moved = await world.says("5511900000042", "atendente")
    world.assignments.claim_next(ana)
    world.transfers.transfer(ana, moved.id, TransferRequest(to_agent=bia.id, mode="cold", reason="boleto"))
    world.clock.advance(100)
    world.assignments.resolve(world.agents.get(bia.id), moved.id)
    with world.sync.pipeline() as pipe:  # what the reply clock counts (another part calls this)
        kpis.tally(pipe, "agent_silent", world.clock(), queue="general", agent_id=ana.id)
        kpis.tally(pipe, "idle_closed", world.clock(), queue="general", agent_id=bia.id)
        pipe.execute()

    day = stats(world)
    assert day.transfers_per_conversation == {"0": 1, "1": 1, "2": 0, "3+": 0}
    general = day.queues["general"]
    assert general.transfers_per_conversation == {"0": 1, "1": 1, "2": 0, "3+": 0}
    assert (general.resolved, general.handle.count) == (2, 2)
    assert general.handle.average_seconds == 200.0  # 300 s and 100 s (from the transfer to Bia)
    assert day.breaches.model_dump() == {"agent_silent": 1, "agent_silent_requeued": 0, "idle_closed": 1}
    assert day.agents[ana.id].breaches.agent_silent == 1 and day.agents[bia.id].breaches.idle_closed == 1
    assert kpis.transfers_field(7) == "resolved_transfers:3+"


def test_an_hour_is_pending_until_its_end_is_fcr_days_old() -> None:
    hour = int(T0 // 3600)
    end = (hour + 1) * 3600
    assert not fcr.settled(hour, end + 7 * DAY - 1, 7)
    assert fcr.settled(hour, end + 7 * DAY, 7)


def test_a_take_outside_the_scripts_counts_as_a_claim_does(world: World) -> None:
    """What a supervisor's assignment calls (kpis.taken): service level, taken and the wait, per queue."""
    with world.sync.pipeline() as pipe:
        kpis.taken(pipe, "general", 200.0, 120, world.clock(), agent_id="ag_ana")
        kpis.taken(pipe, "general", 20.0, 120, world.clock())
        kpis.taken(pipe, "senior", 20.0, None, world.clock())  # no SLA: taken, not in the service level
        pipe.execute()
    day = stats(world)
    assert day.service_level.model_dump() == {"met": 1, "missed": 1, "rate": 0.5}
    assert (day.abandonment.taken, day.claimed, day.queue_wait.count) == (3, 3, 3)
    assert day.queues["general"].queue_wait.average_seconds == 110.0
    assert world.sync.hget(keys.COUNTERS, "queue:general:sla_missed") == "1"
    assert day.agents["ag_ana"].assigned == 1
