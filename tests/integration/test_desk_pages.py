"""GET /api/v1/conversations a page at a time over HTTP on a real Redis (the claim and finish scripts keep
the index): the body stays an array, the next page is in `Link` and `X-Next-Cursor` (absent on the last),
following them lists every conversation once, newest first; filters and who sees what; 422 for a bad
limit, cursor or state."""

from __future__ import annotations

import time

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from config.settings import Settings
from handover.agents import AgentStore, Presence, Role
from tests.support.desk_http import run
from tests.support.waiting import seed_waiting

pytestmark = pytest.mark.integration


def settings(redis_url: str) -> Settings:
    return Settings(
        redis_url=redis_url,
        whatsapp_access_token="t",
        whatsapp_app_secret="s",
        whatsapp_verify_token="v",
        handover_partitions=2,
    )


def agent(client: redis.Redis, name: str, queues: list[str], role: Role = Role.AGENT) -> tuple[str, dict]:
    agents = AgentStore(client)
    made, token = agents.add(name, queues, 3, role)
    agents.set_status(made.id, Presence.AVAILABLE)
    return made.id, {"Authorization": f"Bearer {token}"}


async def follow(http: TestClient, path: str, auth: dict) -> tuple[list[str], int]:
    """Every page, by the Link header, as a generic client would; (ids, pages)."""
    ids, pages = [], 0
    while path:
        response = await http.get(path, headers=auth)
        assert response.status == 200
        body = await response.json()
        assert isinstance(body, list)
        ids += [c["id"] for c in body]
        pages += 1
        link, cursor = response.headers.get("Link"), response.headers.get("X-Next-Cursor")
        assert (link is None) == (cursor is None)
        if link is None:
            break
        assert link.endswith('>; rel="next"') and f"cursor={cursor}" in link
        path = link[1 : link.index(">")]
    assert len(ids) == len(set(ids)), "a conversation came twice"
    return ids, pages


def test_following_the_next_links_lists_everyone_once_newest_first(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    now = time.time()
    general = seed_waiting(client, [(f"55110000{i:04d}", "general", now - 500 + i) for i in range(23)])
    billing = seed_waiting(client, [(f"55111111{i:04d}", "billing", now - 400 + i) for i in range(4)])
    ana_id, ana = agent(client, "Ana", ["general"])
    bia_id, bia = agent(client, "Bia", ["billing"])
    _, boss = agent(client, "Chefe", [], Role.SUPERVISOR)

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings(redis_url)))) as http:
            taken = await (await http.post("/api/v1/queues/next", headers=ana)).json()  # claim.lua
            assert taken["id"] == general[0].id
            everyone = [
                taken["id"],
                *(c.id for c in reversed(billing)),
                *(c.id for c in reversed(general[1:])),
            ]

            assert await follow(http, "/api/v1/conversations?limit=5", boss) == (everyone, 6)
            assert await follow(http, "/api/v1/conversations?limit=200", boss) == (everyone, 1)
            assert (await follow(http, "/api/v1/conversations", ana))[0] == [taken["id"], *everyone[5:]]
            assert await follow(http, "/api/v1/conversations?state=queued&limit=3", bia) == (everyone[1:5], 2)
            assert await follow(http, f"/api/v1/conversations?agent_id={ana_id}", boss) == ([taken["id"]], 1)
            assert await follow(http, f"/api/v1/conversations?agent_id={ana_id}", bia) == ([], 1)
            assert await follow(http, "/api/v1/conversations?queue=general&state=assigned", boss) == (
                [taken["id"]],
                1,
            )

            resolved = await http.post(
                f"/api/v1/conversations/{taken['id']}/resolve", headers=ana
            )  # finish.lua
            assert resolved.status == 200
            assert (await follow(http, "/api/v1/conversations?limit=4", boss))[0] == everyone[1:]
            assert (await follow(http, f"/api/v1/conversations?agent_id={bia_id}", boss))[0] == []

    run(scenario())


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=201", "limit=abc", "limit=", "cursor=nope", "cursor=W10", "state=lost"],
)
def test_a_bad_limit_cursor_or_state_is_422(redis_url, query):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    _, ana = agent(client, "Ana", ["general"])

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings(redis_url)))) as http:
            response = await http.get(f"/api/v1/conversations?{query}", headers=ana)
            assert response.status == 422
            assert set((await response.json())["error"]) == {"code", "message"}

    run(scenario())
