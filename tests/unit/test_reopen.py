"""A customer writing again soon after a resolve goes back to the same agent, else to the queue; later, a
new conversation starts with the bot."""

from __future__ import annotations

from pathlib import Path

import fakeredis

from handover import keys
from handover.agents import AgentStore, Presence, Role
from handover.claims import Assignments
from handover.enqueue import InboundItem, ingest
from handover.identity import FileDirectory
from handover.keys import Lane
from handover.message import CustomerRef, InboundKind, InboundMessage
from handover.processing import Processor
from handover.queues import RedisQueueView
from handover.rules.bot import RuleBot
from handover.rules.loader import load_rules
from handover.store import Store
from handover.streams import drain, ensure_groups

CONFIG = Path(__file__).resolve().parents[2] / "config"
RULES = load_rules(CONFIG / "rules.yaml")
T0 = 1_800_000_000.0
WA_ID = "5511912340000"


async def test_reopen_to_the_same_agent_then_the_queue_then_a_new_conversation():
    server = fakeredis.FakeServer()
    sync = fakeredis.FakeRedis(server=server, decode_responses=True)
    aclient = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    ensure_groups(sync, 2)
    store, agents = Store(sync), AgentStore(sync)
    now = [T0]
    bot = RuleBot(
        lambda: RULES, RedisQueueView(sync), FileDirectory(CONFIG / "customers.yaml"), clock=lambda: now[0]
    )
    processor = Processor(store=store, bot=bot, partitions=2, clock=lambda: now[0], rules=lambda: RULES)
    desk = Assignments(store, 2, lambda: RULES)
    created, _ = agents.add("Ana", ["general"], capacity=3, role=Role.AGENT)
    agents.set_status(created.id, Presence.AVAILABLE)
    ana = agents.get(created.id)
    customer = CustomerRef(phone_number_id="PN", wa_id=WA_ID, profile_name="Cliente")

    async def says(text: str, n: int):
        message = InboundMessage(
            id=f"wamid.{n}",
            customer=customer,
            timestamp=int(now[0]),
            kind=InboundKind.TEXT,
            wa_type="text",
            text=text,
        )
        await ingest(aclient, [InboundItem(type="message", message=message)], 2)
        for p in range(2):
            drain(sync, Lane.INBOUND, p, processor.handle, batch_size=10, lease_seconds=5)
        return store.current_conversation(customer)

    first = await says("atendente", 1)
    assert first.state == "queued"
    assert desk.claim_next(ana).id == first.id
    desk.resolve(ana, first.id, now=now[0])

    now[0] += 600  # ten minutes later
    again = await says("esqueci de perguntar: e a nota fiscal?", 2)
    assert (again.id, again.state, again.agent_id) == (first.id, "assigned", ana.id)
    assert sync.smembers(keys.agent_load_key(ana.id)) == {first.id}
    assert [e.text for e in store.transcript(first.id)][-1] == "esqueci de perguntar: e a nota fiscal?"

    desk.resolve(ana, first.id, now=now[0])
    agents.set_status(ana.id, Presence.AWAY)
    now[0] += 60
    queued = await says("mais uma coisa", 3)
    assert (queued.id, queued.state, queued.agent_id) == (first.id, "queued", None)
    assert sync.zrange(keys.queue_key("general"), 0, -1) == [first.id]
    assert store.packet(first.id).escalation.reason == "customer_asked"  # the old packet goes with it

    agents.set_status(ana.id, Presence.AVAILABLE)
    assert desk.claim_next(agents.get(ana.id)).id == first.id
    desk.resolve(ana, first.id, now=now[0])
    now[0] += RULES.rules.reopen_within_seconds + 1
    fresh = await says("oi", 4)
    assert fresh.id != first.id and fresh.state == "bot"
