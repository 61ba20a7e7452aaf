"""No CPF at rest through the real path: Meta's signed webhook into the inbound stream, a `handover worker`
process, and the desk API an agent reads; then every Redis key (rq's too) and the worker's log searched."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover.store import Store
from tests.fakes.graph_server import FakeGraph
from tests.integration.conftest import start_worker
from tests.support.at_rest import BIRTH_DATE, CPF, traces
from tests.support.desk_http import add_agent, current, customer_says, queued, run
from tests.support.processes import wait_for
from tests.support.webhook import body, edit_message, signed

pytestmark = pytest.mark.integration

WA_ID = "5511955554444"
SAID = "meu cpf é 529.982.247-25, se não resolver vou no procon"
KEPT = "meu cpf é #, se não resolver vou no procon"


def edit(n: int, original: int, text: str) -> tuple[bytes, dict[str, str]]:
    message = edit_message(f"wamid.{WA_ID}.{n}", WA_ID, f"wamid.{WA_ID}.{original}", text, int(time.time()))
    return signed(body([message], names={WA_ID: "Ana"}))


def test_a_cpf_said_with_a_keyword_and_edited_reaches_no_store_and_no_agent(redis_url, tmp_path):
    graph = FakeGraph.start_in_thread()
    settings, worker = start_worker(redis_url, graph, tmp_path / "worker.log")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = Store(client)
    _, token = add_agent(redis_url, "Bia", "retention")
    auth = {"Authorization": f"Bearer {token}"}

    def inbound() -> list[str | None]:
        conversation = current(store, WA_ID)
        found = store.transcript(conversation.id) if conversation else []
        return [e.text for e in found if e.direction == "in"]

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            for n, text in enumerate(["cadê meu pedido?", SAID], start=1):
                raw, headers = customer_says(WA_ID, text, n)
                assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
                await asyncio.to_thread(wait_for, lambda n=n: len(inbound()) == n, 30, f"message {n}")
            await asyncio.to_thread(wait_for, lambda: queued(store, WA_ID), 30, "queued")
            raw, headers = edit(3, 2, "meu cpf é 52998224725 e vou no procon")
            assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
            await asyncio.to_thread(wait_for, lambda: len(inbound()) == 3, 30, "the edit")

            await http.put("/api/v1/me/status", json={"status": "available"}, headers=auth)
            taken = await http.post("/api/v1/queues/next", headers=auth)
            assert taken.status == 200
            detail = await taken.json()
            said = [e["text"] for e in detail["transcript"] if e["direction"] == "in"]
            assert said == ["cadê meu pedido?", KEPT, "meu cpf é # e vou no procon"]
            assert detail["packet"]["escalation"]["trigger_message"]["text"] == KEPT
            again = await http.get(f"/api/v1/conversations/{detail['id']}", headers=auth)
            assert again.status == 200 and not CPF.search(await again.read())

    try:
        run(scenario())
    finally:
        worker.stop()
        graph.stop()
    assert traces(client) == {}
    log = worker.log_path.read_bytes()
    assert not CPF.search(log) and not BIRTH_DATE.search(log)
    client.close()
