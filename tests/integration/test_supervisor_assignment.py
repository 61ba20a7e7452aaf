"""A supervisor assigning a waiting conversation over the desk API, on a real Redis with a real worker and
a fake Graph API: the customer is told nothing however often it moves, the agent holds it, the audit says
assignment, and the agent's first real transfer is the conversation's first (not the senior lane)."""

from __future__ import annotations

import asyncio

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover.store import Store
from tests.fakes.graph_server import FakeGraph
from tests.support.desk_http import add_agent, customer_says, queued, run
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration

WA = "5511933334444"
TRANSFERRED = "Vou te transferir"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def texts_at_meta(graph: FakeGraph) -> list[str]:
    return [r["json"]["text"]["body"] for r in graph.requests if r["json"].get("type") == "text"]


def test_a_supervisor_assigns_a_waiting_conversation_and_the_customer_hears_nothing(redis_url, world):
    settings, graph = world
    ana_id, ana = add_agent(redis_url, "Ana", "general,billing")
    _, boss = add_agent(redis_url, "Bia", "general,billing", role="supervisor")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            for token in (ana, boss):
                await http.put("/api/v1/me/status", json={"status": "available"}, headers=bearer(token))
            raw, headers = customer_says(WA, "quero falar com um atendente", 1)
            assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
            conversation = await asyncio.to_thread(wait_for, lambda: queued(store, WA), 30, "queued")
            await asyncio.to_thread(wait_for, lambda: graph.count(kind="text") >= 1, 30, "the queued text")
            path = f"/api/v1/conversations/{conversation.id}"

            # three moves by the supervisor while it waits: two queues, then Ana
            for move in (
                {"to_queue": "billing", "reason": "fila errada"},
                {"to_queue": "general", "reason": "era geral mesmo"},
                {"to_agent": ana_id, "reason": "cliente antiga da Ana"},
            ):
                moved = await http.post(f"{path}/transfer", json=move, headers=bearer(boss))
                assert moved.status == 200, await moved.text()
            detail = await (await http.get(path, headers=bearer(ana))).json()
            assert (detail["state"], detail["agent_id"]) == ("assigned", ana_id)
            assert detail["packet"]["transfers"] == []
            assert [a["to"] for a in detail["packet"]["assignments"]] == [
                "queue:billing",
                "queue:general",
                ana_id,
            ]

            # Ana's greeting reaches Meta after anything queued for the customer before it: nothing was
            sent = await http.post(f"{path}/messages", json={"text": "Oi, sou a Ana"}, headers=bearer(ana))
            assert sent.status == 202
            await asyncio.to_thread(
                wait_for, lambda: "Oi, sou a Ana" in texts_at_meta(graph), 30, "Ana's greeting at Meta"
            )
            assert not [t for t in texts_at_meta(graph) if t.startswith(TRANSFERRED)]

            log = await (await http.get("/api/v1/audit?hours=1", headers=bearer(boss))).json()
            moves = [e for e in log["entries"] if e["action"].startswith("conversations.")]
            assert [(e["action"], e["detail"]["kind"]) for e in moves] == [
                ("conversations.assign", "assignment"),
                ("conversations.move", "assignment"),
                ("conversations.move", "assignment"),
            ]
            assert moves[0]["detail"]["to_agent_name"] == "Ana"

            # Ana's first real transfer: the customer is told, and it is not the senior lane
            moved = await http.post(
                f"{path}/transfer", json={"to_queue": "billing", "reason": "boleto"}, headers=bearer(ana)
            )
            assert moved.status == 200, await moved.text()
            after = await moved.json()
            assert (after["state"], after["queue"], after["priority"]) == ("queued", "billing", "normal")
            await asyncio.to_thread(
                wait_for,
                lambda: any(t.startswith(TRANSFERRED) for t in texts_at_meta(graph)),
                30,
                "the transfer's text at Meta",
            )
            assert len([t for t in texts_at_meta(graph) if t.startswith(TRANSFERRED)]) == 1

    run(scenario())
