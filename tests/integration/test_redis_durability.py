"""The promise docs/operations.md makes about Redis: with AOF and fsync always, an acknowledged webhook survives a crash."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from config.settings import Settings
from handover import keys
from handover.keys import Lane
from tests.support.redis_server import RedisServer
from tests.support.webhook import SECRET, body, signed, text_message

pytestmark = pytest.mark.integration


def post(url: str, count: int) -> list[int]:
    settings = Settings(
        redis_url=url,
        whatsapp_app_secret=SECRET.decode(),
        whatsapp_verify_token="v",
        whatsapp_access_token="t",
        handover_partitions=4,
    )

    async def run() -> list[int]:
        async with TestClient(TestServer(build_app(settings))) as client:
            statuses = []
            for i in range(count):
                raw, headers = signed(
                    body([text_message(f"wamid.aof.{i}", "5511900000000", "oi", 1_700_000_000 + i)])
                )
                statuses.append((await client.post("/webhook", data=raw, headers=headers)).status)
            return statuses

    return asyncio.run(run())


def stored_ids(url: str) -> set[str]:
    client = redis.Redis.from_url(url, decode_responses=True)
    ids = set()
    for p in range(4):
        for _, fields in client.xrange(keys.stream_key(Lane.INBOUND, p)):
            ids.add(json.loads(fields["d"])["message"]["id"])
    client.close()
    return ids


def test_acknowledged_messages_survive_a_redis_crash_with_aof():
    server = RedisServer(appendonly=True).start()
    try:
        assert post(server.url, 50) == [200] * 50
        server.kill()  # SIGKILL: no shutdown save
        server.start()  # same port, same directory: Redis replays the append-only file
        assert stored_ids(server.url) == {f"wamid.aof.{i}" for i in range(50)}
        # and the dedupe markers survived too: Meta's retry of an acknowledged message is still a duplicate
        assert post(server.url, 1) == [200]
        assert len(stored_ids(server.url)) == 50
    finally:
        server.stop()


def test_webhook_answers_503_while_redis_is_down_and_200_once_it_is_back():
    server = RedisServer(appendonly=True).start()
    settings = Settings(
        redis_url=server.url,
        whatsapp_app_secret=SECRET.decode(),
        whatsapp_verify_token="v",
        whatsapp_access_token="t",
        handover_partitions=4,
    )

    async def run() -> tuple[int, int]:
        async with TestClient(TestServer(build_app(settings))) as client:
            raw, headers = signed(body([text_message("wamid.down", "5511900000001", "oi", 1_700_000_000)]))
            server.kill()
            down = (await client.post("/webhook", data=raw, headers=headers)).status
            await asyncio.to_thread(server.start)
            up = (await client.post("/webhook", data=raw, headers=headers)).status
            return down, up

    try:
        assert asyncio.run(run()) == (503, 200)
        assert stored_ids(server.url) == {"wamid.down"}
    finally:
        server.stop()
