"""A supervisor giving out a waiting conversation assigns it (handover/transfers.py `is_assignment`): the
customer hears nothing, it goes in the packet's `assignments`, not its `transfers` (the cap, the senior
lane), and the audit says `kind: assignment`. Moving one an agent holds stays a transfer, whoever moves it."""

from __future__ import annotations

from handover import audit, keys
from handover.agents import Role
from handover.kpireport import report
from handover.transfers import TransferRequest
from tests.support.world import RULES, World

WA = "5511900001111"


def told_by_system(world: World, conversation_id: str) -> list[str]:
    """What the handover itself (not the bot, not an agent) sent the customer."""
    return [e.text or "" for e in world.store.transcript(conversation_id) if e.author == "system"]


async def waiting(world: World) -> str:
    conversation = await world.says(WA, "quero falar com um atendente")
    assert conversation.state == "queued"
    return conversation.id


async def test_a_supervisor_assigns_a_waiting_conversation_without_a_transfer(world: World):
    ana = world.available_agent("Ana", ["general", "billing"])
    boss = world.available_agent("Bia", ["general"], role=Role.SUPERVISOR)
    cid = await waiting(world)
    world.clock.advance(200)  # past general's 120 s SLA

    given = world.transfers.transfer(boss, cid, TransferRequest(reason="cliente antiga", to_agent=ana.id))

    assert (given.state, given.agent_id) == ("assigned", ana.id)
    assert world.sync.smembers(keys.agent_load_key(ana.id)) == {cid}
    assert told_by_system(world, cid) == []  # nobody spoke to them yet: nothing to announce
    packet = world.store.packet(cid)
    assert packet.transfers == []
    [given] = packet.assignments  # for Ana: who gave it to her, and why
    assert (given.from_, given.to, given.by, given.reason) == (
        "queue:general",
        ana.id,
        boss.id,
        "cliente antiga",
    )
    assert "transfers:cold" not in world.sync.hgetall(keys.COUNTERS)
    [entry] = audit.since(world.sync, 1, clock=world.clock)
    assert (entry.action, entry.detail["kind"], entry.detail["to_agent"]) == (
        "conversations.assign",
        "assignment",
        ana.id,
    )
    assert entry.who == f"Bia ({boss.id})"
    # an agent took it: service level and the abandonment rate count it as a take, late
    slas = {name: q.sla_seconds for name, q in RULES.rules.queues.items()}
    day = report(world.sync, 1, world.clock(), slas, RULES.rules.kpis.fcr_days)
    assert day.service_level.model_dump() == {"met": 0, "missed": 1, "rate": 0.0}

    # Ana's first real transfer is the conversation's first: not the senior lane
    world.clock.advance(60)
    moved = world.transfers.transfer(ana, cid, TransferRequest(reason="boleto", to_queue="billing"))
    assert (moved.queue, moved.priority) == ("billing", "normal")
    [transfer] = world.store.packet(cid).transfers
    assert (transfer.from_, transfer.to) == (ana.id, "queue:billing")
    assert [t.startswith("Vou te transferir") for t in told_by_system(world, cid)] == [True]


async def test_moving_a_waiting_conversation_around_tells_the_customer_nothing(world: World):
    ana = world.available_agent("Ana", ["general"])
    boss = world.available_agent("Bia", ["general"], role=Role.SUPERVISOR)
    cid = await waiting(world)
    moves = [
        TransferRequest(reason="fila errada", to_queue="billing"),
        TransferRequest(reason="de volta", to_queue="general"),
        TransferRequest(reason="a Ana conhece", to_agent=ana.id),
    ]
    for move in moves:
        world.transfers.transfer(boss, cid, move)
        world.clock.advance(5)
    world.drain_all()

    assert told_by_system(world, cid) == []
    assert world.store.packet(cid).transfers == []
    assert [a.to for a in world.store.packet(cid).assignments] == ["queue:billing", "queue:general", ana.id]
    assert world.current(WA).agent_id == ana.id
    shown = [(e.action, e.detail["kind"]) for e in audit.since(world.sync, 1, clock=world.clock)]
    assert shown == [  # newest first
        ("conversations.assign", "assignment"),
        ("conversations.move", "assignment"),
        ("conversations.move", "assignment"),
    ]
    # three moves, and past the cap an agent may still transfer it: none of them was a transfer
    assert world.transfers.transfer(ana, cid, TransferRequest(reason="x", to_queue="billing")).queue == (
        "billing"
    )


async def test_a_supervisor_moving_a_conversation_an_agent_holds_transfers_it(world: World):
    ana = world.available_agent("Ana", ["general"])
    caio = world.available_agent("Caio", ["general"])
    boss = world.available_agent("Bia", ["general"], role=Role.SUPERVISOR)
    cid = await waiting(world)
    assert world.assignments.claim_next(ana).id == cid

    moved = world.transfers.transfer(boss, cid, TransferRequest(reason="Caio resolve", to_agent=caio.id))

    assert moved.agent_id == caio.id
    [transfer] = world.store.packet(cid).transfers
    assert (transfer.from_, transfer.to, transfer.by) == (ana.id, caio.id, boss.id)
    assert len(told_by_system(world, cid)) == 1  # the customer was being served: they are told
    [entry] = audit.since(world.sync, 1, clock=world.clock)
    assert (entry.detail["kind"], entry.detail["from_agent"]) == ("transfer", ana.id)
