"""Canned replies over HTTP on a real Redis: every reply of the rules, filled in for a conversation the agent
may see (the customer's name, the agent's, collected values; what is unknown stays to be filled in)."""

from __future__ import annotations

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover.store import Store
from tests.support.desk_http import add_agent, escalated_and_taken, run

pytestmark = pytest.mark.integration


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_canned_replies_are_filled_in_for_the_conversation_the_agent_answers(redis_url, world):
    settings, _ = world
    _, ana = add_agent(redis_url, "Ana Souza", "general")
    _, carlos = add_agent(redis_url, "Carlos", "billing")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            conversation = await escalated_and_taken(http, store, "5511911113333", bearer(ana))
            plain = await (await http.get("/api/v1/canned", headers=bearer(ana))).json()
            assert [c["name"] for c in plain] == ["anything_else", "closing", "greeting", "order_checking"]
            assert plain[2]["texts"]["en"] == "Hi {name}! This is {agent}, I'll take it from here."
            assert plain[2]["text"] is None

            answer = await http.get(
                "/api/v1/canned", params={"conversation_id": conversation.id}, headers=bearer(ana)
            )
            filled = {c["name"]: (c["text"], c["language"]) for c in await answer.json()}
            assert (
                filled["greeting"]
                == (
                    "Olá, Ana! Aqui é Ana Souza, vou continuar o seu atendimento.",  # customer "Ana", agent Ana Souza
                    "pt",
                )
            )
            # the bot never collected an order number here: it stays for the agent to fill in
            assert filled["order_checking"][0] == "Estou verificando o pedido {order_number}, só um momento."

            other = await http.get(
                "/api/v1/canned", params={"conversation_id": conversation.id}, headers=bearer(carlos)
            )
            assert other.status == 403 and (await other.json())["error"]["code"] == "not_yours"
            missing = await http.get(
                "/api/v1/canned", params={"conversation_id": "nope"}, headers=bearer(ana)
            )
            assert missing.status == 404

    run(scenario())
