"""The clocks on held conversations on a real Redis with a real `handover worker` (its assigner, its
sends to the fake Graph API) and the desk over HTTP; the sweep runs on a FixedClock set ahead of the wall
clock, as the worker's periodic job would run it minutes later (handover/clockwatch.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover import keys
from handover.clock import FixedClock
from handover.clockwatch import ClockWatch
from handover.rules.loader import load_rules
from handover.store import Store
from tests.fakes.graph_server import FakeGraph
from tests.integration.conftest import start_worker
from tests.support.desk_http import add_agent, current, customer_says, queued, run
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).resolve().parents[2] / "config"


def rules_file(tmp_path: Path, **general: Any) -> Path:
    """The shipped rules, `general` open at all hours (the tests run at any time of day) with `general`'s
    settings on top."""
    data = yaml.safe_load((CONFIG / "rules.yaml").read_text(encoding="utf-8"))
    data["queues"]["general"].pop("business_hours")
    data["queues"]["general"] |= general
    data["identity"]["directory"]["file"] = str(CONFIG / "customers.yaml")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def texts_to(graph: FakeGraph, wa_id: str) -> list[str]:
    """What the customer received, as Meta got it (receipts aside)."""
    bodies = [r["json"] for r in graph.snapshot()]
    return [
        (b.get("text") or {}).get("body") or ((b.get("interactive") or {}).get("body") or {}).get("text", "")
        for b in bodies
        if b.get("to") == wa_id and b.get("type") in ("text", "interactive")
    ]


def test_a_silent_agent_is_alerted_then_the_conversation_goes_to_the_next_agent(redis_url, graph, tmp_path):
    rules = rules_file(
        tmp_path,
        assignment="push",
        offer_timeout_seconds=0,
        policy="least_loaded",
        agent_reply_seconds=60,
        on_agent_silence="requeue",
        requeue_after_seconds=120,
    )
    settings, worker = start_worker(redis_url, graph, tmp_path / "worker.log", rules=rules)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = Store(client)
    clock = FixedClock(0.0)  # set ahead of the wall clock before each sweep
    watch = ClockWatch(store, lambda *_: load_rules(rules), settings.handover_partitions, clock)
    ana_id, ana = add_agent(redis_url, "Ana", "general")
    bia_id, bia = add_agent(redis_url, "Bia", "general")
    anas, bias = {"Authorization": f"Bearer {ana}"}, {"Authorization": f"Bearer {bia}"}
    wa_id = "5511900000011"

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:

            def held_by(wa: str, agent_id: str) -> Any:
                found = current(store, wa)
                return found if found is not None and found.agent_id == agent_id else None

            async def asks(wa: str, agent_id: str) -> Any:
                raw, headers = customer_says(wa, "atendente", 1)
                assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
                return await asyncio.to_thread(
                    wait_for, lambda: held_by(wa, agent_id), 30, f"given to {agent_id}"
                )

            # Bia is busier than Ana: least_loaded would give Ana anything that waits, unless she is skipped
            await http.put("/api/v1/me/status", json={"status": "available"}, headers=bias)
            busy = await asks("5511900000012", bia_id)
            answer = {"text": "Oi! Já vejo isso."}
            path = f"/api/v1/conversations/{busy.id}/messages"
            assert (
                await http.post(path, json=answer, headers=bias)
            ).status == 202  # her customer is answered
            await http.put("/api/v1/me/status", json={"status": "available"}, headers=anas)
            conversation = await asks(wa_id, ana_id)
            taken_at = conversation.assigned_at
            assert taken_at is not None

            # a minute without Ana's first answer: marked for her and for supervisors, once
            clock.now = taken_at + 60
            assert watch.sweep() == {"alert": 1, "requeue": 0, "remind": 0, "close": 0}
            detail = await (await http.get(f"/api/v1/conversations/{conversation.id}", headers=anas)).json()
            assert detail["agent_silent_since"] == taken_at
            [row] = await (await http.get("/api/v1/conversations", headers=anas)).json()
            assert (row["id"], row["agent_silent_since"]) == (conversation.id, taken_at)
            clock.now = taken_at + 90
            assert watch.sweep()["alert"] == 0

            # two minutes unanswered: back to the queue, and on to Bia, never back to Ana
            clock.now = taken_at + 120
            assert watch.sweep()["requeue"] == 1
            await asyncio.to_thread(
                wait_for, lambda: held_by(wa_id, bia_id), 30, "the assigner giving it to Bia"
            )
            assert conversation.id not in client.smembers(keys.agent_load_key(ana_id))
            mine = await (await http.get("/api/v1/conversations", headers=anas)).json()
            assert conversation.id not in [c["id"] for c in mine]
            events = [
                e for _, e in client.xrange(keys.DESK_EVENTS) if e["conversation_id"] == conversation.id
            ]
            given = [e["agent_id"] for e in events if e["type"] in ("assigned", "offered")]
            assert given == [ana_id, bia_id]
            assert [e["type"] for e in events].count("agent_silent") == 1
            bias_view = await (
                await http.get(f"/api/v1/conversations/{conversation.id}", headers=bias)
            ).json()
            assert bias_view["agent_silent_since"] is None  # her own clock starts now
            assert bias_view["packet"]["transfers"][-1]["reason"] == "agent_silent"

            told = "Desculpe a demora, Ana. Outra pessoa da equipe vai continuar o seu atendimento."
            await asyncio.to_thread(
                wait_for, lambda: told in texts_to(graph, wa_id), 30, "agent_changed sent"
            )
            counters = client.hgetall(keys.COUNTERS)
            assert (counters["agent_silent"], counters["agent_silent_requeued"]) == ("1", "1")

    try:
        run(scenario())
    finally:
        worker.stop()


def test_an_idle_customer_is_reminded_then_closed_and_the_agent_can_take_another(redis_url, graph, tmp_path):
    rules = rules_file(tmp_path, customer_idle={"remind_after_minutes": 10, "close_after_minutes": 30})
    settings, worker = start_worker(redis_url, graph, tmp_path / "worker.log", rules=rules)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = Store(client)
    clock = FixedClock(0.0)  # set ahead of the wall clock before each sweep
    watch = ClockWatch(store, lambda *_: load_rules(rules), settings.handover_partitions, clock)
    ana_id, ana = add_agent(redis_url, "Ana", "general", capacity=1)
    anas = {"Authorization": f"Bearer {ana}"}
    first, second = "5511900000021", "5511900000022"

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            for wa_id in (first, second):
                raw, headers = customer_says(wa_id, "atendente", 1)
                assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
                await asyncio.to_thread(wait_for, lambda w=wa_id: queued(store, w), 30, "queued")
            await http.put("/api/v1/me/status", json={"status": "available"}, headers=anas)
            taken = await (await http.post("/api/v1/queues/next", headers=anas)).json()
            assert taken["wa_id"] == first
            sent = await http.post(
                f"/api/v1/conversations/{taken['id']}/messages",
                json={"text": "Pronto! Algo mais?"},
                headers=anas,
            )
            assert sent.status == 202
            full = await http.post("/api/v1/queues/next", headers=anas)
            assert full.status == 409  # capacity 1: the quiet customer holds her

            answered_at = store.conversation(taken["id"]).agent_replied_at
            assert answered_at is not None
            clock.now = answered_at + 600
            assert watch.sweep()["remind"] == 1
            clock.now = answered_at + 900
            assert watch.sweep()["remind"] == 0  # once
            clock.now = answered_at + 1800
            assert watch.sweep()["close"] == 1

            closed = store.conversation(taken["id"])
            assert (closed.state, closed.agent_id) == ("resolved", ana_id)
            assert client.smembers(keys.agent_load_key(ana_id)) == set()
            nxt = await (await http.post("/api/v1/queues/next", headers=anas)).json()
            assert nxt["wa_id"] == second  # her capacity is free again

            reminder = "Ana, ainda está por aí? Se não precisar mais de ajuda, vamos encerrar o atendimento em breve."
            closing = (
                "Como não tivemos resposta, encerramos o atendimento. Se precisar, é só escrever de novo."
            )

            def both_sent() -> bool:
                said = texts_to(graph, first)
                return reminder in said and closing in said

            await asyncio.to_thread(wait_for, both_sent, 30, "the reminder and the closing text")
            said = texts_to(graph, first)
            assert said.index("Pronto! Algo mais?") < said.index(reminder) < said.index(closing)
            assert said.count(reminder) == 1
            assert not any("Como você avalia" in s for s in said)  # csat.on_idle_close is off
            counters = client.hgetall(keys.COUNTERS)
            assert (counters["idle_reminded"], counters["idle_closed"]) == ("1", "1")

    try:
        run(scenario())
    finally:
        worker.stop()


def test_the_worker_runs_the_sweep_by_itself(redis_url, graph, tmp_path):
    """The periodic job is wired (app/worker.py → workers/jobs.py → the runtime's ClockWatch): with the
    shortest clock the rules allow, the worker flags the silent agent on its own, within a few sweeps."""
    rules = rules_file(tmp_path, agent_reply_seconds=10)
    settings, worker = start_worker(redis_url, graph, tmp_path / "worker.log", rules=rules)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = Store(client)
    _, ana = add_agent(redis_url, "Ana", "general")
    anas = {"Authorization": f"Bearer {ana}"}
    wa_id = "5511900000031"

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            raw, headers = customer_says(wa_id, "atendente", 1)
            assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
            await asyncio.to_thread(wait_for, lambda: queued(store, wa_id), 30, "queued")
            await http.put("/api/v1/me/status", json={"status": "available"}, headers=anas)
            taken = await (await http.post("/api/v1/queues/next", headers=anas)).json()

            def flagged() -> bool:
                return any(e["type"] == "agent_silent" for _, e in client.xrange(keys.DESK_EVENTS))

            await asyncio.to_thread(wait_for, flagged, 60, "the worker's sweep to flag it")
            detail = await (await http.get(f"/api/v1/conversations/{taken['id']}", headers=anas)).json()
            assert detail["agent_silent_since"] == detail_assigned(store, taken["id"])

    try:
        run(scenario())
    finally:
        worker.stop()


def detail_assigned(store: Store, conversation_id: str) -> float | None:
    conversation = store.conversation(conversation_id)
    return conversation.assigned_at if conversation is not None else None
