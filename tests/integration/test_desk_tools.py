"""Agents' everyday tools over HTTP on a real Redis with a real worker: canned replies filled in for a
conversation the agent may see (the customer's name, the agent's, collected values; what is unknown stays to
be filled in), and private notes that travel with transfers and never reach the customer."""

from __future__ import annotations

import asyncio

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover import keys
from handover.store import Store
from tests.support.desk_http import add_agent, escalated_and_taken, run
from tests.support.processes import wait_for

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


def test_a_private_note_travels_with_the_transfer_and_never_reaches_the_customer(redis_url, world):
    settings, graph = world
    _, ana = add_agent(redis_url, "Ana", "general")
    carlos_id, carlos = add_agent(redis_url, "Carlos", "billing")
    _, dani = add_agent(redis_url, "Dani", "retention")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            conversation = await escalated_and_taken(http, store, "5511911114444", bearer(ana))
            await asyncio.to_thread(wait_for, lambda: graph.count(kind="text") >= 1, 30, "the bot's words")
            sent_before = graph.count()
            path = f"/api/v1/conversations/{conversation.id}"
            wrote = await http.post(
                f"{path}/notes", json={"text": "  Cliente já ligou 2x, pedido 4455  "}, headers=bearer(ana)
            )
            assert wrote.status == 201
            note = await wrote.json()
            assert (note["direction"], note["kind"], note["text"]) == (
                "note",
                "note",
                "Cliente já ligou 2x, pedido 4455",
            )
            blank = await http.post(f"{path}/notes", json={"text": "   "}, headers=bearer(ana))
            assert blank.status == 422
            stranger = await http.post(f"{path}/notes", json={"text": "oi"}, headers=bearer(dani))
            assert stranger.status == 403

            await http.put("/api/v1/me/status", json={"status": "available"}, headers=bearer(carlos))
            moved = await http.post(
                f"{path}/transfer", json={"to_agent": carlos_id, "reason": "financeiro"}, headers=bearer(ana)
            )
            assert moved.status == 200
            seen = await (await http.get(path, headers=bearer(carlos))).json()
            [kept] = [e for e in seen["transcript"] if e["direction"] == "note"]
            assert kept["text"] == "Cliente já ligou 2x, pedido 4455" and kept["author"].startswith("agent:")
            [packed] = seen["packet"]["notes"]
            assert (packed["by_name"], packed["text"]) == ("Ana", "Cliente já ligou 2x, pedido 4455")

        # what reached WhatsApp: the transfer's words to the customer, never the note
        await asyncio.to_thread(wait_for, lambda: graph.count() > sent_before, 30, "the transfer message")
        texts = [r["json"].get("text", {}).get("body", "") for r in graph.requests]
        assert not any("4455" in t or "ligou" in t for t in texts)
        events = store.client.xrange(keys.DESK_EVENTS)
        assert any(e["type"] == "note_added" for _, e in events)

    run(scenario())
