"""The desk API over HTTP on a real Redis, with a real worker and a fake Graph API: escalate → claim → reply
reaches WhatsApp → customer answers → resolve; authorization; the 24-hour window; templates; transfer
targets and offers. The live connection (events, presence) is in test_desk_live.py."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover import keys
from handover.store import Store
from tests.fakes.graph_server import FakeGraph
from tests.support.desk_http import add_agent, current, customer_says, escalated_and_taken, queued, run
from tests.support.metrics import samples
from tests.support.processes import wait_for
from tests.support.webhook import body, signed

pytestmark = pytest.mark.integration


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def answered_by(http: TestClient, graph: FakeGraph, conversation_id: str, token: str) -> str:
    """The agent's first reply, sent through the desk and seen at Meta (after the bot's handover text); the
    transcript entry's id."""
    sent = await http.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"text": "Olá, sou a Ana. Como posso ajudar?"},
        headers=bearer(token),
    )
    assert sent.status == 202
    await asyncio.to_thread(wait_for, lambda: graph.count(kind="text") >= 2, 30, "the reply at Meta")
    texts = [r["json"]["text"]["body"] for r in graph.requests if r["json"].get("type") == "text"]
    assert texts[-1] == "Olá, sou a Ana. Como posso ajudar?"
    entry_id: str = (await sent.json())["id"]
    return entry_id


def test_an_agent_signs_in_becomes_available_and_takes_the_next_conversation(redis_url, world):
    settings, _ = world
    _, ana = add_agent(redis_url, "Ana", "general")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            raw, headers = customer_says("5511911112222", "quero falar com um atendente", 1)
            assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
            conversation = await asyncio.to_thread(
                wait_for, lambda: queued(store, "5511911112222"), 30, "queued"
            )

            assert (await http.get("/api/v1/me")).status == 401
            assert (await http.get("/api/v1/me", headers=bearer("hv_nope"))).status == 401
            taken = await http.post("/api/v1/queues/next", headers=bearer(ana))
            assert taken.status == 409 and (await taken.json())["error"]["code"] == "not_available"
            me = await http.put("/api/v1/me/status", json={"status": "available"}, headers=bearer(ana))
            assert (await me.json())["status"] == "available"
            queues = await (await http.get("/api/v1/queues", headers=bearer(ana))).json()
            assert [(q["name"], q["waiting"]) for q in queues] == [("general", 1)]

            taken = await http.post("/api/v1/queues/next", headers=bearer(ana))
            assert taken.status == 200
            detail = await taken.json()
            assert detail["id"] == conversation.id and detail["state"] == "assigned"
            assert detail["packet"]["escalation"]["reason"] == "customer_asked"
            assert detail["transcript"][0]["text"] == "quero falar com um atendente"
            assert (await http.post("/api/v1/queues/next", headers=bearer(ana))).status == 204

    run(scenario())


def test_only_the_holder_answers_and_only_its_queues_and_supervisors_see(redis_url, world):
    settings, _ = world
    _, ana = add_agent(redis_url, "Ana", "general")
    _, carlos = add_agent(redis_url, "Carlos", "billing")
    _, boss = add_agent(redis_url, "Bia", "general,billing", role="supervisor")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            conversation = await escalated_and_taken(http, store, "5511911112222", bearer(ana))
            path = f"/api/v1/conversations/{conversation.id}"
            assert (await http.get(path, headers=bearer(carlos))).status == 403
            assert (await http.get(path, headers=bearer(boss))).status == 200
            assert (
                await http.post(f"{path}/messages", json={"text": "oi"}, headers=bearer(carlos))
            ).status == 403
            bad = await http.post(f"{path}/messages", json={"txt": "oi"}, headers=bearer(ana))
            assert bad.status == 422 and (await bad.json())["error"]["code"] == "invalid_body"

    run(scenario())


def test_the_agents_reply_reaches_whatsapp_and_the_customers_answer_reaches_the_agent(redis_url, world):
    settings, graph = world
    ana_id, ana = add_agent(redis_url, "Ana", "general")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            conversation = await escalated_and_taken(http, store, "5511911112222", bearer(ana))
            entry_id = await answered_by(http, graph, conversation.id, ana)

            # the customer reads and types: their answer is stamped in a later second on WhatsApp's clock
            # (whole seconds) than the reply it answers, as it would be
            reply = next(e for e in store.transcript(conversation.id) if e.id == entry_id)
            raw, headers = customer_says(
                "5511911112222", "meu pedido 4455 não chegou", 2, at=int(reply.at) + 1
            )
            assert (await http.post("/webhook", data=raw, headers=headers)).status == 200

            def answered():
                transcript = store.transcript(conversation.id)
                mine = next(e for e in transcript if e.id == entry_id)
                return (
                    mine.delivery.status == "sent"
                    and transcript[-1].text == "meu pedido 4455 não chegou"
                    and transcript
                )

            transcript = await asyncio.to_thread(wait_for, answered, 30, "the customer's answer")
            assert [e.author for e in transcript[-2:]] == [
                f"agent:{ana_id}",
                "customer",
            ]  # the bot stayed silent

            listed = await (
                await http.get("/api/v1/conversations?state=assigned", headers=bearer(ana))
            ).json()
            assert [c["id"] for c in listed] == [conversation.id]

    run(scenario())


def test_a_resolve_asks_for_a_rating_and_ops_and_supervisors_see_it_counted(redis_url, world):
    settings, graph = world
    ana_id, ana = add_agent(redis_url, "Ana", "general")
    _, boss = add_agent(redis_url, "Bia", "general,billing", role="supervisor")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = Store(client)

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            conversation = await escalated_and_taken(http, store, "5511911112222", bearer(ana))
            path = f"/api/v1/conversations/{conversation.id}"
            # Ana took it a minute ago (the time she held it is measured from here; no test waits for it)
            held_since = float(client.hget(keys.conversation_key(conversation.id), "assigned_at") or 0)
            client.hset(keys.conversation_key(conversation.id), "assigned_at", held_since - 60)
            await answered_by(http, graph, conversation.id, ana)

            done = await http.post(f"{path}/resolve", headers=bearer(ana))
            assert done.status == 200 and (await done.json())["state"] == "resolved"
            again = await http.post(f"{path}/messages", json={"text": "ainda aí?"}, headers=bearer(ana))
            assert again.status == 409
            assert client.scard(keys.agent_load_key(ana_id)) == 0

            # the customer is asked how it went, taps a button, and that closes the loop on this conversation
            await asyncio.to_thread(wait_for, lambda: graph.count(kind="interactive") >= 1, 30, "the survey")
            survey = [r["json"] for r in graph.requests if r["json"].get("type") == "interactive"][-1]
            assert [b["reply"]["id"] for b in survey["interactive"]["action"]["buttons"]] == [
                "csat_good",
                "csat_ok",
                "csat_bad",
            ]
            tap = {
                "from": "5511911112222",
                "id": "wamid.csat",
                "timestamp": str(int(time.time())),
                "type": "interactive",
                "interactive": {
                    "type": "button_reply",
                    "button_reply": {"id": "csat_good", "title": "😀 Ótimo"},
                },
            }
            raw, headers = signed(body([tap], names={"5511911112222": "Ana"}))
            assert (await http.post("/webhook", data=raw, headers=headers)).status == 200

            def rated():
                rated = store.conversation(conversation.id)
                return rated if rated.csat else None

            rated = await asyncio.to_thread(wait_for, rated, 30, "the rating")
            assert (rated.csat, rated.csat_score, rated.state) == ("csat_good", 3, "resolved")
            assert current(store, "5511911112222").id == conversation.id  # no new conversation for a rating
            await asyncio.to_thread(wait_for, lambda: graph.count(kind="text") >= 3, 30, "the thanks")
            assert [r["json"]["text"]["body"] for r in graph.requests if r["json"].get("type") == "text"][
                -1
            ] == ("Obrigado pela avaliação!")

            # what ops graph: one claim, its wait, Ana's first reply, a resolve after more than a second
            shown = samples(await (await http.get("/metrics")).text())
            assert shown["handover_claimed_total"] == 1 and shown["handover_resolved_total"] == 1
            assert shown["handover_queue_wait_seconds_count"] == 1
            assert shown["handover_agent_first_reply_seconds_count"] == 1  # the refused one does not count
            assert shown["handover_handle_seconds_count"] == 1 and shown["handover_handle_seconds_sum"] > 1.0
            assert shown['handover_csat_total{score="3"}'] == 1

            # and the supervisor's numbers for the last hours say the same
            numbers = await http.get("/api/v1/stats?hours=24", headers=bearer(boss))
            kpis = await numbers.json()
            assert (kpis["claimed"], kpis["resolved"], kpis["queue_wait"]["count"]) == (1, 1, 1)
            assert kpis["csat"] == {"answers": 1, "average_score": 3.0, "by_score": {"3": 1}}
            assert kpis["handle"]["average_seconds"] > 1.0
            anas = kpis["agents"][ana_id]  # the resolving agent's own figures, rating included
            assert (anas["resolved"], anas["handle"]["count"], anas["csat"]["average_score"]) == (1, 1, 3.0)
            assert set(kpis["agents"]) == {ana_id}
            assert (await http.get("/api/v1/stats", headers=bearer(ana))).status == 403
            assert (await http.get("/api/v1/stats?hours=0", headers=bearer(boss))).status == 422

    run(scenario())


def test_window_closed_refusal_and_release_to_the_bot(redis_url, world):
    settings, _ = world
    _, ana = add_agent(redis_url, "Ana", "general")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = Store(client)

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            auth = {"Authorization": f"Bearer {ana}"}
            conversation = await escalated_and_taken(http, store, "5511933334444", auth)
            path = f"/api/v1/conversations/{conversation.id}"

            client.hset(keys.conversation_key(conversation.id), "window_expires_at", "1000")  # long ago
            refused = await http.post(f"{path}/messages", json={"text": "oi"}, headers=auth)
            assert refused.status == 409
            assert (await refused.json())["error"]["code"] == "window_closed"

            back = await http.post(f"{path}/release", headers=auth)
            assert back.status == 200
            released = store.conversation(conversation.id)
            assert (released.state, released.agent_id, released.bot.unrecognized) == ("bot", None, 0)
            assert (await http.post(f"{path}/release", headers=auth)).status == 409

            spec = await (await http.get("/api/v1/openapi.json")).json()
            assert spec["openapi"] == "3.1.0"
            assert "/api/v1/conversations/{id}/messages" in spec["paths"]
            assert "ConversationDetail" in spec["components"]["schemas"]

    run(scenario())


def test_templates_go_out_after_the_window_closed(redis_url, world):
    settings, graph = world
    _, ana = add_agent(redis_url, "Ana", "general")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = Store(client)

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            auth = {"Authorization": f"Bearer {ana}"}
            listed = await (await http.get("/api/v1/templates", headers=auth)).json()
            offered = {(t["name"], t["language"]): t["params"] for t in listed}
            assert offered[("retomar_atendimento", "pt_BR")] == 1
            assert offered[("pedido_atualizado", "en_US")] == 3

            conversation = await escalated_and_taken(http, store, "5511922223333", auth)
            path = f"/api/v1/conversations/{conversation.id}"
            client.hset(keys.conversation_key(conversation.id), "window_expires_at", "1000")  # long ago
            refused = await http.post(f"{path}/messages", json={"text": "oi"}, headers=auth)
            assert "/template" in (await refused.json())["error"]["message"]
            detail = await (await http.get(path, headers=auth)).json()
            assert detail["window_open"] is False

            for wrong, why in [
                ({"name": "nope", "language": "pt_BR"}, "unknown template"),
                ({"name": "retomar_atendimento", "language": "de_DE", "params": ["Ana"]}, "no 'de_DE'"),
                ({"name": "retomar_atendimento", "language": "pt_BR"}, "takes 1 parameters, got 0"),
            ]:
                bad = await http.post(f"{path}/template", json=wrong, headers=auth)
                assert bad.status == 422, await bad.text()
                assert why in (await bad.json())["error"]["message"]
            sent = await http.post(
                f"{path}/template",
                json={"name": "retomar_atendimento", "language": "pt_BR", "params": ["Ana"]},
                headers=auth,
            )
            assert sent.status == 202, await sent.text()
            entry_id = (await sent.json())["id"]

            def delivered_template():
                bodies = [r["json"] for r in graph.snapshot()]
                return [b for b in bodies if b.get("type") == "template" and b["to"] == "5511922223333"]

            (body_sent,) = await asyncio.to_thread(wait_for, delivered_template, 30, "the template at Meta")
            assert body_sent["template"] == {
                "name": "retomar_atendimento",
                "language": {"code": "pt_BR"},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}],
            }
            shown = await asyncio.to_thread(
                wait_for,
                lambda: next(
                    (
                        e
                        for e in store.transcript(conversation.id)
                        if e.id == entry_id and e.delivery.wa_message_id
                    ),
                    None,
                ),
                30,
                "the template's delivery in the transcript",
            )
            assert shown.kind == "template" and shown.author.startswith("agent:")
            assert shown.text.startswith("Olá, Ana! Aqui é a equipe de atendimento.")

    run(scenario())


def test_every_queue_can_be_a_transfer_target_and_an_offer_is_listed_to_its_target(redis_url, world):
    """A desk builds its transfer dialog from ?all=true (every queue, with the customers' names for it),
    and lists an offer made to its agent after a reload, without seeing anyone else's."""
    settings, _ = world
    _, ana = add_agent(redis_url, "Ana", "general")
    carlos_id, carlos = add_agent(redis_url, "Carlos", "billing")
    _, dora = add_agent(redis_url, "Dora", "billing")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:

            async def get(path: str, token: str):  # type: ignore[no-untyped-def]
                return await (await http.get(path, headers={"Authorization": f"Bearer {token}"})).json()

            mine = await get("/api/v1/queues", ana)
            assert [(q["name"], q["mine"], q["label"]["pt"]) for q in mine] == [
                ("general", True, "atendimento")
            ]
            every = {q["name"]: q for q in await get("/api/v1/queues?all=true", ana)}
            assert set(every) == {"general", "billing", "retention", "senior"}
            assert (every["billing"]["mine"], every["billing"]["label"]["en"]) == (False, "billing")

            auth = {"Authorization": f"Bearer {ana}"}
            conversation = await escalated_and_taken(http, store, "5511955556666", auth)
            for token in (carlos, dora):
                await http.put(
                    "/api/v1/me/status",
                    json={"status": "available"},
                    headers={"Authorization": f"Bearer {token}"},
                )
            offer = {"to_agent": carlos_id, "mode": "warm", "reason": "estorno", "note": "já conferi"}
            sent = await http.post(
                f"/api/v1/conversations/{conversation.id}/transfer", json=offer, headers=auth
            )
            assert sent.status == 200, await sent.text()

            listed = await get("/api/v1/conversations", carlos)
            assert [(c["id"], c["offer"]["to_agent"], c["offer"]["note"]) for c in listed] == [
                (conversation.id, carlos_id, "já conferi")
            ]
            assert await get("/api/v1/conversations", dora) == []

    run(scenario())
