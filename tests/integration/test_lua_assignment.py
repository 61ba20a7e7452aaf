"""The push queues' scripts on a real redis-server (assign, accept_offer, withdraw_offer), one row per case:
what each answers and what Redis holds after it."""

from __future__ import annotations

import json

import pytest
import redis

from handover import keys
from handover.agents import AgentStore, Presence, Role
from handover.assignment.push import Assigner
from handover.assignment.queues import enqueue
from handover.clock import FixedClock
from handover.conversation import Conversation, ConversationState
from handover.errors import Conflict, NotFound, NotYours
from handover.lifecycle import Decided, Lifecycle
from handover.message import CustomerRef
from handover.rules.model import Priority
from handover.store import Store

pytestmark = pytest.mark.integration
NOW = 1_800_000_000.0
AGENT = "ag_1"


@pytest.fixture
def client(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


def waiting(client: redis.Redis, since: float = NOW - 60) -> str:
    conversation = Conversation.start(CustomerRef(phone_number_id="PN", wa_id="5511900000001"), since)
    conversation.state, conversation.queue, conversation.priority = (
        ConversationState.QUEUED,
        "general",
        "normal",
    )
    with client.pipeline(transaction=True) as pipe:
        Store(client).save_conversation(pipe, conversation)
        enqueue(pipe, "PN", "general", conversation.id, Priority.NORMAL, since)
        pipe.execute()
    return conversation.id


def agent(client: redis.Redis, status: str = "available", held: int = 0, offered: int = 0) -> None:
    client.hset(keys.agent_key(AGENT), "status", status)
    for n in range(held):
        client.sadd(keys.agent_load_key(AGENT), f"held{n}")
    for n in range(offered):
        client.sadd(keys.agent_offers_key(AGENT), f"offered{n}")


def events(client: redis.Redis) -> list[tuple[str, str]]:
    return [(f["type"], f["agent_id"]) for _, f in client.xrange(keys.DESK_EVENTS)]


# (why, the agent as it stands, skipped before, what the script answers)
REFUSALS = [
    ("away", {"status": "away"}, False, Decided.BUSY),
    ("offline (no status)", {"status": ""}, False, Decided.BUSY),
    ("at capacity with what they hold", {"held": 2}, False, Decided.BUSY),
    ("at capacity counting offers", {"held": 1, "offered": 1}, False, Decided.BUSY),
    ("skipped it before", {}, True, Decided.BUSY),
]


@pytest.mark.parametrize(("why", "stands", "skipped", "answer"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_assign_refuses_an_agent_who_cannot_take_it_and_changes_nothing(client, why, stands, skipped, answer):
    conversation = waiting(client)
    agent(client, **stands)
    if skipped:
        client.sadd(keys.skip_key(conversation), AGENT)
    assert Lifecycle(client).assign(conversation, "PN", "general", AGENT, 2, 0, NOW) is answer
    assert client.hget(keys.conversation_key(conversation), "state") == "queued"
    assert client.zscore(keys.queue_key("PN", "general"), conversation) is not None
    assert events(client) == []


def test_assign_at_once_makes_it_the_agents_and_counts_the_wait(client):
    conversation = waiting(client, since=NOW - 42)
    agent(client)
    client.sadd(keys.skip_key(conversation), "ag_other")
    assert Lifecycle(client).assign(conversation, "PN", "general", AGENT, 2, 0, NOW) is Decided.ASSIGNED
    held = client.hgetall(keys.conversation_key(conversation))
    assert (held["state"], held["agent_id"]) == ("assigned", AGENT)
    assert client.smembers(keys.agent_load_key(AGENT)) == {conversation}
    assert client.zcard(keys.queue_key("PN", "general")) == 0
    assert events(client) == [("assigned", AGENT)]
    assert float(client.hget(keys.COUNTERS, "assign_seconds_sum")) == pytest.approx(42, abs=0.01)
    assert float(client.hget(keys.ROUTING_LAST, AGENT)) == NOW
    assert not client.exists(keys.skip_key(conversation))


# (the queue's sla_seconds, the counter the take adds to: None for none)
SERVICE = [("within", 60, "sla_met"), ("after", 30, "sla_missed"), ("no sla", None, None)]


@pytest.mark.parametrize(("why", "sla", "counted"), SERVICE, ids=[r[0] for r in SERVICE])
def test_assign_and_accept_count_the_service_level(client, why, sla, counted):
    assigned = waiting(client, since=NOW - 42)
    agent(client)
    lifecycle = Lifecycle(client, slas=lambda _: {"general": sla})
    lifecycle.assign(assigned, "PN", "general", AGENT, 5, 0, NOW)
    accepted = waiting(client, since=NOW - 42)
    lifecycle.assign(accepted, "PN", "general", AGENT, 5, 20, NOW)
    lifecycle.accept_offer(AGENT, 5, accepted, NOW + 1)
    hour = client.hgetall(keys.kpi_hour_key(int(NOW // 3600)))
    assert hour["queue:general:claimed"] == "2"
    if counted is None:
        assert not [n for n in hour if "sla_" in n]
    else:
        assert (hour[counted], hour[f"queue:general:{counted}"]) == ("2", "2")
        assert client.hget(keys.COUNTERS, f"queue:general:{counted}") == "2"


def test_assign_with_a_timeout_offers_it_out_of_the_queue(client):
    conversation = waiting(client)
    score = client.zscore(keys.queue_key("PN", "general"), conversation)
    agent(client)
    assert Lifecycle(client).assign(conversation, "PN", "general", AGENT, 2, 20, NOW) is Decided.OFFERED
    held = client.hgetall(keys.conversation_key(conversation))
    assert (held["state"], held["offer_to"], float(held["offer_expires_at"])) == ("queued", AGENT, NOW + 20)
    assert float(held["offer_score"]) == score
    assert client.zcard(keys.queue_key("PN", "general")) == 0
    assert client.smembers(keys.agent_offers_key(AGENT)) == {conversation}
    assert client.zscore(keys.PUSH_OFFERS, conversation) == NOW + 20
    (_, offered), *_ = client.xrange(keys.DESK_EVENTS)
    assert (offered["type"], offered["agent_id"], json.loads(offered["data"])) == (
        "offered",
        AGENT,
        {"expires_at": NOW + 20},
    )


def test_assign_of_a_conversation_no_longer_waiting_is_gone(client):
    conversation = waiting(client)
    agent(client)
    Lifecycle(client, FixedClock(NOW)).claim("ag_other", 3, [("PN", "general")])
    assert Lifecycle(client).assign(conversation, "PN", "general", AGENT, 2, 0, NOW) is Decided.GONE
    assert client.hget(keys.conversation_key(conversation), "agent_id") == "ag_other"


def offered(client: redis.Redis) -> str:
    conversation = waiting(client)
    agent(client)
    Lifecycle(client).assign(conversation, "PN", "general", AGENT, 2, 20, NOW)
    return conversation


def test_accept_in_time_makes_it_the_agents(client):
    conversation = offered(client)
    Lifecycle(client).accept_offer(AGENT, 2, conversation, NOW + 5)
    held = client.hgetall(keys.conversation_key(conversation))
    assert (held["state"], held["agent_id"]) == ("assigned", AGENT)
    assert "offer_to" not in held and "offer_score" not in held
    assert client.smembers(keys.agent_load_key(AGENT)) == {conversation}
    assert not client.smembers(keys.agent_offers_key(AGENT)) and not client.zcard(keys.PUSH_OFFERS)
    assert float(client.hget(keys.COUNTERS, "offers_accepted")) == 1


@pytest.mark.parametrize(
    ("why", "who", "at", "error"),
    [
        ("someone else", "ag_other", NOW + 5, NotYours),
        ("too late", AGENT, NOW + 21, Conflict),
    ],
)
def test_accept_refused_leaves_the_offer_standing(client, why, who, at, error):
    conversation = offered(client)
    with pytest.raises(error):
        Lifecycle(client).accept_offer(who, 2, conversation, at)
    assert client.hget(keys.conversation_key(conversation), "offer_to") == AGENT
    assert client.zscore(keys.PUSH_OFFERS, conversation) == NOW + 20


def test_accept_of_nothing_is_not_found(client):
    with pytest.raises(NotFound):
        Lifecycle(client).accept_offer(AGENT, 2, "nope", NOW)


def test_accept_at_capacity_is_a_conflict(client):
    conversation = offered(client)
    client.sadd(keys.agent_load_key(AGENT), "a", "b")
    with pytest.raises(Conflict):
        Lifecycle(client).accept_offer(AGENT, 2, conversation, NOW + 1)


@pytest.mark.parametrize(
    ("why", "counted"), [("declined", "offers_declined"), ("unavailable", "offers_withdrawn")]
)
def test_withdraw_puts_it_back_in_its_place_and_skips_the_agent(client, why, counted):
    conversation = offered(client)
    score = float(client.hget(keys.conversation_key(conversation), "offer_score"))
    done, away = Lifecycle(client).withdraw_offer(conversation, AGENT, why, 3, NOW + 1)
    assert (done, away) == (True, False)
    assert client.zscore(keys.queue_key("PN", "general"), conversation) == score
    assert "offer_to" not in client.hgetall(keys.conversation_key(conversation))
    assert client.smembers(keys.skip_key(conversation)) == {AGENT}
    assert not client.smembers(keys.agent_offers_key(AGENT)) and not client.zcard(keys.PUSH_OFFERS)
    assert float(client.hget(keys.COUNTERS, counted)) == 1
    assert events(client)[-1] == ("offer_withdrawn", AGENT)


def test_a_timeout_is_only_taken_once_due_and_the_nth_in_a_row_sets_the_agent_away(client):
    conversation = offered(client)
    lifecycle = Lifecycle(client)
    assert lifecycle.withdraw_offer(conversation, AGENT, "timeout", 2, NOW + 19) == (False, False)
    assert client.hget(keys.conversation_key(conversation), "offer_to") == AGENT
    assert lifecycle.withdraw_offer(conversation, AGENT, "timeout", 2, NOW + 20) == (True, False)
    assert client.hget(keys.agent_key(AGENT), "status") == "available"  # one missed: not yet

    client.delete(keys.skip_key(conversation))
    lifecycle.assign(conversation, "PN", "general", AGENT, 2, 20, NOW + 30)
    assert lifecycle.withdraw_offer(conversation, AGENT, "timeout", 2, NOW + 50) == (True, True)
    assert client.hget(keys.agent_key(AGENT), "status") == "away"
    status = [
        json.loads(f["data"]) for _, f in client.xrange(keys.DESK_EVENTS) if f["type"] == "agent_status"
    ]
    assert status == [{"status": "away", "why": "missed_offers"}]
    assert not client.hexists(keys.ROUTING_MISSED, AGENT)  # counted afresh when they come back


def test_an_accepted_offer_resets_the_missed_count(client):
    conversation = offered(client)
    client.hset(keys.ROUTING_MISSED, AGENT, 1)
    Lifecycle(client).accept_offer(AGENT, 2, conversation, NOW + 1)
    assert not client.hexists(keys.ROUTING_MISSED, AGENT)


def test_withdraw_of_an_offer_that_moved_on_only_cleans_the_index(client):
    conversation = offered(client)
    Lifecycle(client).accept_offer(AGENT, 2, conversation, NOW + 1)
    client.zadd(keys.PUSH_OFFERS, {conversation: NOW})  # a stale entry
    assert Lifecycle(client).withdraw_offer(conversation, AGENT, "timeout", 3, NOW + 30) == (False, False)
    assert not client.zcard(keys.PUSH_OFFERS)
    assert client.hget(keys.conversation_key(conversation), "state") == "assigned"


def test_the_agents_snapshot_reads_every_agent_in_one_call(client):
    agents = AgentStore(client)
    ana, _ = agents.add("Ana", ["general"], capacity=3, role=Role.AGENT, languages=["pt"], skills=["cards"])
    bia, _ = agents.add("Bia", ["billing"], capacity=2, role=Role.AGENT)
    agents.set_status(ana.id, Presence.AVAILABLE)
    client.sadd(keys.agent_load_key(ana.id), "c1")
    client.sadd(keys.agent_offers_key(ana.id), "c2")
    client.hset(keys.ROUTING_LAST, ana.id, NOW - 50)
    client.hset(keys.ROUTING_FREED, ana.id, NOW - 10)
    client.hset(keys.assigned_today_key(int(NOW // 86400)), ana.id, 7)

    seen = Assigner(client, lambda: None).candidates(NOW)  # type: ignore[arg-type, return-value]

    a, b = seen[ana.id], seen[bia.id]
    assert (a.available, a.load, a.capacity, a.queues, a.languages, a.skills) == (
        True,
        2,
        3,
        frozenset({"general"}),
        frozenset({"pt"}),
        frozenset({"cards"}),
    )
    assert (a.idle_since, a.assigned, a.last_assigned_at) == (NOW - 10, 7, NOW - 50)
    assert (b.available, b.load, b.assigned, b.last_assigned_at) == (False, 0, 0, 0.0)
