"""An entry that costs more than its lease, every time it is tried, is dead-lettered after REDELIVERIES
starts instead of being retried forever (issue 28: a message that held a worker 179 s was redelivered 21
times over 7 minutes), while every other customer is answered. Real worker processes and redis-server; the
costly entry is a customer's birth date that the identity verifier (an HTTP server here) answers only after
longer than the lease, every time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
import yaml

from handover import keys
from handover.keys import Lane
from handover.traffic.streams import REDELIVERIES
from tests.fakes.graph_server import FakeGraph
from tests.integration.test_workers import assert_transcripts, ingest_through_webhook, processed, worker_env
from tests.support.processes import Process, wait_for
from tests.support.stack import always_open_rules
from tests.support.verifier import verifier as stand_in_verifier
from tests.support.webhook import RECENT, text_message

pytestmark = pytest.mark.integration

LEASE = 1.0
VERIFIER_TAKES = 3.5  # seconds: past the lease every time it is asked


ASKED: list[dict] = []


def slowly_not_verified(fields: dict) -> dict:
    time.sleep(VERIFIER_TAKES)
    return {"verified": False}


@pytest.fixture
def verifier():
    ASKED.clear()
    with stand_in_verifier(slowly_not_verified, ASKED) as url:
        yield url


@pytest.fixture
def graph():
    server = FakeGraph.start_in_thread(latency=0.01)
    yield server
    server.stop()


def rules_with_verifier(tmp_path: Path, url: str) -> Path:
    path = always_open_rules(tmp_path)
    rules = yaml.safe_load(path.read_text())
    rules["identity"]["directory"] = {"url": url, "timeout_seconds": VERIFIER_TAKES * 3}
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False))
    return path


def test_an_entry_that_outlives_its_lease_every_time_is_dead_lettered_and_the_rest_answered(
    redis_url, graph, verifier, tmp_path
):
    from tests.support.webhook import body, signed

    customers, per_customer = 12, 3
    expected = ingest_through_webhook(redis_url, customers=customers, per_customer=per_customer)
    costly = "5511955550000"
    asks = ["2ª via de boleto", "52998224725", "14/03/1988"]  # the birth date is sent to the verifier
    messages = [text_message(f"wamid.costly.{i}", costly, text, RECENT + i) for i, text in enumerate(asks)]
    post_directly(redis_url, body(messages), signed)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    env = worker_env(redis_url, graph.base_url, lease=LEASE)
    env["HANDOVER_RULES"] = str(rules_with_verifier(tmp_path, verifier))
    workers = [Process(["worker"], env, tmp_path / f"worker{i}.log").start() for i in range(2)]
    dead = keys.dead_letter_key(Lane.INBOUND)
    try:
        wait_for(lambda: client.xlen(dead) >= 1, 120, "the costly entry dead-lettered", interval=0.2)
        wait_for(lambda: processed(client) >= customers * per_customer + 2, 60, "everything else processed")
        time.sleep(VERIFIER_TAKES + 2 * LEASE)  # a last start, if any, would have begun and ended by now
    finally:
        for worker in workers:
            worker.stop()
    assert_transcripts(client, expected)  # every other customer: each message, in order, once
    assert processed(client) == customers * per_customer + 2  # the costly customer's first two too
    [(_, letter)] = client.xrange(dead)
    assert "wamid.costly.2" in letter["d"] and letter["error"].startswith("Redelivered:")
    # its first delivery (in a batch), then REDELIVERIES starts alone: never again after that
    assert len(ASKED) == 1 + REDELIVERIES, len(ASKED)
    assert not any(client.exists(keys.attempts_key(Lane.INBOUND, p)) for p in range(8))
    assert all(client.xlen(keys.stream_key(Lane.INBOUND, p)) == 0 for p in range(8))


def post_directly(redis_url: str, payload: dict, signed) -> None:
    """POST one signed webhook body through the real app."""
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from app.web import build_app
    from config.settings import Settings
    from tests.support.webhook import SECRET

    settings = Settings(
        redis_url=redis_url,
        whatsapp_app_secret=SECRET.decode(),
        whatsapp_verify_token="v",
        whatsapp_access_token="t",
        handover_partitions=8,
    )

    async def post() -> None:
        async with TestClient(TestServer(build_app(settings))) as client:
            raw, headers = signed(payload)
            response = await client.post("/webhook", data=raw, headers=headers)
            assert response.status == 200, await response.text()

    asyncio.run(post())
