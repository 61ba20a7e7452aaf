"""The desk's activity index in Lua on a real redis-server: claim.lua and finish.lua move a conversation
where Python's activity.touch would (waiting in its queue -> held by the agent -> nowhere), and listed.lua
reads the listed fields of many hashes at once (nil where a field or the hash is missing)."""

from __future__ import annotations

import time

import pytest
import redis

from handover import keys, lua
from handover.clock import FixedClock
from handover.conversation import ConversationState
from handover.lifecycle import Lifecycle
from tests.support.waiting import PNID, seed_waiting

pytestmark = pytest.mark.integration


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


def filed(client: redis.Redis, agent: str) -> dict[str, list[str]]:
    names = {
        "waiting": keys.ACTIVITY_WAITING,
        "waiting:general": keys.activity_waiting_key(PNID, "general"),
        "waiting:billing": keys.activity_waiting_key(PNID, "billing"),
        "held": keys.ACTIVITY_HELD,
        "held:ana": keys.activity_held_key(agent),
    }
    return {name: client.zrange(key, 0, -1) for name, key in names.items()}


def test_claim_and_finish_move_the_conversation_through_the_index(client):
    now = time.time()
    first, second = seed_waiting(
        client, [("5511000001", "billing", now - 20), ("5511000002", "general", now)]
    )
    clock = FixedClock(now)
    lifecycle = Lifecycle(client, clock)
    assert filed(client, "ana") == {
        "waiting": [first.id, second.id],
        "waiting:general": [second.id],
        "waiting:billing": [first.id],
        "held": [],
        "held:ana": [],
    }

    clock.now = now + 1
    claimed = lifecycle.claim("ana", 3, [(PNID, "general"), (PNID, "billing")])
    assert claimed is not None and (claimed.conversation_id, claimed.queue) == (first.id, "billing")
    assert filed(client, "ana") == {
        "waiting": [second.id],
        "waiting:general": [second.id],
        "waiting:billing": [],
        "held": [first.id],
        "held:ana": [first.id],
    }
    assert client.zscore(keys.activity_held_key("ana"), first.id) == now + 1  # its latest change

    clock.now = now + 2
    lifecycle.finish("ana", first.id, ConversationState.RESOLVED)
    assert filed(client, "ana")["held"] == [] and filed(client, "ana")["held:ana"] == []


def test_listed_reads_the_fields_of_many_hashes_in_one_call(client):
    client.hset(keys.conversation_key("a"), mapping={"id": "a", "state": "queued", "queue": "general"})
    client.hset(keys.conversation_key("b"), mapping={"id": "b", "state": "assigned"})
    read = lua.script(client, "listed")

    rows = read(keys=[keys.conversation_key(c) for c in ("a", "gone", "b")], args=["id", "state", "queue"])

    assert rows == [["a", "queued", "general"], [None, None, None], ["b", "assigned", None]]
