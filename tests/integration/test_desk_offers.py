"""`GET /api/v1/me/offers` over HTTP on a real Redis: what is offered to the signed-in agent, both kinds,
found whole however many wait (a push offer is usually the oldest waiting conversation, far down the
paged list the desk reads)."""

from __future__ import annotations

import time

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover.lifecycle import Decided, Lifecycle
from tests.support.desk_http import add_agent, run
from tests.support.waiting import PNID, seed_waiting

pytestmark = pytest.mark.integration


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_agent_lists_the_offers_made_to_them_however_many_wait(redis_url, world):
    settings, _ = world
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    start = time.time() - 3600
    waiting = seed_waiting(client, [(f"55119870{n:05}", "general", start + n) for n in range(80)])
    ana_id, ana = add_agent(redis_url, "Ana", "general")
    bruno_id, bruno = add_agent(redis_url, "Bruno", "general")
    _, sara = add_agent(redis_url, "Sara", "general", role="supervisor")

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            for token in (ana, bruno):
                await http.put("/api/v1/me/status", json={"status": "available"}, headers=bearer(token))
            # the assigner's offer of the oldest waiting conversation to Ana (as a push queue makes it)
            oldest = waiting[0].id
            decided = Lifecycle(client).assign(oldest, PNID, "general", ana_id, 3, 60, time.time())
            assert decided is Decided.OFFERED
            # ... and Bruno's warm transfer of the one he took
            taken = await (await http.post("/api/v1/queues/next", headers=bearer(bruno))).json()
            warm = {"to_agent": ana_id, "mode": "warm", "reason": "estorno"}
            moved = await http.post(
                f"/api/v1/conversations/{taken['id']}/transfer", json=warm, headers=bearer(bruno)
            )
            assert moved.status == 200, await moved.text()

            answer = await http.get("/api/v1/me/offers", headers=bearer(ana))
            assert answer.status == 200
            offers = await answer.json()
            assert [(c["id"], c["state"], c["offer"]["kind"]) for c in offers] == [
                (oldest, "queued", "assignment"),
                (taken["id"], "transferring", "transfer"),
            ]
            assert {c["offer"]["to_agent"] for c in offers} == {ana_id}
            assert all(c["offer"]["expires_at"] > time.time() for c in offers)
            assert offers[1]["offer"]["by_agent"] == bruno_id

            # the paged list has the push offer where its waiting puts it: not on the first page
            first = await (await http.get("/api/v1/conversations?state=queued", headers=bearer(ana))).json()
            assert len(first) == 50 and oldest not in {c["id"] for c in first}

            # offers are the asking agent's own, supervisors included
            for token in (bruno, sara):
                mine = await http.get("/api/v1/me/offers", headers=bearer(token))
                assert (mine.status, await mine.json()) == (200, [])
            assert (await http.get("/api/v1/me/offers")).status == 401

    run(scenario())
