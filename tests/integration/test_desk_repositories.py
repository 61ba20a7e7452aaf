"""The repositories the desk reads through, on a real Redis: an agent's load, the queues' figures (counted
by score range, across priority bands), and what each agent's list holds."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from handover import activity, keys
from handover.agents import Agent, AgentStore, Role
from handover.assignment.queues import Queues, enqueue
from handover.clock import FixedClock
from handover.conversation import Conversation, ConversationState
from handover.inbox import Filters, Inbox
from handover.message import CustomerRef
from handover.numbers import register
from handover.rules.loader import load_rules
from handover.rules.model import Priority
from handover.store import Store

pytestmark = pytest.mark.integration

NOW = 1_800_000_000.0
RULES = load_rules(Path(__file__).resolve().parents[2] / "config" / "rules.yaml")  # general, billing...


def put(client: redis.Redis, name: str, state: ConversationState, **fields: object) -> Conversation:
    """A conversation as the services leave it: queued ones also in their queue, held ones in the load set,
    open ones in the activity index."""
    conversation = Conversation.start(CustomerRef(phone_number_id="PN", wa_id=name), NOW - 1000)
    conversation = conversation.model_copy(update={"id": name, "state": state, **fields})
    register(client, "PN")  # the number reached the webhook, as every conversation's did
    with client.pipeline(transaction=True) as pipe:
        Store(client).save_conversation(pipe, conversation)
        if state == ConversationState.QUEUED:
            assert conversation.queue is not None
            priority = Priority(conversation.priority or "normal")
            enqueue(pipe, "PN", conversation.queue, conversation.id, priority, conversation.updated_at)
        if conversation.agent_id and state == ConversationState.ASSIGNED:
            pipe.sadd(keys.agent_load_key(conversation.agent_id), conversation.id)
        if conversation.offer_to:
            pipe.zadd(keys.OFFERS, {conversation.id: NOW + 60})
        activity.touch(pipe, conversation.id, None, conversation, conversation.updated_at)
        pipe.execute()
    return conversation


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


def test_an_agents_load_is_what_they_hold_read_for_many_at_once(client):
    put(client, "c1", ConversationState.ASSIGNED, agent_id="ana", updated_at=NOW)
    put(client, "c2", ConversationState.ASSIGNED, agent_id="ana", updated_at=NOW)
    put(client, "c3", ConversationState.ASSIGNED, agent_id="bia", updated_at=NOW)
    agents = AgentStore(client)

    assert agents.load("ana") == 2
    assert agents.loads(["ana", "bia", "caio"]) == {"ana": 2, "bia": 1, "caio": 0}
    assert agents.held(["ana", "bia"]) == ["c1", "c2", "c3"]


@pytest.mark.parametrize(
    ("waits", "expected"),
    [
        ([], (0, None, 0)),  # empty: no oldest, nothing late
        ([("normal", 30)], (1, 30.0, 0)),
        ([("normal", 121), ("normal", 119)], (2, 121.0, 1)),  # past the 120 s SLA, one of them
        # an urgent newcomer goes first, yet the oldest wait and the breaches count every band
        ([("urgent", 10), ("normal", 500), ("low", 200)], (3, 500.0, 2)),
    ],
)
def test_queue_figures_count_every_priority_band(client, waits, expected):
    for i, (priority, waited) in enumerate(waits):
        put(
            client,
            f"q{i}",
            ConversationState.QUEUED,
            queue="general",
            priority=priority,
            updated_at=NOW - waited,
        )

    [figures] = Queues(client, FixedClock(NOW)).stats([("PN", "general")], {("PN", "general"): 120})

    oldest = None if figures.oldest_enqueued_at is None else round(NOW - figures.oldest_enqueued_at, 3)
    assert (figures.waiting, oldest, figures.sla_breaches) == expected


def test_a_queue_without_sla_has_no_breaches_and_queues_keep_their_order(client):
    put(client, "late", ConversationState.QUEUED, queue="vip", updated_at=NOW - 9000)
    put(client, "urgent", ConversationState.QUEUED, queue="vip", priority="urgent", updated_at=NOW)
    put(client, "b1", ConversationState.QUEUED, queue="billing", updated_at=NOW - 301)
    queues = Queues(client, FixedClock(NOW))

    vip, billing = queues.stats(
        [("PN", "vip"), ("PN", "billing")], {("PN", "vip"): None, ("PN", "billing"): 300}
    )

    assert (vip.waiting, vip.sla_breaches, billing.sla_breaches) == (2, 0, 1)
    assert (vip.number, vip.name) == ("PN", "vip")
    assert queues.waiting("PN", "vip") == ["urgent", "late"]
    assert queues.waiting_in([("PN", "billing"), ("PN", "vip")]) == ["b1", "urgent", "late"]
    assert queues.waiting("other", "vip") == []  # another number's vip is another queue


def agent(agent_id: str, queues: list[str], role: Role = Role.AGENT) -> Agent:
    return Agent(id=agent_id, name=agent_id, queues=queues, capacity=5, role=role, created_at=NOW)


def test_the_inbox_lists_what_is_theirs_waiting_for_them_and_offered_to_them(client):
    put(client, "mine", ConversationState.ASSIGNED, agent_id="ana", updated_at=NOW - 10)
    put(client, "waiting", ConversationState.QUEUED, queue="general", updated_at=NOW - 30)
    put(client, "offered", ConversationState.ASSIGNED, agent_id="bia", offer_to="ana", updated_at=NOW - 5)
    put(client, "billing", ConversationState.QUEUED, queue="billing", updated_at=NOW - 50)
    put(client, "bias", ConversationState.ASSIGNED, agent_id="bia", updated_at=NOW - 1)
    store = Store(client)
    agents = AgentStore(client)
    client.sadd(keys.AGENTS, "ana", "bia", "chefe")
    inbox = Inbox(store, agents, lambda *_: RULES)

    def listed(who: Agent, limit: int, **filters: object) -> list[str]:
        ids, cursor = [], None
        while True:
            page = inbox.page(who, Filters(**filters), limit, cursor)  # type: ignore[arg-type]
            ids += [c.id for c in page.conversations]
            if (cursor := page.next_cursor) is None:
                return ids

    ana, chefe = agent("ana", ["general"]), agent("chefe", [], Role.SUPERVISOR)
    assert listed(ana, 50) == listed(ana, 1) == ["offered", "mine", "waiting"]
    assert listed(chefe, 50) == listed(chefe, 2) == ["bias", "offered", "mine", "waiting", "billing"]
    assert listed(chefe, 2, state=ConversationState.QUEUED) == ["waiting", "billing"]
    assert listed(chefe, 2, agent_id="bia") == ["bias", "offered"]
    assert listed(ana, 2, agent_id="bia") == ["offered"]


def test_the_inbox_skips_what_is_gone(client):
    put(client, "there", ConversationState.QUEUED, queue="general", updated_at=NOW)
    client.zadd(keys.queue_key("PN", "general"), {"vanished": 1})
    client.zadd(keys.activity_waiting_key("PN", "general"), {"vanished": NOW + 1})
    inbox = Inbox(Store(client), AgentStore(client), lambda *_: RULES)

    assert [c.id for c in inbox.page(agent("ana", ["general"])).conversations] == ["there"]
