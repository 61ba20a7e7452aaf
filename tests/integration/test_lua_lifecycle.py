"""The state-changing scripts on a real redis-server, one row per case: what Redis holds after each."""

from __future__ import annotations

import json

import pytest
import redis

import handover.lifecycle as lifecycle_module
from handover import keys
from handover.assignment.queues import enqueue
from handover.clock import FixedClock
from handover.conversation import Conversation, ConversationState
from handover.errors import Conflict, NotFound, NotYours
from handover.lifecycle import Lifecycle
from handover.message import CustomerRef
from handover.rules.model import Priority
from handover.store import Store
from tests.support.packets import packet_with_transfers

pytestmark = pytest.mark.integration
NOW = 1_800_000_000.0


def _waiting(client: redis.Redis, n: int, queue: str, priority: Priority, since: float) -> str:
    conversation = Conversation.start(CustomerRef(phone_number_id="PN", wa_id=f"55{n:09d}"), since)
    conversation.state, conversation.queue, conversation.priority = ConversationState.QUEUED, queue, priority
    with client.pipeline(transaction=True) as pipe:
        Store(client).save_conversation(pipe, conversation)
        enqueue(pipe, "PN", queue, conversation.id, priority, since)
        pipe.execute()
    return conversation.id


def _events(client: redis.Redis) -> list[tuple[str, str, str]]:
    return [(f["type"], f["conversation_id"], f["agent_id"]) for _, f in client.xrange(keys.DESK_EVENTS)]


@pytest.fixture
def client(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


# (queues the agent takes from, what waits: (queue, priority, since), index of who should be taken)
CLAIMS = [
    ("oldest first in one queue", ["general"], [("general", "normal", 10), ("general", "normal", 5)], 1),
    ("priority before age", ["general"], [("general", "normal", 1), ("general", "urgent", 9)], 1),
    (
        "best head across queues",
        ["general", "billing"],
        [("general", "normal", 9), ("billing", "normal", 2)],
        1,
    ),
    ("only the agent's queues", ["billing"], [("general", "urgent", 1), ("billing", "low", 9)], 1),
]


@pytest.mark.parametrize(("why", "queues", "waiting", "taken"), CLAIMS, ids=[c[0] for c in CLAIMS])
def test_claim_takes_the_best_waiting_conversation(client, why, queues, waiting, taken):
    ids = [_waiting(client, i, q, Priority(p), NOW - 100 + s) for i, (q, p, s) in enumerate(waiting)]
    claimed = Lifecycle(client, FixedClock(NOW)).claim("ag_1", 3, [("PN", q) for q in queues])
    assert claimed is not None and claimed.conversation_id == ids[taken]
    held = client.hgetall(keys.conversation_key(ids[taken]))
    assert (held["state"], held["agent_id"], float(held["assigned_at"])) == ("assigned", "ag_1", NOW)
    assert client.smembers(keys.agent_load_key("ag_1")) == {ids[taken]}
    assert client.zscore(keys.queue_key("PN", waiting[taken][0]), ids[taken]) is None
    waited, began, band = client.lindex(keys.queue_waits_key("PN", waiting[taken][0]), 0).split()
    assert float(waited) == pytest.approx(100 - waiting[taken][2], abs=0.01)
    assert float(began) == pytest.approx(NOW - 100 + waiting[taken][2], abs=0.01)
    assert int(band) == Priority.URGENT.weight - Priority(waiting[taken][1]).weight
    assert _events(client) == [("assigned", ids[taken], "ag_1")]  # in the same call as the change
    assert float(client.hget(keys.COUNTERS, "claimed")) == 1


# (queue's sla_seconds, how long the conversation waited, the counter it adds to: None for none)
SERVICE = [
    ("within the sla", 120, 60, "sla_met"),
    ("on the second", 120, 120, "sla_met"),
    ("after the sla", 120, 121, "sla_missed"),
    ("a queue without an sla", None, 500, None),
]


@pytest.mark.parametrize(("why", "sla", "waited", "counted"), SERVICE, ids=[r[0] for r in SERVICE])
def test_claim_counts_the_service_level_of_the_queue_it_took_from(client, why, sla, waited, counted):
    _waiting(client, 1, "billing", Priority.NORMAL, NOW - waited)
    lifecycle = Lifecycle(client, FixedClock(NOW), slas=lambda _: {"general": 5, "billing": sla})
    lifecycle.claim("ag_1", 3, [("PN", "general"), ("PN", "billing")])
    hour = client.hgetall(keys.kpi_hour_key(int(NOW // 3600)))
    counters = client.hgetall(keys.COUNTERS)
    service = {n: v for n, v in hour.items() if "sla_" in n}
    if counted is None:
        assert service == {}
    else:
        assert service == {counted: "1", f"queue:billing:{counted}": "1"}
        assert counters[f"queue:billing:{counted}"] == "1" and counters[counted] == "1"
    assert float(hour["queue:billing:claimed"]) == 1
    assert float(hour["queue:billing:queue_wait_seconds_sum"]) == pytest.approx(waited, abs=0.01)


def test_claim_when_nothing_waits_changes_nothing(client):
    assert Lifecycle(client, FixedClock(NOW)).claim("ag_1", 3, [("PN", "general")]) is None
    assert client.keys("*") == []


def test_claim_at_capacity_is_a_conflict_and_leaves_the_queue_alone(client):
    first = _waiting(client, 1, "general", Priority.NORMAL, NOW - 10)
    client.sadd(keys.agent_load_key("ag_1"), "other")
    with pytest.raises(Conflict, match="at capacity"):
        Lifecycle(client, FixedClock(NOW)).claim("ag_1", 1, [("PN", "general")])
    assert client.zscore(keys.queue_key("PN", "general"), first) is not None
    assert client.hget(keys.conversation_key(first), "state") == "queued"


def test_claim_skips_an_entry_that_is_not_waiting_any_more(client):
    stale = _waiting(client, 1, "general", Priority.URGENT, NOW - 50)
    client.hset(keys.conversation_key(stale), "state", "abandoned")  # the queue says otherwise: repaired
    fresh = _waiting(client, 2, "general", Priority.NORMAL, NOW - 10)
    claimed = Lifecycle(client, FixedClock(NOW)).claim("ag_1", 3, [("PN", "general")])
    assert claimed is not None and claimed.conversation_id == fresh
    assert client.hget(keys.conversation_key(stale), "state") == "abandoned"
    assert client.zcard(keys.queue_key("PN", "general")) == 0


def test_claim_retries_when_the_queue_moved_after_the_candidates_were_read(client, monkeypatch):
    lifecycle = Lifecycle(client, FixedClock(NOW))
    first = _waiting(client, 1, "general", Priority.NORMAL, NOW - 50)
    read = lifecycle_module.best_heads
    calls = []

    def stale_then_fresh(client, queues, count):
        calls.append(1)
        return (queues, ["someone-else"]) if len(calls) == 1 else read(client, queues, count)

    monkeypatch.setattr(lifecycle_module, "best_heads", stale_then_fresh)
    claimed = lifecycle.claim("ag_1", 3, [("PN", "general")])
    assert claimed is not None and claimed.conversation_id == first and len(calls) == 2


def _assigned(client: redis.Redis, agent: str = "ag_1") -> str:
    cid = _waiting(client, 7, "general", Priority.NORMAL, NOW - 100)
    Lifecycle(client, FixedClock(NOW - 60)).claim(agent, 3, [("PN", "general")])
    client.delete(keys.DESK_EVENTS)
    return cid


def test_resolve_counts_the_handle_time_and_announces_it_in_the_same_call(client):
    cid = _assigned(client)
    Lifecycle(client, FixedClock(NOW)).finish("ag_1", cid, ConversationState.RESOLVED)
    held = client.hgetall(keys.conversation_key(cid))
    assert (held["state"], float(held["resolved_at"])) == ("resolved", NOW)
    assert client.smembers(keys.agent_load_key("ag_1")) == set()
    hour = client.hgetall(keys.kpi_hour_key(int(NOW // 3600)))
    assert float(hour["resolved"]) == 1 and float(hour["handle_seconds_sum"]) == 60
    assert float(hour["agent:ag_1:resolved"]) == 1
    assert _events(client) == [("closed", cid, "ag_1")]


# (transfers it had, the band it counts in)
TRANSFER_BANDS = [(0, "0"), (1, "1"), (2, "2"), (3, "3+"), (6, "3+")]


@pytest.mark.parametrize(
    ("transfers", "band"), TRANSFER_BANDS, ids=[f"{t} transfers" for t, _ in TRANSFER_BANDS]
)
def test_resolve_counts_per_queue_transfers_and_the_fcr_bucket(client, transfers, band):
    cid = _assigned(client)
    with client.pipeline() as pipe:
        Store(client).save_packet(pipe, packet_with_transfers(cid, "general", transfers, NOW - 90))
        pipe.execute()
    Lifecycle(client, FixedClock(NOW)).finish("ag_1", cid, ConversationState.RESOLVED)
    hour = client.hgetall(keys.kpi_hour_key(int(NOW // 3600)))
    assert float(hour["queue:general:resolved"]) == 1
    assert float(hour["queue:general:handle_seconds_sum"]) == 60
    assert float(hour[f"resolved_transfers:{band}"]) == 1
    assert float(hour[f"queue:general:resolved_transfers:{band}"]) == 1
    assert float(client.hget(keys.COUNTERS, f"resolved_transfers:{band}")) == 1
    fcr = client.hgetall(keys.fcr_hour_key(int(NOW // 3600)))
    assert fcr == {"resolved": "1", "queue:general:resolved": "1", "agent:ag_1:resolved": "1"}
    assert 0 < client.ttl(keys.fcr_hour_key(int(NOW // 3600))) <= 39 * 86400


def test_release_counts_no_resolution(client):
    cid = _assigned(client)
    Lifecycle(client, FixedClock(NOW)).finish("ag_1", cid, ConversationState.BOT)
    assert not client.exists(keys.fcr_hour_key(int(NOW // 3600)))
    assert "queue:general:resolved" not in client.hgetall(keys.kpi_hour_key(int(NOW // 3600)))


def test_release_hands_it_back_to_the_bot_with_a_fresh_memory(client):
    cid = _assigned(client)
    client.hset(keys.conversation_key(cid), "bot", json.dumps({"turns": 5}))
    Lifecycle(client, FixedClock(NOW)).finish("ag_1", cid, ConversationState.BOT)
    held = client.hgetall(keys.conversation_key(cid))
    assert held["state"] == "bot" and "agent_id" not in held and "queue" not in held
    assert json.loads(held["bot"])["turns"] == 0
    assert _events(client) == [("released", cid, "ag_1")]


FINISH_REFUSED = [
    ("not_found", "ag_1", NotFound),
    ("someone else's", "ag_2", NotYours),
]


@pytest.mark.parametrize(("why", "who", "error"), FINISH_REFUSED, ids=[r[0] for r in FINISH_REFUSED])
def test_finish_is_refused_and_changes_nothing(client, why, who, error):
    cid = _assigned(client) if why != "not_found" else "nobody"
    before = client.hgetall(keys.conversation_key(cid))
    with pytest.raises(error):
        Lifecycle(client, FixedClock(NOW)).finish(who, cid, ConversationState.RESOLVED)
    assert client.hgetall(keys.conversation_key(cid)) == before
    assert _events(client) == []


def test_finish_is_guarded_by_the_state_it_starts_from(client):
    cid = _assigned(client)
    Lifecycle(client, FixedClock(NOW)).finish("ag_1", cid, ConversationState.RESOLVED)
    with pytest.raises(Conflict, match="conversation is resolved"):
        Lifecycle(client, FixedClock(NOW + 1)).finish("ag_1", cid, ConversationState.RESOLVED)
    assert float(client.hget(keys.COUNTERS, "resolved")) == 1  # counted once
