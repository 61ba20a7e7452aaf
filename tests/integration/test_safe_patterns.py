"""An ops regex that backtracks catastrophically under Python's `re` (`(a+)+$`) and the customer message
that triggers it: with RE2 the worker answers that customer and the next one as usual."""

from __future__ import annotations

import asyncio

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from tests.integration.conftest import start_worker
from tests.support.processes import wait_for
from tests.support.stack import always_open_rules
from tests.support.webhook import RECENT, body, signed, text_message

pytestmark = pytest.mark.integration

EVIL = "a" * 40 + "b"  # 2^40 ways to split the a's before `re` gives up on the `$`


def rules_with_an_evil_regex(tmp_path):
    path = always_open_rules(tmp_path)
    rules = yaml.safe_load(path.read_text())
    rules["intents"].insert(
        0,
        {
            "name": "shouting",
            "match": {"regex": ["(a+)+$"]},
            "reply": {"pt": "Calma, estou aqui.", "en": "Easy, I'm here."},
        },
    )
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False))
    return path


def test_a_pathological_regex_does_not_stall_the_worker(redis_url, graph, tmp_path):
    rules = rules_with_an_evil_regex(tmp_path)
    # one partition: both customers behind the same worker, one after the other
    settings, worker = start_worker(redis_url, graph, tmp_path / "worker.log", partitions=1, rules=rules)

    async def customers_write() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            for n, (wa_id, text) in enumerate([("5511900000001", EVIL), ("5511900000002", "aaaa")]):
                raw, headers = signed(body([text_message(f"wamid.evil.{n}", wa_id, text, RECENT + n)]))
                assert (await http.post("/webhook", data=raw, headers=headers)).status == 200

    try:
        asyncio.run(customers_write())
        # a liveness bound: under `re` the first message never finishes and the second is never answered
        sent = wait_for(lambda: _texts_to(graph, "5511900000002"), 30, "the second customer's answer")
        assert sent == ["Calma, estou aqui."]  # the regex still works where it should
        first = wait_for(lambda: _texts_to(graph, "5511900000001"), 10, "the first customer's answer")
        assert first and "Calma" not in first[0]  # no match: the bot says it did not understand
    finally:
        worker.stop()


def _texts_to(graph, wa_id: str) -> list[str]:
    return [
        r["json"]["text"]["body"]
        for r in graph.snapshot()
        if r["json"].get("to") == wa_id and r["json"].get("type") == "text"
    ]
