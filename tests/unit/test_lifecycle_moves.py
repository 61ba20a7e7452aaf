"""Lifecycle.move: a checked change written with what follows from it (load sets, queues, the offers
index, desk events, counters), and an illegal move refused whole, as a 409 at the desk."""

from __future__ import annotations

import fakeredis
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from desk.http import json_errors
from handover import keys
from handover.conversation import Conversation, ConversationState, IllegalMove
from handover.lifecycle import Event, Lifecycle
from handover.message import CustomerRef
from handover.rules.model import Priority

NOW = 1_800_000_000.0


def _conversation(
    state: ConversationState, agent: str | None = None, queue: str | None = None
) -> Conversation:
    conversation = Conversation.start(CustomerRef(phone_number_id="PN", wa_id="5511999"), NOW - 100)
    conversation.state, conversation.agent_id, conversation.queue = state, agent, queue
    return conversation


def _apply(client, conversation: Conversation, to: ConversationState, **how) -> None:
    with client.pipeline(transaction=True) as pipe:
        Lifecycle(client).move(pipe, conversation, to, NOW, **how)
        pipe.execute()


def _events(client) -> list[tuple[str, str]]:
    return [(f["type"], f["agent_id"]) for _, f in client.xrange(keys.DESK_EVENTS)]


@pytest.fixture
def client():
    return fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)


def test_a_cold_transfer_to_another_agent_moves_the_load_and_announces_the_new_holder(client):
    conversation = _conversation(ConversationState.ASSIGNED, agent="ana", queue="general")
    client.sadd(keys.agent_load_key("ana"), conversation.id)
    _apply(
        client, conversation, ConversationState.ASSIGNED, holder="bia", events=[Event("transferred", "bia")]
    )
    held = client.hgetall(keys.conversation_key(conversation.id))
    assert (held["state"], held["agent_id"], float(held["assigned_at"])) == ("assigned", "bia", NOW)
    assert client.smembers(keys.agent_load_key("ana")) == set()
    assert client.smembers(keys.agent_load_key("bia")) == {conversation.id}
    assert _events(client) == [("transferred", "bia"), ("assigned", "bia")]


def test_back_to_a_queue_keeps_its_place_by_when_it_first_asked(client):
    conversation = _conversation(ConversationState.ASSIGNED, agent="ana", queue="general")
    client.sadd(keys.agent_load_key("ana"), conversation.id)
    _apply(
        client,
        conversation,
        ConversationState.QUEUED,
        holder=None,
        queue="billing",
        priority=Priority.HIGH,
        waiting_since=NOW - 100,
        count=["transfers:cold"],
    )
    held = client.hgetall(keys.conversation_key(conversation.id))
    assert (held["state"], held["queue"], held["priority"]) == ("queued", "billing", "high")
    assert "agent_id" not in held
    assert client.zscore(keys.queue_key("PN", "billing"), conversation.id) % 10**13 == (NOW - 100) * 1000
    assert client.hget(keys.COUNTERS, "transfers:cold") == "1"


def test_an_offer_is_indexed_by_its_expiry_and_forgotten_when_it_ends(client):
    conversation = _conversation(ConversationState.ASSIGNED, agent="ana", queue="general")
    client.sadd(keys.agent_load_key("ana"), conversation.id)
    _apply(client, conversation, ConversationState.TRANSFERRING, fields={"offer_expires_at": str(NOW + 60)})
    assert client.zscore(keys.OFFERS, conversation.id) == NOW + 60
    _apply(client, conversation, ConversationState.ASSIGNED)  # declined: still Ana's, never unassigned
    assert client.zcard(keys.OFFERS) == 0
    assert client.smembers(keys.agent_load_key("ana")) == {conversation.id}
    assert _events(client) == []


def test_an_illegal_move_is_refused_and_writes_nothing(client):
    conversation = _conversation(ConversationState.RESOLVED)
    with pytest.raises(IllegalMove, match="resolved -> transferring"):
        _apply(client, conversation, ConversationState.TRANSFERRING, fields={"offer_expires_at": "1"})
    assert client.keys("*") == []


async def test_the_desk_answers_an_illegal_move_with_409():
    async def handler(request: web.Request) -> web.Response:
        raise IllegalMove("resolved -> transferring")

    app = web.Application(middlewares=[json_errors])
    app.router.add_post("/api/v1/x", handler)
    async with TestClient(TestServer(app)) as http:
        response = await http.post("/api/v1/x")
        assert response.status == 409
        assert (await response.json())["error"]["code"] == "illegal_move"
