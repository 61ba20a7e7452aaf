"""Rules per number on a real Redis with a real `handover worker` whose HANDOVER_RULES is a folder of two
numbers' rules (tests/data/numbers): the same "oi" is answered by each number's own rules, and a queue only
one number's rules have is where that number's customers wait."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover.agents import AgentStore, Role
from handover.message import CustomerRef
from handover.rules import versions
from handover.rules.loader import load_rules
from handover.store import Store
from tests.fakes.graph_server import VERSION, FakeGraph
from tests.integration.conftest import start_worker
from tests.support.processes import wait_for
from tests.support.webhook import body, signed, text_message

pytestmark = pytest.mark.integration

NUMBERS = Path(__file__).resolve().parents[1] / "data" / "numbers"
LOJA, VENDAS = "106540352242922", "106540352242923"
ANA = "5511900000031"  # one customer who writes to both numbers
RUNS = {LOJA: load_rules(NUMBERS / "loja.yaml").version, VENDAS: load_rules(NUMBERS / "vendas.yaml").version}


def says(number: str, text: str, n: int) -> tuple[bytes, dict[str, str]]:
    message = text_message(f"wamid.{number}.{n}", ANA, text, int(time.time()))
    return signed(body([message], pnid=number, names={ANA: "Ana"}))


def texts_from(graph: FakeGraph, number: str) -> list[str]:
    """What Ana received from one business number, as Meta got it (receipts aside)."""
    sent = [r["json"] for r in graph.snapshot() if r["path"] == f"/{VERSION}/{number}/messages"]
    return [
        (b.get("text") or {}).get("body") or ((b.get("interactive") or {}).get("body") or {}).get("text", "")
        for b in sent
        if b.get("to") == ANA and b.get("type") in ("text", "interactive")
    ]


def test_each_number_answers_by_its_own_rules_and_waits_in_its_own_queues(redis_url, graph, tmp_path):
    settings, worker = start_worker(redis_url, graph, tmp_path / "worker.log", rules=NUMBERS)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = Store(client)
    _, token = AgentStore(client).add("Sara", ["general"], capacity=3, role=Role.SUPERVISOR)
    sara = {"Authorization": f"Bearer {token}"}

    def conversation(number: str) -> Any:
        return store.current_conversation(CustomerRef(phone_number_id=number, wa_id=ANA))

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            for number in (LOJA, VENDAS):
                raw, headers = says(number, "oi", 1)
                assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
            for number in (LOJA, VENDAS):
                await asyncio.to_thread(
                    wait_for, lambda n=number: texts_from(graph, n), 30, f"{number} answering"
                )
            assert texts_from(graph, LOJA) == [
                "Olá! Aqui é o suporte da loja. Posso ajudar com pedidos e trocas."
            ]
            assert texts_from(graph, VENDAS) == ["Oi! Aqui é o time de vendas. Quer um orçamento?"]

            for number in (LOJA, VENDAS):
                raw, headers = says(number, "quero falar com um atendente", 2)
                assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
            for number in (LOJA, VENDAS):
                await asyncio.to_thread(
                    wait_for, lambda n=number: conversation(n).state == "queued", 30, f"{number} queued"
                )
            # `vendas` is a queue only the sales number's rules have: its customers wait there
            assert (conversation(LOJA).queue, conversation(VENDAS).queue) == ("general", "vendas")
            await asyncio.to_thread(
                wait_for, lambda: len(texts_from(graph, VENDAS)) == 2, 30, "the sales number's queued text"
            )
            assert texts_from(graph, VENDAS)[1].startswith("Vou te passar para um vendedor.")
            assert texts_from(graph, LOJA)[1].startswith("Vou te passar para o suporte.")

            # a supervisor asks the desk which rule answers "oi" on the sales number
            asked = {"text": "oi", "number": VENDAS}
            answer = await http.post("/api/v1/bot/explain", json=asked, headers=sara)
            assert answer.status == 200
            assert (await answer.json())["replies"] == ["Oi! Aqui é o time de vendas. Quer um orçamento?"]
            # canned replies: the sales number's, filled in for its conversation
            canned = await (await http.get(f"/api/v1/canned?number={VENDAS}", headers=sara)).json()
            assert [c["name"] for c in canned] == ["quote"]
            assert await (await http.get("/api/v1/canned", headers=sara)).json() == []  # the default's
            path = f"/api/v1/canned?conversation_id={conversation(VENDAS).id}"
            [quote] = await (await http.get(path, headers=sara)).json()
            assert quote["text"] == "Olá, Ana! Aqui é Sara, vou preparar o seu orçamento."
            # and which version of the sales number's rules each process runs
            shown = await (await http.get(f"/api/v1/rules?number={VENDAS}", headers=sara)).json()
            assert shown["current"] == RUNS[VENDAS]
            assert [v["version"] for v in shown["versions"]] == [RUNS[VENDAS]]
            shown = await (await http.get("/api/v1/rules", headers=sara)).json()
            assert shown["current"] == RUNS[LOJA]

    try:
        asyncio.run(scenario())
        # the worker says which version it runs for each number
        [seen] = [p for p in versions.live(client) if p.kind == "worker"]
        assert (seen.version, seen.versions) == (RUNS[LOJA], RUNS)
    finally:
        worker.stop()
