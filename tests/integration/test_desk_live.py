"""The desk's live connection over HTTP on a real Redis with a real worker: events reach the agents they
concern, and a desk whose stream is gone past the grace period gives its conversations back."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from desk.http import DESK
from handover import keys
from handover.agents import AgentStore
from handover.assignment.liveness import drop_gone
from handover.clock import FixedClock
from handover.rules.holder import RulesHolder
from handover.store import Store
from handover.transfers import Transfers
from tests.support.desk_http import add_agent, customer_says, escalated_and_taken, queued, run
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration


def test_a_desk_gone_past_the_grace_period_puts_its_conversations_back(redis_url, world):
    """The agent's live stream drops (laptop closed): after the grace period they are offline and what they
    held waits again, ahead of newer conversations, with reason agent_unavailable."""
    settings, _ = world
    # a short grace period beats every second, so the server notices the closed stream soon
    quick = settings.model_copy(update={"handover_presence_grace_seconds": 3.0})
    ana_id, ana = add_agent(redis_url, "Ana", "general")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = Store(client)

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(quick))) as http:
            auth = {"Authorization": f"Bearer {ana}"}
            conversation = await escalated_and_taken(http, store, "5511944445555", auth)
            async with http.get("/api/v1/events", headers=auth) as stream:
                assert (await stream.content.readline()).startswith(b": connected")
            # the stream closed: once the server has noticed (at a heartbeat's write, which may need two),
            # the mark says when; the sweep (run here as the workers run it) waits the grace period from
            # that moment, no longer
            hub = http.server.app[DESK].hub
            await asyncio.to_thread(wait_for, lambda: not hub.streams, 10, "the stream's end")
            gone_at = client.zscore(keys.AGENTS_LIVE, ana_id) / 1000
            assert store.conversation(conversation.id).agent_id == ana_id
            agents = AgentStore(client)
            transfers = Transfers(store, agents, RulesHolder(settings.handover_rules), 4)
            assert drop_gone(client, agents, transfers, 3, clock=FixedClock(gone_at + 2.9)) == []
            assert drop_gone(client, agents, transfers, 3, clock=FixedClock(gone_at + 3.1)) == [ana_id]
            back = store.conversation(conversation.id)
            assert (back.state, back.agent_id, back.queue) == ("queued", None, "general")
            me = await (await http.get("/api/v1/me", headers=auth)).json()
            assert (me["status"], me["load"]) == ("offline", 0)
            assert store.packet(conversation.id).transfers[-1].reason == "agent_unavailable"

    run(scenario())


def test_live_events_reach_the_agents_they_concern(redis_url, world):
    settings, _ = world
    ana_id, ana = add_agent(redis_url, "Ana", "general")
    _, carlos = add_agent(redis_url, "Carlos", "billing")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))

    async def listen(http, token, seen: list, connected: asyncio.Event) -> None:
        async with http.get("/api/v1/events", headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            kind = None
            async for raw in response.content:
                line = raw.decode().strip()
                if line == ": connected":  # subscribed: from here on nothing published is missed
                    connected.set()
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    seen.append((kind, json.loads(line[6:])))

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            anas, carlos_seen = [], []
            connected = [asyncio.Event(), asyncio.Event()]
            listeners = [
                asyncio.create_task(listen(http, ana, anas, connected[0])),
                asyncio.create_task(listen(http, carlos, carlos_seen, connected[1])),
            ]
            await asyncio.wait_for(asyncio.gather(*(c.wait() for c in connected)), 10)
            raw, headers = customer_says("5511977778888", "atendente", 1)
            await http.post("/webhook", data=raw, headers=headers)
            conversation = await asyncio.to_thread(
                wait_for, lambda: queued(store, "5511977778888"), 30, "queued"
            )
            await asyncio.to_thread(
                wait_for, lambda: any(k == "waiting" for k, _ in anas), 10, "the waiting event"
            )
            auth = {"Authorization": f"Bearer {ana}"}
            await http.put("/api/v1/me/status", json={"status": "available"}, headers=auth)
            assert (await http.post("/api/v1/queues/next", headers=auth)).status == 200
            await asyncio.sleep(1.1)
            raw, headers = customer_says("5511977778888", "oi, tudo bem?", 2)
            await http.post("/webhook", data=raw, headers=headers)
            await asyncio.to_thread(
                wait_for, lambda: any(k == "customer_wrote" for k, _ in anas), 30, "the customer_wrote event"
            )
            for task in listeners:
                task.cancel()
            assert ("agent_status", "available") in [(k, e.get("status")) for k, e in anas]
            # (ticks of the bot's replies may come in between, when its send went out after the claim)
            kinds = [
                (k, e["conversation_id"]) for k, e in anas if k not in ("agent_status", "message_status")
            ]
            assert kinds[:3] == [
                ("waiting", conversation.id),
                ("assigned", conversation.id),
                ("customer_wrote", conversation.id),
            ]
            assert anas[1][1]["agent_id"] == ana_id
            assert carlos_seen == []  # another queue's business

    run(scenario())
