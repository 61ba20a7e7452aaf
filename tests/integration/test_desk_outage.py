"""Redis stopped under a running web app: every desk route answers a JSON 503 `store_unavailable` with
Retry-After (it was a plain-text 500), /metrics still serves what the process knows and says Redis is
unreachable, and once Redis is back everything answers as before."""

from __future__ import annotations

import asyncio

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from desk.api import ROUTES
from desk.http import PREFIX, RETRY_AFTER_SECONDS
from handover.agents import AgentStore, Role
from tests.support.desk_http import run
from tests.support.metrics import samples
from tests.support.redis_server import RedisServer
from tests.support.webhook import body, line_settings, signed, text_message

pytestmark = pytest.mark.integration

# a body each route would take, so the answer is about Redis and never about the body
BODIES = {
    "/me/status": {"status": "available"},
    "/conversations/{id}/messages": {"text": "oi"},
    "/conversations/{id}/template": {"name": "t", "language": "pt_BR"},
    "/conversations/{id}/transfer": {"reason": "r", "to_queue": "general"},
    "/bot/explain": {"text": "oi"},
}


@pytest.fixture
def redis_alone():
    """A redis-server of the test's own, which it stops."""
    server = RedisServer(appendonly=True).start()  # the agent is still there after a restart
    yield server
    server.stop()


async def metrics_of(http: TestClient) -> dict[str, float]:
    response = await http.get("/metrics")
    assert response.status == 200
    return samples(await response.text())


def test_with_redis_down_the_desk_says_503_in_json_and_metrics_say_what_they_know(redis_alone):
    _, token = AgentStore(redis.Redis.from_url(redis_alone.url, decode_responses=True)).add(
        "Bia", ["general"], capacity=3, role=Role.SUPERVISOR
    )
    auth = {"Authorization": f"Bearer {token}"}

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(line_settings(redis_alone.url)))) as http:
            raw, headers = signed(body([text_message("wamid.O1", "5511900002222", "oi", 1)]))
            assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
            before = await metrics_of(http)
            assert before["handover_redis_up"] == 1.0 and "handover_messages_processed_total" in before

            redis_alone.kill()
            for route in ROUTES:
                path = PREFIX + route.path.replace("{id}", "c1")
                answer = await http.request(route.method, path, json=BODIES.get(route.path), headers=auth)
                assert answer.status == 503, (route.method, path, await answer.text())
                assert (await answer.json())["error"]["code"] == "store_unavailable"
                assert answer.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
            assert (await http.get(f"{PREFIX}/openapi.json")).status == 200  # needs no Redis

            assert (await http.post("/webhook", data=raw, headers=headers)).status == 503
            during = await metrics_of(http)
            assert during["handover_redis_up"] == 0.0
            assert during["handover_webhooks_received_total"] == 2.0  # the process's own counters
            assert during['handover_webhooks_rejected_total{reason="store_unavailable"}'] == 1.0
            # the shared counters are missing, not zero: rate() would take a zero for a reset
            assert "handover_messages_processed_total" not in during

            redis_alone.start()
            assert (await http.get(f"{PREFIX}/me", headers=auth)).status == 200
            assert (await metrics_of(http))["handover_redis_up"] == 1.0

    run(scenario())


def test_metrics_with_redis_down_answer_within_the_clients_timeouts(redis_alone):
    """A liveness bound, not a speed assertion: Prometheus gives up on a scrape after 10 s by default."""

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(line_settings(redis_alone.url)))) as http:
            redis_alone.kill()
            response = await asyncio.wait_for(http.get("/metrics"), 10)
            assert response.status == 200

    run(scenario())
