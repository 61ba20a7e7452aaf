"""The supervisors' bot routes over HTTP, after real messages went through the webhook and a real worker:
per-rule stats, what the bot missed (masked), explain; and /metrics by rule. Agents get 403."""

from __future__ import annotations

import asyncio
import re

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover.store import Store
from tests.support.desk_http import add_agent, current, customer_says, run
from tests.support.metrics import samples
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration

SAID = [
    ("5511933330001", "quero falar com um atendente"),
    ("5511933330002", "garantia estendida, cpf 529.982.247-25"),
    ("5511933330003", "garantia estendida, cpf 111.444.777-35"),
    ("5511933330004", "quero trocar um produto"),
]


def test_supervisors_see_what_the_bot_does_and_misses(redis_url, world):
    settings, _ = world
    _, ana = add_agent(redis_url, "Ana", "general")
    _, boss = add_agent(redis_url, "Bia", "general", role="supervisor")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            for n, (wa_id, text) in enumerate(SAID, start=1):
                raw, headers = customer_says(wa_id, text, n)
                assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
            for wa_id, _ in SAID:
                await asyncio.to_thread(wait_for, lambda w=wa_id: current(store, w), 30, "processed")

            def get(path: str, token: str = boss):
                return http.get(path, headers={"Authorization": f"Bearer {token}"})

            stats = await (await get("/api/v1/bot/stats?hours=24")).json()
            rules = {r["rule"]: r["decisions"] for r in stats["rules"]}
            assert rules == {"intents.human_request": 1, "messages.unrecognized": 2, "intents.returns": 1}
            assert stats["totals"]["conversations"] == 4
            assert stats["escalations_by_reason"] == {"customer_asked": 1}
            assert len(stats["hourly"]) == 24

            missed = await (await get("/api/v1/bot/unrecognized?hours=24")).json()
            assert [(g["text"], g["count"]) for g in missed["unrecognized"]] == [
                ("garantia estendida cpf #", 2)
            ]
            assert len(missed["unrecognized"][0]["conversations"]) == 2
            # the CPF's digits in any spelling (not "529" alone: a random conversation id may hold it)
            assert not re.search(r"529\D?982", str(missed)) and "111.444" not in str(missed)

            explained = await http.post(
                "/api/v1/bot/explain",
                json={"text": "vou no procon"},
                headers={"Authorization": f"Bearer {boss}"},
            )
            body = await explained.json()
            assert (body["rule"], body["action"], body["matched"]) == (
                "escalation.legal_or_churn",
                "escalate",
                ["procon"],
            )
            assert body["escalation"]["queue"] == "retention"
            wrong = await http.post(
                "/api/v1/bot/explain",
                json={"text": "oi", "state": "{nope"},
                headers={"Authorization": f"Bearer {boss}"},
            )
            assert wrong.status == 422 and "state must be one of" in (await wrong.json())["error"]["message"]

            for path in ("/api/v1/bot/stats", "/api/v1/bot/unrecognized"):
                refused = await get(path, token=ana)
                assert refused.status == 403 and (await refused.json())["error"]["code"] == "not_yours"
            assert (await get("/api/v1/bot/stats?hours=721")).status == 422

            metrics = await (await http.get("/metrics")).text()
            assert samples(metrics)['handover_bot_decisions_total{rule="messages.unrecognized"}'] == 2.0

    run(scenario())
