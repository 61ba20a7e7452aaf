"""What a client sees while the loop is behind (app/shedding.py, the webhook's `receive`): the listener's
protocol factory in front of the real app on fakeredis, spoken to over raw sockets. The lag is set by hand:
webhooks/pressure.py's own tests show when it gets there."""

from __future__ import annotations

import asyncio
import json

import fakeredis
import pytest
from aiohttp import web

from app import shedding
from app.edge import guarded
from app.web import build_app
from tests.support.fake_redis import sync_beside
from tests.support.raw_http import answer, closed, get, webhook_post
from tests.support.webhook import line_settings, stored_items
from webhooks.views import WEBHOOK, WebhookContext

PARTITIONS = 2
OVERLOADED = 1.0  # seconds of lag: ten times the limit, every new webhook is shed


class Edge:
    def __init__(self, webhook: WebhookContext, fake: fakeredis.FakeAsyncRedis, port: int) -> None:
        self.webhook, self.fake, self.port = webhook, fake, port

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    def overloaded(self, lag: float = OVERLOADED) -> None:
        self.webhook.pressure.lag = lag  # not checking: the lag stays as set

    async def stored(self) -> list[dict]:
        return await stored_items(self.fake, PARTITIONS)


@pytest.fixture
async def edge():
    fake = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)
    app = build_app(line_settings(partitions=PARTITIONS), redis_client=fake, sync_client=sync_beside(fake))
    runner = web.AppRunner(app, access_log=None, lingering_time=shedding.LINGER_SECONDS)
    await runner.setup()
    assert runner.server is not None
    listener = await asyncio.get_running_loop().create_server(
        guarded(runner.server, 100, app[WEBHOOK]), "127.0.0.1", 0
    )
    try:
        yield Edge(app[WEBHOOK], fake, listener.sockets[0].getsockname()[1])
    finally:
        listener.close()
        await runner.cleanup()
        await fake.aclose()


async def test_a_new_webhook_connection_is_refused_from_its_request_line_and_closed(edge):
    edge.overloaded()
    reader, writer = await edge.connect()
    writer.write(webhook_post("wamid.SHED"))
    status, headers, raw = await answer(reader)
    assert (status, headers["retry-after"], headers["connection"]) == (503, "5", "close")
    assert json.loads(raw)["error"]["code"] == "overloaded"
    assert "server" not in headers  # written by app/shedding.py, not by aiohttp
    assert await closed(reader)
    writer.close()
    assert await edge.stored() == []
    metrics = edge.webhook.metrics
    assert metrics.rejected.labels(reason="overloaded")._value.get() == 1
    assert metrics.received._value.get() == 1
    assert edge.webhook.pressure.refused == 1  # for the overloaded stretch's log line


async def test_a_large_body_still_being_sent_gets_the_answer_not_a_reset(edge):
    """2 MB after the request line: the rest is read and dropped while the client reads its 503."""
    edge.overloaded()
    reader, writer = await edge.connect()
    writer.write(webhook_post("wamid.BIG", padding=2 * 1024 * 1024))
    status, _, _ = await answer(reader)
    assert status == 503
    await writer.drain()  # the whole body went: nothing was reset under it
    assert await closed(reader)
    writer.close()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/healthz", lambda raw: json.loads(raw) == {"status": "ok"}),
        ("/api/v1/openapi.json", lambda raw: "/api/v1/queues/next" in json.loads(raw)["paths"]),
        ("/metrics", lambda raw: b"handover_event_loop_lag_seconds 1.0" in raw),
        ("/webhook?hub.mode=subscribe&hub.verify_token=v&hub.challenge=42", lambda raw: raw == b"42"),
    ],
)
async def test_everything_but_a_webhook_post_is_served_while_overloaded(edge, path, expected):
    edge.overloaded()
    reader, writer = await edge.connect()
    writer.write(get(path))
    status, _, raw = await answer(reader)
    assert status == 200 and expected(raw)
    writer.close()
    assert edge.webhook.pressure.refused == 0


async def test_a_desk_request_handed_on_keeps_its_connection_alive(edge):
    edge.overloaded()
    reader, writer = await edge.connect()
    for _ in range(3):
        writer.write(get("/api/v1/openapi.json"))
        status, headers, _ = await answer(reader)
        assert status == 200 and headers.get("connection", "keep-alive").lower() != "close"
    writer.close()


async def test_a_connection_silent_past_the_request_line_wait_is_handed_to_aiohttp(edge, monkeypatch):
    monkeypatch.setattr(shedding, "REQUEST_LINE_SECONDS", 0.05)
    edge.overloaded()
    reader, writer = await edge.connect()
    await asyncio.sleep(0.2)
    edge.overloaded(0.0)  # caught up meanwhile: the POST is served, by aiohttp's handler
    writer.write(webhook_post("wamid.LATE"))
    status, _, _ = await answer(reader)
    assert status == 200
    writer.close()
    assert [item["message"]["id"] for item in await edge.stored()] == ["wamid.LATE"]


async def test_on_a_kept_alive_connection_the_webhook_answers_503_before_the_body_and_closes(edge):
    reader, writer = await edge.connect()
    writer.write(webhook_post("wamid.FIRST"))
    assert (await answer(reader))[0] == 200
    edge.overloaded()
    writer.write(webhook_post("wamid.SECOND"))
    status, headers, raw = await answer(reader)
    assert (status, headers["retry-after"], headers["connection"]) == (503, "5", "close")
    assert json.loads(raw)["error"]["code"] == "overloaded"
    assert await closed(reader)
    writer.close()
    assert [item["message"]["id"] for item in await edge.stored()] == ["wamid.FIRST"]
    assert edge.webhook.metrics.rejected.labels(reason="overloaded")._value.get() == 1


async def test_once_the_lag_subsides_webhooks_are_taken_again(edge):
    edge.overloaded()
    reader, writer = await edge.connect()
    writer.write(webhook_post("wamid.SHED"))
    assert (await answer(reader))[0] == 503
    writer.close()
    edge.overloaded(0.0)
    reader, writer = await edge.connect()
    writer.write(webhook_post("wamid.TAKEN"))
    assert (await answer(reader))[0] == 200
    writer.close()
    assert [item["message"]["id"] for item in await edge.stored()] == ["wamid.TAKEN"]
