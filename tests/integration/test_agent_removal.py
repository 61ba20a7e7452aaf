"""`handover agents remove` as ops run it, against a desk in use: the agent's open stream closes, what
they held waits again at the head of its queue (reason agent_removed), what was offered to them goes on,
and their token stops working, in one command (issue 16, item 3)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover import keys
from handover.lifecycle import Decided, Lifecycle
from handover.store import Store
from tests.support.cli import handover
from tests.support.desk_http import add_agent, connected, customer_says, frames, queued, run
from tests.support.processes import wait_for
from tests.support.webhook import PNID

pytestmark = pytest.mark.integration


def test_removing_an_agent_closes_their_stream_and_requeues_what_they_held(redis_url, world, tmp_path):
    settings, _ = world
    ana_id, ana = add_agent(redis_url, "Ana", "general")
    _, bia = add_agent(redis_url, "Bia", "general", role="supervisor")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    anas, bias = {"Authorization": f"Bearer {ana}"}, {"Authorization": f"Bearer {bia}"}

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            store = Store(client)
            waiting = []
            for n, wa_id in enumerate(["5511900000001", "5511900000002", "5511900000003"]):
                raw, headers = customer_says(wa_id, "atendente", 1, at=int(time.time()) - 300 + n * 60)
                assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
                waiting.append(
                    await asyncio.to_thread(wait_for, lambda w=wa_id: queued(store, w), 30, "queued")
                )
            held, offered, newer = (c.id for c in waiting)
            await http.put("/api/v1/me/status", json={"status": "available"}, headers=anas)
            assert (await (await http.post("/api/v1/queues/next", headers=anas)).json())["id"] == held
            # a push queue's offer to her, pending her answer
            decided = Lifecycle(client).assign(offered, PNID, "general", ana_id, 3, 600, time.time())
            assert decided is Decided.OFFERED
            async with (
                http.get("/api/v1/events", headers=anas) as her_stream,
                http.get("/api/v1/events", headers=bias) as supervisors,
            ):
                await connected(her_stream)
                await connected(supervisors)

                removed = await asyncio.to_thread(
                    handover, ["agents", "remove", ana_id, "--by", "ops"], {"REDIS_URL": redis_url}, tmp_path
                )
                assert removed.returncode == 0, removed.stderr
                # (the worker's assigner may withdraw her offer first: it hears she went offline)
                assert removed.stdout.startswith(f"removed {ana_id}: 1 conversation back to the queue, ")

                # her stream says why and ends (a liveness bound: it must end, not stay open)
                hers = await asyncio.wait_for(frames(her_stream), 10)
                assert hers[-1] == (
                    "agent_removed",
                    {"conversation_id": None, "agent_id": ana_id, "queue": None},
                )
                assert "waiting" not in [kind for kind, _ in hers[:-1]]  # nothing after her removal

            back = store.conversation(held)
            assert (back.state, back.agent_id, back.queue) == ("queued", None, "general")
            # at the head of its queue: ahead of the conversation that asked later, and of the offered one
            assert client.zrange(keys.queue_key(PNID, "general"), 0, -1) == [held, offered, newer]
            assert store.packet(held).transfers[-1].reason == "agent_removed"
            events = [e for _, e in client.xrange(keys.DESK_EVENTS)]
            moved = [e for e in events if e["type"] == "transferred" and e["conversation_id"] == held]
            assert json.loads(moved[-1]["data"])["reason"] == "agent_removed"
            withdrawn = [e for e in events if e["type"] == "offer_withdrawn"]
            assert [(e["conversation_id"], json.loads(e["data"])["why"]) for e in withdrawn] == [
                (offered, "unavailable")
            ]
            assert store.conversation(offered).offer_to is None
            # the supervisor's list shows it waiting; she is no longer among the agents
            listed = await (await http.get("/api/v1/conversations?state=queued", headers=bias)).json()
            assert held in [c["id"] for c in listed]
            agents = await (await http.get("/api/v1/agents", headers=bias)).json()
            assert ana_id not in [a["id"] for a in agents]
            # her token is dead
            me = await http.get("/api/v1/me", headers=anas)
            assert me.status == 401
            assert not client.exists(keys.agent_key(ana_id), keys.agent_load_key(ana_id))

    run(scenario())
