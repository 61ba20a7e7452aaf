"""The desk's activity index (handover/activity.py) never drifts from the conversations: after every kind
of move — escalation, a customer writing, claim, warm offer declined/expired/accepted, cold transfer to a
queue or an agent, going offline, resolve, reopen, release, abandonment — it holds exactly the open ones,
each where it is, at its `updated_at`. And no writer of `updated_at` in handover/ is left that does not
keep it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from handover import activity, keys, lua
from handover.abandon import watch_windows
from handover.agents import Presence, Role
from handover.conversation import WINDOW_SECONDS, ConversationState
from handover.transfers import TransferRequest
from handover.warm import WarmTransfers
from tests.support.world import PNID, RULES, World

ROOT = Path(__file__).resolve().parents[2]


def filed(world: World) -> dict[str, dict[str, float]]:
    """Every index key the services could write, as it is."""
    names = [
        keys.ACTIVITY_WAITING,
        keys.ACTIVITY_HELD,
        *(keys.activity_waiting_key(PNID, q) for q in RULES.rules.queues),
        *(keys.activity_held_key(a) for a in world.agents.ids()),
    ]
    found = {name: dict(world.sync.zrange(name, 0, -1, withscores=True)) for name in names}
    return {name: entries for name, entries in found.items() if entries}


def expected(world: World) -> dict[str, dict[str, float]]:
    """What the conversations, as stored, say the index holds."""
    ids = world.sync.zrange(keys.CONVERSATIONS, 0, -1)
    wanted: dict[str, dict[str, float]] = {}
    for conversation in world.store.conversations(ids):
        assert conversation is not None
        for name in activity.index_keys(conversation):
            wanted.setdefault(name, {})[conversation.id] = conversation.updated_at
    return wanted


def in_step(world: World) -> None:
    assert filed(world) == expected(world)


async def test_every_move_keeps_the_index_where_the_conversations_are(world: World):
    ana = world.available_agent("Ana", ["general", "billing"], capacity=5)
    bia = world.available_agent("Bia", ["general"], capacity=5)
    boss = world.available_agent("Chefe", ["general"], capacity=5, role=Role.SUPERVISOR)
    warm = WarmTransfers(world.store, world.agents, world.loaded, world.partitions, clock=world.clock)
    desk = world.assignments

    def later() -> None:
        world.clock.advance(7)

    for n in range(6):  # escalated by the bot: the batch's move (Lifecycle.follow)
        await world.says(f"551190000000{n}", "quero falar com um atendente")
        later()
    in_step(world)
    await world.says("5511900000000", "alguém aí?")  # waiting, and writes: same place, newer
    in_step(world)
    assert len(expected(world)[keys.ACTIVITY_WAITING]) == 6

    c0 = desk.claim_next(ana)  # claim.lua
    assert c0 is not None
    later()
    in_step(world)
    await world.says(c0.wa_id or "", "obrigado")  # held, and writes
    in_step(world)

    warm.offer(ana, c0.id, TransferRequest(reason="vendas", to_agent=bia.id, mode="warm"))
    in_step(world)
    later()
    warm.decline(bia, c0.id)
    in_step(world)
    warm.offer(ana, c0.id, TransferRequest(reason="vendas", to_agent=bia.id, mode="warm"))
    world.clock.advance(RULES.rules.transfers.warm_timeout_seconds + 1)
    assert warm.expire_offers() == 1
    in_step(world)
    warm.offer(ana, c0.id, TransferRequest(reason="vendas", to_agent=bia.id, mode="warm"))
    later()
    warm.accept(world.agents.get(bia.id), c0.id)
    in_step(world)

    c1 = desk.claim_next(ana)
    assert c1 is not None
    later()
    world.transfers.transfer(ana, c1.id, TransferRequest(reason="boleto", to_queue="billing"))  # cold
    in_step(world)
    c2 = desk.claim_next(world.agents.get(ana.id))
    assert c2 is not None
    later()
    world.transfers.transfer(ana, c2.id, TransferRequest(reason="outra", to_agent=bia.id))  # cold, to her
    in_step(world)
    c3 = desk.claim_next(world.agents.get(boss.id))
    assert c3 is not None
    world.transfers.transfer(boss, c3.id, TransferRequest(reason="dela", to_agent=ana.id))  # a supervisor
    in_step(world)

    world.agents.set_status(bia.id, Presence.OFFLINE)
    later()
    assert len(world.transfers.requeue_held(world.agents.get(bia.id))) == 2  # back to their queues
    in_step(world)

    desk.resolve(ana, c3.id)  # finish.lua
    in_step(world)
    later()
    await world.says(c3.wa_id or "", "esqueci uma coisa")  # reopened, back to her (the batch)
    in_step(world)
    assert world.store.conversation(c3.id).state == ConversationState.ASSIGNED  # type: ignore[union-attr]
    desk.release_to_bot(ana, c3.id)  # finish.lua
    in_step(world)
    await world.says(c3.wa_id or "", "oi")  # with the bot again: nowhere in the index
    in_step(world)

    world.clock.advance(WINDOW_SECONDS + 1)  # nobody answered those still waiting: abandoned
    assert watch_windows(world.store, RULES, clock=world.clock)[1] >= 1
    in_step(world)
    assert ConversationState.QUEUED not in {c.state for c in world.store.conversations(list(_open(world)))}


def _open(world: World) -> set[str]:
    return {i for entries in filed(world).values() for i in entries}


# Writers of `updated_at`, found in the source: each must keep the index.

_TOUCHES = re.compile(r"\bactivity\.touch\(|\bLifecycle\.follow\(|\bself\.follow\(")


def _writes_updated_at(tree: ast.AST) -> bool:
    """A call that writes "updated_at" to Redis (hset/hmset), a mapping naming it (written later), or
    saving a whole conversation."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and any(
            isinstance(k, ast.Constant) and k.value == "updated_at" for k in node.keys
        ):
            return True
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr == "save_conversation":
            return True
        if node.func.attr in {"hset", "hmset"} and any(
            isinstance(n, ast.Constant) and n.value == "updated_at" for n in ast.walk(node)
        ):
            return True
    return False


def test_every_python_writer_of_updated_at_keeps_the_index():
    writers = [
        path
        for path in sorted((ROOT / "handover").rglob("*.py"))
        if _writes_updated_at(ast.parse(path.read_text()))
    ]
    assert {p.name for p in writers} >= {"lifecycle.py", "processing.py"}
    assert [str(p.relative_to(ROOT)) for p in writers if not _TOUCHES.search(p.read_text())] == []


def test_the_check_finds_a_writer():
    assert _writes_updated_at(ast.parse('pipe.hset(key, mapping={"updated_at": "1"})'))
    assert _writes_updated_at(ast.parse("store.save_conversation(pipe, c)"))
    assert _writes_updated_at(ast.parse('mapping = {"state": s, "updated_at": str(now)}'))
    assert not _writes_updated_at(ast.parse('pipe.hset(key, mapping={"answered_at": "1"})'))


def test_every_script_that_writes_updated_at_keeps_the_index():
    # what Redis runs: the script with its libraries (claim, assign and accept_offer write through lib/take)
    writers = [n for n in lua.names() if re.search(r"HSET'[^\n]*'updated_at'", lua.load(n).source)]
    assert {"claim", "finish", "assign", "accept_offer"} <= set(writers)
    for name in writers:
        script = lua.load(name)
        assert "activity" in script.uses and "activity_touch(" in script.source, name
