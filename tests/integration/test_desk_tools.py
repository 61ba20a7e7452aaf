"""Agents' everyday tools over HTTP on a real Redis with a real worker: canned replies filled in for a
conversation the agent may see (the customer's name, the agent's, collected values; what is unknown stays to
be filled in), and private notes that travel with transfers and never reach the customer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis
import yaml
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover import keys
from handover.store import Store
from tests.fakes.graph_server import FakeGraph
from tests.integration.conftest import start_worker
from tests.support.desk_http import add_agent, customer_says, escalated_and_taken, queued, run
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


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


@pytest.fixture
def forgetful_world(redis_url, tmp_path):
    """`world` with rules where a customer writing after a resolve starts a new conversation at once."""
    rules = yaml.safe_load((ROOT / "config" / "rules.yaml").read_text())
    rules["reopen_within_seconds"] = 0
    rules["identity"]["directory"]["file"] = str(ROOT / "config" / "customers.yaml")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True))
    graph = FakeGraph.start_in_thread()
    settings, worker = start_worker(redis_url, graph, tmp_path / "worker.log", rules=path)
    yield settings, graph
    worker.stop()
    graph.stop()


def test_the_customers_history_opens_read_only_for_whoever_may_see_them_now(redis_url, forgetful_world):
    settings, _ = forgetful_world
    ana_id, ana = add_agent(redis_url, "Ana", "general")
    _, carlos = add_agent(redis_url, "Carlos", "billing")
    _, boss = add_agent(redis_url, "Bia", "general", role="supervisor")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))
    wa_id = "5511911115555"

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            first = await escalated_and_taken(http, store, wa_id, bearer(ana))
            closed = await http.post(f"/api/v1/conversations/{first.id}/resolve", headers=bearer(ana))
            assert closed.status == 200
            raw, headers = customer_says(wa_id, "quero falar com um atendente de novo", 2)
            assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
            second = await asyncio.to_thread(
                wait_for, lambda: (c := queued(store, wa_id)) and c.id != first.id and c, 30, "a new one"
            )
            summary = await (await http.get(f"/api/v1/conversations/{second.id}", headers=bearer(ana))).json()
            path = f"/api/v1/customers/{summary['customer_key']}/conversations"
            number = {"phone_number_id": summary["phone_number_id"]}

            listed = await (await http.get(path, params=number, headers=bearer(ana))).json()
            assert [(c["id"], c["current"]) for c in listed] == [(second.id, True), (first.id, False)]
            past = listed[1]
            assert (past["state"], past["intent"], past["agent_id"]) == ("resolved", "human_request", ana_id)
            assert past["closed_at"] is not None
            opened = await http.get(f"/api/v1/conversations/{first.id}", headers=bearer(ana))
            assert opened.status == 200 and (await opened.json())["state"] == "resolved"

            # Carlos serves billing: this customer waits in general, so neither list nor past is his to read
            assert (await http.get(path, params=number, headers=bearer(carlos))).status == 403
            assert (await http.get(f"/api/v1/conversations/{first.id}", headers=bearer(carlos))).status == 403
            missing = await http.get(path, headers=bearer(ana))
            assert missing.status == 422 and "phone_number_id" in (await missing.json())["error"]["message"]

            # supervisors find every conversation by the last digits of the number, newest first
            found = await http.get("/api/v1/conversations", params={"q": "5555"}, headers=bearer(boss))
            assert [c["id"] for c in await found.json()] == [second.id, first.id]
            by_name = await http.get("/api/v1/conversations", params={"q": "an"}, headers=bearer(boss))
            assert {c["id"] for c in await by_name.json()} >= {first.id, second.id}  # the customer is "Ana"
            refused = await http.get("/api/v1/conversations", params={"q": "5555"}, headers=bearer(ana))
            assert refused.status == 403
            # a filter that is not one is refused, whether or not the search would use it (the fuzzer's find)
            for wrong in ({"state": "sold"}, {"number": "a/b"}):
                bad = await http.get(
                    "/api/v1/conversations", params={"q": "5555", **wrong}, headers=bearer(boss)
                )
                assert bad.status == 422, wrong

    run(scenario())
