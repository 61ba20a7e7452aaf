"""Queues belong to business numbers: their keys carry the number as a hash tag, and the upgrade moves what
the old layout (one `hv:queue:<name>` for every number) holds into each conversation's own number's queue."""

from __future__ import annotations

import fakeredis
import pytest

from handover import keys, upgrades
from handover.assignment.queues import Queues, RedisQueueView, enqueue, queue_score
from handover.conversation import Conversation, ConversationState
from handover.message import CustomerRef
from handover.numbers import known, register
from handover.rules.model import Priority
from handover.store import Store

pytestmark = pytest.mark.unit

A, B = "1000000000001", "2000000000002"
NOW = 1_800_000_000.0


@pytest.fixture
def client() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)


def test_a_queue_key_is_its_numbers_and_carries_the_number_as_hash_tag():
    assert keys.queue_key(A, "general") == "hv:{1000000000001}:queue:general"
    assert keys.queue_waits_key(A, "general") == "hv:{1000000000001}:queue:general:waits"
    assert keys.activity_waiting_key(A, "general") == "hv:{1000000000001}:activity:waiting:general"
    assert keys.queue_key(A, "general") != keys.queue_key(B, "general")
    # the old layout, read only by the upgrade
    assert keys.old_queue_key("general") == "hv:queue:general"
    assert keys.old_queue_waits_key("general") == "hv:queue:general:waits"
    assert keys.old_activity_waiting_key("general") == "hv:activity:waiting:general"


def test_a_customer_of_one_number_is_not_counted_in_the_others_line(client):
    with client.pipeline() as pipe:
        for n in range(7):  # seven of A's customers wait in A's general
            enqueue(pipe, A, "general", f"a{n}", Priority.NORMAL, NOW - 100 + n)
        pipe.execute()
    view = RedisQueueView(client)
    assert view.position(B, "general", Priority.NORMAL, NOW) == 1  # B's first customer: 1º, not 8º
    assert view.position(A, "general", Priority.NORMAL, NOW) == 8
    assert Queues(client).waiting(B, "general") == []


def _old_waiting(client, conversation_id: str, number: str | None, queue: str, at: float) -> None:
    """A conversation as the old layout kept it: in hv:queue:<name> and hv:activity:waiting:<name>."""
    if number is not None:
        conversation = Conversation.start(CustomerRef(phone_number_id=number, wa_id=conversation_id), at)
        conversation = conversation.model_copy(
            update={"id": conversation_id, "state": ConversationState.QUEUED, "queue": queue}
        )
        with client.pipeline() as pipe:
            Store(client).save_conversation(pipe, conversation)
            pipe.execute()
    client.zadd(keys.old_queue_key(queue), {conversation_id: queue_score(Priority.NORMAL, at)})
    client.zadd(keys.old_activity_waiting_key(queue), {conversation_id: at})


def _layout(client) -> dict[str, object]:
    """Every queue-related key and what it holds."""
    found: dict[str, object] = {}
    for key in sorted(client.scan_iter(match="hv:*")):
        kind = client.type(key)
        if kind == "zset":
            found[key] = client.zrange(key, 0, -1, withscores=True)
        elif kind == "list":
            found[key] = client.lrange(key, 0, -1)
        elif kind == "set":
            found[key] = sorted(client.smembers(key))
    return {k: v for k, v in found.items() if ":queue:" in k or "activity:waiting" in k or k == keys.NUMBERS}


def test_the_upgrade_moves_each_waiting_conversation_to_its_own_numbers_queue_and_twice_is_once(client):
    _old_waiting(client, "a1", A, "general", NOW - 300)
    _old_waiting(client, "b1", B, "general", NOW - 200)
    _old_waiting(client, "a2", A, "billing", NOW - 100)
    _old_waiting(client, "gone", None, "general", NOW - 400)  # its conversation was deleted
    client.lpush(keys.old_queue_waits_key("general"), "30.000 1799999000.000 2", "20.000 1799999100.000 2")
    client.lpush(keys.queue_waits_key(A, "general"), "10.000 1799999900.000 2")  # written by the new code
    a1_score = client.zscore(keys.old_queue_key("general"), "a1")

    moved = upgrades.queues_per_number(client)

    assert (moved.conversations, moved.activity, moved.waits, moved.dropped) == (3, 3, 1, 2)
    assert moved.numbers == [A, B]
    assert Queues(client).waiting(A, "general") == ["a1"]
    assert Queues(client).waiting(B, "general") == ["b1"]
    assert Queues(client).waiting(A, "billing") == ["a2"]
    assert client.zscore(keys.queue_key(A, "general"), "a1") == a1_score  # its place kept
    assert client.zrange(keys.activity_waiting_key(B, "general"), 0, -1) == ["b1"]
    # the waits list names nobody: each number known gets its samples, after what was written since
    assert client.lrange(keys.queue_waits_key(A, "general"), 0, -1) == [
        "10.000 1799999900.000 2",
        "20.000 1799999100.000 2",
        "30.000 1799999000.000 2",
    ]
    assert client.lrange(keys.queue_waits_key(B, "general"), 0, -1) == [
        "20.000 1799999100.000 2",
        "30.000 1799999000.000 2",
    ]
    for old in ("general", "billing"):  # nothing left in the old layout
        assert not client.exists(keys.old_queue_key(old), keys.old_activity_waiting_key(old))
    assert not client.exists(keys.old_queue_waits_key("general"))
    assert known(client, _no_listed()) == [A, B]  # registered: pulls and pushes see both numbers

    after = _layout(client)
    again = upgrades.queues_per_number(client)
    assert again.already and _layout(client) == after


def test_the_numbers_of_held_conversations_are_registered_too(client):
    conversation = Conversation.start(CustomerRef(phone_number_id=B, wa_id="5521"), NOW)
    with client.pipeline() as pipe:
        Store(client).save_conversation(pipe, conversation)
        pipe.execute()
    client.sadd(keys.AGENTS, "ag_1")
    client.sadd(keys.agent_load_key("ag_1"), conversation.id)  # held: back to B's queue one day

    assert upgrades.queues_per_number(client).numbers == [B]
    assert known(client, _no_listed()) == [B]


def test_an_upgrade_cut_short_goes_on_where_it_stopped(client):
    for n in range(5):
        _old_waiting(client, f"a{n}", A, "general", NOW - 100 + n)
    client.zadd(keys.queue_key(A, "general"), {"a0": client.zscore(keys.old_queue_key("general"), "a0")})
    client.zrem(keys.old_queue_key("general"), "a0")  # the first chunk moved, then the process died

    moved = upgrades.queues_per_number(client)

    assert moved.conversations == 4
    assert Queues(client).waiting(A, "general") == [f"a{n}" for n in range(5)]


def test_with_one_number_known_the_waits_go_to_it_and_with_none_they_stay(client):
    client.lpush(keys.old_queue_waits_key("general"), "20.000 1799999100.000 2")
    assert upgrades.queues_per_number(client).waits == 0  # nobody known: kept where it was
    assert client.exists(keys.old_queue_waits_key("general"))

    other = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    other.lpush(keys.old_queue_waits_key("general"), "20.000 1799999100.000 2")
    register(other, A)
    assert upgrades.queues_per_number(other).waits == 1
    assert other.lrange(keys.queue_waits_key(A, "general"), 0, -1) == ["20.000 1799999100.000 2"]


def _no_listed():
    from pathlib import Path

    from handover.numbers import Numbers

    return Numbers(Path("rules.yaml"))
