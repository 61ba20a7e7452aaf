"""Who may do what on the desk API, as a matrix: no token, a bad token, another queue's agent, a colleague
in the same queue, the holder, a supervisor."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from config.settings import Settings
from handover.agents import AgentStore, Presence, Role
from handover.assignment.claims import Assignments
from handover.assignment.queues import enqueue
from handover.bot import EscalationDecision
from handover.conversation import Conversation, ConversationState
from handover.message import CustomerRef
from handover.numbers import register
from handover.packet import build_packet
from handover.rules.model import Priority
from handover.store import Store

pytestmark = pytest.mark.integration

ROUTES = [
    ("GET", "", None),
    ("POST", "/messages", {"text": "olá"}),
    ("POST", "/template", {"name": "retomar_atendimento", "language": "pt_BR", "params": ["Ana"]}),
    ("POST", "/transfer", {"to_queue": "billing", "reason": "financeiro"}),
    ("POST", "/resolve", None),
    ("POST", "/release", None),
]
# who -> expected status per route, in ROUTES order
MATRIX = {
    "nobody": [401, 401, 401, 401, 401, 401],
    "bad_token": [401, 401, 401, 401, 401, 401],
    "other_queue": [403, 403, 403, 403, 403, 403],
    "colleague": [403, 403, 403, 403, 403, 403],
    "holder": [200, 202, 202, 200, 200, 200],
    # sees and moves everything; answers and closes only its own
    "supervisor": [200, 403, 403, 200, 403, 403],
}


def desk_settings(redis_url: str) -> Settings:
    return Settings(
        redis_url=redis_url,
        whatsapp_access_token="t",
        whatsapp_app_secret="s",
        whatsapp_verify_token="v",
        handover_partitions=4,
    )


def setup(redis_url: str) -> tuple[str, dict[str, str | None]]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store, agents = Store(client), AgentStore(client)
    tokens: dict[str, str | None] = {"nobody": None, "bad_token": "hv_not_a_token"}
    team = {}
    for who, queues, role in [
        ("other_queue", ["billing"], Role.AGENT),
        ("colleague", ["general"], Role.AGENT),
        ("holder", ["general"], Role.AGENT),
        ("supervisor", ["general"], Role.SUPERVISOR),
    ]:
        agent, token = agents.add(who, queues, capacity=3, role=role)
        agents.set_status(agent.id, Presence.AVAILABLE)
        tokens[who], team[who] = token, agents.get(agent.id)
    now = time.time()
    customer = CustomerRef(phone_number_id="PN", wa_id="5511955556666", profile_name="Ana")
    conversation = Conversation.start(customer, now)
    conversation.note_customer_message(customer, now, now)
    conversation.state, conversation.queue, conversation.priority = (
        ConversationState.QUEUED,
        "general",
        "normal",
    )
    escalation = EscalationDecision(
        queue="general",
        priority="normal",
        reason="customer_asked",
        rule="r",
        rules_version="v",
        at=now,
        trigger_message_id="wamid.1",
    )
    register(client, conversation.phone_number_id)  # as the webhook does: its number's queues are read
    with client.pipeline(transaction=True) as pipe:
        store.save_conversation(pipe, conversation)
        store.save_packet(pipe, build_packet(conversation, escalation, []))
        enqueue(pipe, conversation.phone_number_id, "general", conversation.id, Priority.NORMAL, now)
        pipe.execute()
    assert Assignments(store, 4).claim_next(team["holder"]).id == conversation.id
    client.close()
    return conversation.id, tokens


@pytest.mark.parametrize("who", list(MATRIX))
@pytest.mark.parametrize("route", range(len(ROUTES)), ids=[f"{m} {p or '/'}" for m, p, _ in ROUTES])
def test_desk_authorization_matrix(redis_url, who, route):
    conversation_id, tokens = setup(redis_url)
    method, suffix, payload = ROUTES[route]
    settings = desk_settings(redis_url)

    async def call() -> tuple[int, dict]:
        async with TestClient(TestServer(build_app(settings))) as http:
            headers = {"Authorization": f"Bearer {tokens[who]}"} if tokens[who] else {}
            response = await http.request(
                method, f"/api/v1/conversations/{conversation_id}{suffix}", json=payload, headers=headers
            )
            return response.status, await response.json()

    status, answer = asyncio.run(call())
    assert status == MATRIX[who][route], answer
    if status >= 400:
        assert set(answer["error"]) == {"code", "message"}


def test_unknown_conversation_is_404_for_everyone_signed_in(redis_url):
    _, tokens = setup(redis_url)
    settings = desk_settings(redis_url)

    async def call() -> int:
        async with TestClient(TestServer(build_app(settings))) as http:
            response = await http.get(
                "/api/v1/conversations/nope", headers={"Authorization": f"Bearer {tokens['supervisor']}"}
            )
            return response.status

    assert asyncio.run(call()) == 404


def test_warm_transfer_over_http(redis_url):
    conversation_id, tokens = setup(redis_url)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    colleague = AgentStore(client).by_token(tokens["colleague"])
    settings = desk_settings(redis_url)

    async def call() -> list[tuple[int, str | None]]:
        async with TestClient(TestServer(build_app(settings))) as http:

            def auth(who):
                return {"Authorization": f"Bearer {tokens[who]}"}

            path = f"/api/v1/conversations/{conversation_id}"
            steps = [
                await http.post(
                    f"{path}/transfer",
                    json={
                        "to_agent": colleague.id,
                        "mode": "warm",
                        "reason": "especialista",
                        "note": "cliente VIP",
                    },
                    headers=auth("holder"),
                ),
                await http.post(f"{path}/accept", headers=auth("other_queue")),
                await http.post(f"{path}/accept", headers=auth("colleague")),
            ]
            return [(r.status, (await r.json()).get("state")) for r in steps]

    assert asyncio.run(call()) == [(200, "transferring"), (403, None), (200, "assigned")]
    assert Store(client).conversation(conversation_id).agent_id == colleague.id
