"""Event streams are bounded (issue 16, item 2): at most HANDOVER_STREAMS_PER_AGENT per agent (the oldest
goes, told why), presence written once a beat for every stream together, on a pool the webhook does not
share."""

from __future__ import annotations

import asyncio
import threading

import fakeredis
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from desk.http import DESK
from handover import keys
from tests.support.desk_http import add_agent, connected, frames, next_event, run
from tests.support.fake_redis import sync_beside
from webhooks.views import WEBHOOK

pytestmark = pytest.mark.integration


def test_the_sixth_stream_of_an_agent_closes_their_first(redis_url, world):
    settings, _ = world
    ana_id, ana = add_agent(redis_url, "Ana", "general")
    _, bia = add_agent(redis_url, "Bia", "general")
    anas, bias = {"Authorization": f"Bearer {ana}"}, {"Authorization": f"Bearer {bia}"}

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            hers = [await http.get("/api/v1/events", headers=anas) for _ in range(5)]
            colleague = await http.get("/api/v1/events", headers=bias)
            for response in [*hers, colleague]:
                await connected(response)

            sixth = await http.get("/api/v1/events", headers=anas)
            await connected(sixth)

            # the first ends, saying why (a liveness bound: it must end, not stay open)
            assert await asyncio.wait_for(frames(hers[0]), 10) == [
                (
                    "replaced",
                    {"conversation_id": None, "agent_id": ana_id, "queue": None, "streams_per_agent": 5},
                )
            ]
            # the other five stay open and still hear what concerns her; her colleague's is untouched
            await http.put("/api/v1/me/status", json={"status": "away"}, headers=anas)
            for response in [*hers[1:], sixth]:
                assert await asyncio.wait_for(next_event(response), 10) == "agent_status"
            assert [len(s) for s in http.server.app[DESK].hub.streams.values()] == [5, 1]
            for response in [*hers[1:], sixth, colleague]:
                response.close()

    run(scenario())


class Monitor(threading.Thread):
    """What the real redis-server executes between two ECHO markers, read with MONITOR."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(url, decode_responses=True)
        self.ready = threading.Event()
        self.commands: list[str] = []

    def run(self) -> None:
        with self.client.monitor() as monitor:
            self.ready.set()
            recording = False
            for seen in monitor.listen():
                command = seen["command"]
                if command.startswith("ECHO"):
                    if recording:
                        return
                    recording = True
                elif recording:
                    self.commands.append(command)


def test_every_open_stream_is_marked_present_by_one_zadd_a_beat(redis_url, world):
    """30 streams of 6 agents: the presence key gets one ZADD per beat naming all of them (it got one per
    stream per beat), as the real redis-server saw them, against the beats the hub made meanwhile."""
    settings, _ = world
    quick = settings.model_copy(update={"handover_presence_grace_seconds": 3.0})  # a beat every second
    tokens = [add_agent(redis_url, f"Agent {n}", "general") for n in range(6)]
    counter = redis.Redis.from_url(redis_url, decode_responses=True)
    monitor = Monitor(redis_url)

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(quick))) as http:
            streams = [
                await http.get("/api/v1/events", headers={"Authorization": f"Bearer {token}"})
                for _, token in tokens
                for _ in range(5)
            ]
            for response in streams:
                await connected(response)
            marks = http.server.app[DESK].hub.marks
            monitor.start()
            monitor.ready.wait(10)
            # this client's calls block the event loop: no beat starts between a count and its marker
            before = marks.beats
            counter.echo("start")
            while marks.beats < before + 3:
                await asyncio.sleep(0.05)
            counter.echo("end")
            beats = marks.beats - before
            monitor.join(10)
            zadds = [c.split() for c in monitor.commands if c.startswith(f"ZADD {keys.AGENTS_LIVE} ")]
            # one write may be under way at either end of the count
            assert beats - 1 <= len(zadds) <= beats + 1
            for zadd in zadds:  # each names every agent with a stream open
                assert set(zadd[3::2]) == {agent_id for agent_id, _ in tokens}
            for response in streams:
                response.close()

    run(scenario())


@pytest.mark.parametrize("given", [False, True], ids=["redis-url", "given-client"])
def test_the_webhook_shares_no_redis_pool_with_the_streams(redis_url, given):
    """However many streams are open, the webhook's connections are its own: the event reader and the
    presence marks have a pool of their own, also beside a client given to the app."""
    from config.settings import Settings
    from tests.support.webhook import SECRET

    settings = Settings(
        redis_url=redis_url,
        whatsapp_app_secret=SECRET.decode(),
        whatsapp_verify_token="v",
        handover_partitions=4,
    )
    fake = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)
    app = build_app(settings, fake, sync_beside(fake)) if given else build_app(settings)

    async def scenario() -> None:
        async with TestClient(TestServer(app)) as http:
            webhook, hub = http.server.app[WEBHOOK].redis, http.server.app[DESK].hub
            assert hub.client.connection_pool is not webhook.connection_pool
            assert hub.marks.client is hub.client
            await hub.client.set("hv:test:beside", "1")  # the same server all the same
            assert await webhook.get("hv:test:beside") == "1"

    run(scenario())
