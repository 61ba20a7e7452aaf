"""The desk API over HTTP on a real Redis, with a real worker and a fake Graph API: escalate → claim → reply
reaches WhatsApp → customer answers → resolve; authorization; the 24-hour window."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from config.settings import Settings
from desk.api import DESK
from handover import keys
from handover.agents import AgentStore
from handover.liveness import drop_gone
from handover.message import CustomerRef
from handover.rules.holder import RulesHolder
from handover.store import Store
from handover.transfers import Transfers
from tests.fakes.graph_server import FakeGraph
from tests.support.metrics import samples
from tests.support.processes import Process, wait_for
from tests.support.stack import add_agent_with_the_cli
from tests.support.webhook import PNID, SECRET, body, signed, text_message

pytestmark = pytest.mark.integration


def add_agent(
    redis_url: str, name: str, queues: str, role: str = "agent", capacity: int = 3
) -> tuple[str, str]:
    """Through the real command, as ops would; (id, token)."""
    created = add_agent_with_the_cli(
        {"REDIS_URL": redis_url, "PATH": ""}, name, queues.split(","), capacity, role
    )
    return created["id"], created["token"]


@pytest.fixture
def world(redis_url, tmp_path):
    graph = FakeGraph.start_in_thread()
    env = {
        "REDIS_URL": redis_url,
        "WHATSAPP_ACCESS_TOKEN": "t",
        "WHATSAPP_APP_SECRET": SECRET.decode(),
        "WHATSAPP_VERIFY_TOKEN": "v",
        "WHATSAPP_API_URL": graph.base_url,
        "HANDOVER_PARTITIONS": "4",
    }
    worker = Process(["worker"], env, tmp_path / "worker.log").start()
    settings = Settings(
        redis_url=redis_url,
        whatsapp_access_token="t",
        whatsapp_app_secret=SECRET.decode(),
        whatsapp_verify_token="v",
        whatsapp_api_url=graph.base_url,
        handover_partitions=4,
    )
    yield settings, graph
    worker.stop()
    graph.stop()


def customer_says(wa_id: str, text: str, n: int) -> bytes:
    sent = int(time.time())  # WhatsApp's clock is in seconds; the 24-hour window counts from here
    return signed(body([text_message(f"wamid.{wa_id}.{n}", wa_id, text, sent)], names={wa_id: "Ana"}))


def run(coro):
    return asyncio.run(coro)


def test_agent_takes_answers_and_resolves(redis_url, world):
    settings, graph = world
    ana_id, ana = add_agent(redis_url, "Ana", "general")
    _, carlos = add_agent(redis_url, "Carlos", "billing")
    _, boss = add_agent(redis_url, "Bia", "general,billing", role="supervisor")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = Store(client)

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:

            def auth(token):
                return {"Authorization": f"Bearer {token}"}

            raw, headers = customer_says("5511911112222", "quero falar com um atendente", 1)
            assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
            conversation = await asyncio.to_thread(
                wait_for, lambda: _queued(store, "5511911112222"), 30, "queued"
            )

            assert (await http.get("/api/v1/me")).status == 401
            assert (await http.get("/api/v1/me", headers=auth("hv_nope"))).status == 401
            taken = await http.post("/api/v1/queues/next", headers=auth(ana))
            assert taken.status == 409 and (await taken.json())["error"]["code"] == "not_available"
            me = await http.put("/api/v1/me/status", json={"status": "available"}, headers=auth(ana))
            assert (await me.json())["status"] == "available"
            queues = await (await http.get("/api/v1/queues", headers=auth(ana))).json()
            assert [(q["name"], q["waiting"]) for q in queues] == [("general", 1)]

            taken = await http.post("/api/v1/queues/next", headers=auth(ana))
            assert taken.status == 200
            detail = await taken.json()
            assert detail["id"] == conversation.id and detail["state"] == "assigned"
            assert detail["packet"]["escalation"]["reason"] == "customer_asked"
            assert detail["transcript"][0]["text"] == "quero falar com um atendente"
            assert (await http.post("/api/v1/queues/next", headers=auth(ana))).status == 204

            path = f"/api/v1/conversations/{conversation.id}"
            assert (await http.get(path, headers=auth(carlos))).status == 403
            assert (await http.get(path, headers=auth(boss))).status == 200
            assert (
                await http.post(f"{path}/messages", json={"text": "oi"}, headers=auth(carlos))
            ).status == 403
            bad = await http.post(f"{path}/messages", json={"txt": "oi"}, headers=auth(ana))
            assert bad.status == 422 and (await bad.json())["error"]["code"] == "invalid_body"

            sent = await http.post(
                f"{path}/messages", json={"text": "Olá, sou a Ana. Como posso ajudar?"}, headers=auth(ana)
            )
            assert sent.status == 202
            entry_id = (await sent.json())["id"]
            await asyncio.to_thread(wait_for, lambda: graph.count(kind="text") >= 2, 30, "the reply at Meta")
            texts = [r["json"]["text"]["body"] for r in graph.requests if r["json"].get("type") == "text"]
            assert texts[-1] == "Olá, sou a Ana. Como posso ajudar?"

            await asyncio.sleep(1.1)  # the customer reads and types: a later second on WhatsApp's clock
            raw, headers = customer_says("5511911112222", "meu pedido 4455 não chegou", 2)
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

            listed = await (await http.get("/api/v1/conversations?state=assigned", headers=auth(ana))).json()
            assert [c["id"] for c in listed] == [conversation.id]

            done = await http.post(f"{path}/resolve", headers=auth(ana))
            assert done.status == 200 and (await done.json())["state"] == "resolved"
            again = await http.post(f"{path}/messages", json={"text": "ainda aí?"}, headers=auth(ana))
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
            assert _current(store, "5511911112222").id == conversation.id  # no new conversation for a rating
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
            numbers = await http.get("/api/v1/stats?hours=24", headers=auth(boss))
            kpis = await numbers.json()
            assert (kpis["claimed"], kpis["resolved"], kpis["queue_wait"]["count"]) == (1, 1, 1)
            assert kpis["csat"] == {"answers": 1, "average_score": 3.0, "by_score": {"3": 1}}
            assert kpis["handle"]["average_seconds"] > 1.0
            anas = kpis["agents"][ana_id]  # the resolving agent's own figures, rating included
            assert (anas["resolved"], anas["handle"]["count"], anas["csat"]["average_score"]) == (1, 1, 3.0)
            assert set(kpis["agents"]) == {ana_id}
            assert (await http.get("/api/v1/stats", headers=auth(ana))).status == 403
            assert (await http.get("/api/v1/stats?hours=0", headers=auth(boss))).status == 422

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


def test_a_desk_gone_past_the_grace_period_puts_its_conversations_back(redis_url, world):
    """The agent's live stream drops (laptop closed): after the grace period they are offline and what they
    held waits again, ahead of newer conversations, with reason agent_unavailable."""
    settings, _ = world
    # a short grace period beats every second, so the server notices the closed stream soon
    quick = settings.model_copy(update={"handover_presence_grace_seconds": 3.0})
    ana_id, ana = add_agent(redis_url, "Ana", "general")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = Store(client)

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(quick))) as http:
            auth = {"Authorization": f"Bearer {ana}"}
            conversation = await escalated_and_taken(http, store, "5511944445555", auth)
            async with http.get("/api/v1/events", headers=auth) as stream:
                assert (await stream.content.readline()).startswith(b": connected")
            # the stream closed: once the server has noticed (at a heartbeat's write, which may need two),
            # the mark says when; the sweep (run here as the workers run it) waits the grace period from
            # that moment, no longer
            hub = http.server.app[DESK].hub
            await asyncio.to_thread(wait_for, lambda: not hub.subscribers, 10, "the stream's end")
            gone_at = client.zscore(keys.AGENTS_LIVE, ana_id) / 1000
            assert store.conversation(conversation.id).agent_id == ana_id
            agents = AgentStore(client)
            transfers = Transfers(store, agents, RulesHolder(settings.handover_rules), 4)
            assert drop_gone(client, agents, transfers, 3, now=gone_at + 2.9) == []
            assert drop_gone(client, agents, transfers, 3, now=gone_at + 3.1) == [ana_id]
            back = store.conversation(conversation.id)
            assert (back.state, back.agent_id, back.queue) == ("queued", None, "general")
            me = await (await http.get("/api/v1/me", headers=auth)).json()
            assert (me["status"], me["load"]) == ("offline", 0)
            assert store.packet(conversation.id).transfers[-1].reason == "agent_unavailable"

    run(scenario())


async def escalated_and_taken(http: TestClient, store: Store, wa_id: str, auth: dict[str, str]):
    """The customer asks for a person, the conversation waits, and the agent (now available) takes it."""
    raw, headers = customer_says(wa_id, "atendente", 1)
    await http.post("/webhook", data=raw, headers=headers)
    conversation = await asyncio.to_thread(wait_for, lambda: _queued(store, wa_id), 30, "queued")
    await http.put("/api/v1/me/status", json={"status": "available"}, headers=auth)
    assert (await http.post("/api/v1/queues/next", headers=auth)).status == 200
    return conversation


def _current(store: Store, wa_id: str):
    return store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id=wa_id))


def _queued(store: Store, wa_id: str):
    conversation = store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id=wa_id))
    return conversation if conversation is not None and conversation.state == "queued" else None


def test_live_events_reach_the_agents_they_concern(redis_url, world):
    settings, _ = world
    ana_id, ana = add_agent(redis_url, "Ana", "general")
    _, carlos = add_agent(redis_url, "Carlos", "billing")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))

    async def listen(http, token, seen: list) -> None:
        async with http.get("/api/v1/events", headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            kind = None
            async for raw in response.content:
                line = raw.decode().strip()
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    seen.append((kind, json.loads(line[6:])))

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            anas, carlos_seen = [], []
            listeners = [
                asyncio.create_task(listen(http, ana, anas)),
                asyncio.create_task(listen(http, carlos, carlos_seen)),
            ]
            await asyncio.sleep(0.5)
            raw, headers = customer_says("5511977778888", "atendente", 1)
            await http.post("/webhook", data=raw, headers=headers)
            conversation = await asyncio.to_thread(
                wait_for, lambda: _queued(store, "5511977778888"), 30, "queued"
            )
            await asyncio.to_thread(
                wait_for, lambda: any(k == "waiting" for k, _ in anas), 10, "the waiting event"
            )
            auth = {"Authorization": f"Bearer {ana}"}
            await http.put("/api/v1/me/status", json={"status": "available"}, headers=auth)
            assert (await http.post("/api/v1/queues/next", headers=auth)).status == 200
            await asyncio.sleep(1.1)
            raw, headers = customer_says("5511977778888", "oi, tudo bem?", 2)
            await http.post("/webhook", data=raw, headers=headers)
            await asyncio.to_thread(
                wait_for, lambda: any(k == "customer_wrote" for k, _ in anas), 30, "the customer_wrote event"
            )
            for task in listeners:
                task.cancel()
            assert ("agent_status", "available") in [(k, e.get("status")) for k, e in anas]
            kinds = [(k, e["conversation_id"]) for k, e in anas if k != "agent_status"]
            assert kinds[:3] == [
                ("waiting", conversation.id),
                ("assigned", conversation.id),
                ("customer_wrote", conversation.id),
            ]
            assert anas[1][1]["agent_id"] == ana_id
            assert carlos_seen == []  # another queue's business

    run(scenario())
