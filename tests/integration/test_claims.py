"""Many agents claiming at once on a real Redis: every conversation is taken exactly once, within capacity."""

from __future__ import annotations

import threading

import pytest
import redis

from handover import keys
from handover.agents import AgentStore, Presence, Role
from handover.assignment.claims import Assignments
from handover.assignment.queues import enqueue
from handover.clock import FixedClock
from handover.conversation import Conversation, ConversationState
from handover.errors import Conflict
from handover.message import CustomerRef
from handover.numbers import register
from handover.rules.model import Priority
from handover.store import Store

pytestmark = pytest.mark.integration


def waiting(client: redis.Redis, store: Store, count: int, queues: list[str]) -> list[str]:
    ids = []
    register(client, "PN")  # the number reached the webhook, as every conversation's did
    with client.pipeline(transaction=True) as pipe:
        for i in range(count):
            conversation = Conversation.start(
                CustomerRef(phone_number_id="PN", wa_id=f"55{i:09d}"), 1000.0 + i
            )
            conversation.state = ConversationState.QUEUED
            conversation.queue = queues[i % len(queues)]
            conversation.priority = "normal"
            store.save_conversation(pipe, conversation)
            priority = Priority.URGENT if i % 10 == 0 else Priority.NORMAL
            enqueue(pipe, "PN", conversation.queue, conversation.id, priority, 1000.0 + i)
            ids.append(conversation.id)
        pipe.execute()
    return ids


def test_concurrent_claims_never_share_a_conversation_or_exceed_capacity(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store, agents = Store(client), AgentStore(client)
    ids = waiting(client, store, 120, ["general", "billing"])
    team = []
    for i in range(12):
        queues = ["general", "billing"] if i % 3 == 0 else ["general"] if i % 3 == 1 else ["billing"]
        agent, _ = agents.add(f"agent {i}", queues, capacity=3 + i % 4, role=Role.AGENT)
        agents.set_status(agent.id, Presence.AVAILABLE)
        team.append(agents.get(agent.id))
    claimed: dict[str, list[str]] = {a.id: [] for a in team}
    start = threading.Event()

    def work(agent) -> None:
        desk = Assignments(Store(redis.Redis.from_url(redis_url, decode_responses=True)), partitions=4)
        start.wait()
        while True:
            try:
                conversation = desk.claim_next(agent)
            except Conflict:
                return  # at capacity
            if conversation is None:
                return
            claimed[agent.id].append(conversation.id)

    threads = [threading.Thread(target=work, args=(a,)) for a in team]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join(30)

    everything = [c for got in claimed.values() for c in got]
    assert len(everything) == len(set(everything))  # nobody shares a conversation
    capacity = sum(a.capacity for a in team)
    assert len(everything) == min(capacity, len(ids))
    for agent in team:
        assert len(claimed[agent.id]) <= agent.capacity
        assert set(client.smembers(keys.agent_load_key(agent.id))) == set(claimed[agent.id])
        for conversation_id in claimed[agent.id]:
            conversation = store.conversation(conversation_id)
            assert (conversation.state, conversation.agent_id) == ("assigned", agent.id)
            assert conversation.queue in agent.queues
    left = client.zcard(keys.queue_key("PN", "general")) + client.zcard(keys.queue_key("PN", "billing"))
    assert left == len(ids) - len(everything)
    # urgent ones went first: every urgent conversation was claimed before any normal one is left behind
    urgent = {ids[i] for i in range(0, len(ids), 10)}
    assert urgent <= set(everything)


def test_claim_order_priority_then_age_and_wait_samples(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store, agents = Store(client), AgentStore(client)
    ids = waiting(client, store, 12, ["general"])
    agent, token = agents.add("Bia", ["general"], capacity=50, role=Role.AGENT)
    desk = Assignments(store, partitions=4, clock=FixedClock(2000.0))  # the claims happen at 2000
    with pytest.raises(Conflict):
        desk.claim_next(agents.get(agent.id))  # offline agents take nothing
    agents.set_status(agent.id, Presence.AVAILABLE)
    order = []
    while (conversation := desk.claim_next(agents.get(agent.id))) is not None:
        order.append(conversation.id)
    assert order == [ids[0], ids[10]] + [i for n, i in enumerate(ids) if n % 10 != 0]
    waits = [float(w.split()[0]) for w in client.lrange(keys.queue_waits_key("PN", "general"), 0, -1)]
    assert waits[-1] == pytest.approx(2000.0 - 1000.0)
    assert agents.by_token(token).id == agent.id and agents.by_token("hv_wrong") is None
    assert token not in str(client.hgetall(keys.agent_key(agent.id)))
