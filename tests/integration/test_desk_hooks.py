"""Issue 33 items 1 and 4 over the desk API on a real Redis: admins add and remove hooks, supervisors see
them (URLs cut to the host: a Slack webhook's URL is a secret) with their last failures, agents see nothing,
and a URL that could reach inside is refused as `handover hooks add` refuses it."""

from __future__ import annotations

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover.agents import AgentStore, Role
from handover.hooks import outbox
from tests.integration.test_desk_authz import desk_settings
from tests.support.watchdog import run

pytestmark = pytest.mark.integration


def test_admins_add_and_remove_hooks_and_supervisors_see_their_failures(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    agents = AgentStore(client)
    tokens = {}
    for name, role in [("Ada", Role.ADMIN), ("Bia", Role.SUPERVISOR), ("Caio", Role.AGENT)]:
        tokens[name] = {"Authorization": f"Bearer {agents.add(name, ['general'], 3, role)[1]}"}
    settings = desk_settings(redis_url).model_copy(update={"handover_hooks_allow": ["127.0.0.1"]})
    slack = "http://127.0.0.1:9/services/T000/B000/XXXXSECRET"

    async def scenario() -> dict:
        async with TestClient(TestServer(build_app(settings))) as http:
            body = {"url": slack, "events": ["handed_over"], "format": "slack"}
            for who in ("Bia", "Caio"):
                refused = await http.post("/api/v1/hooks", json=body, headers=tokens[who])
                assert refused.status == 403, who
            added = await http.post("/api/v1/hooks", json=body, headers=tokens["Ada"])
            assert added.status == 201
            made = await added.json()
            assert made["secret"].startswith("whsec_") and made["hook"]["url"] == slack
            hook_id = made["hook"]["id"]

            unsafe = {"url": "https://169.254.169.254/latest", "events": ["resolved"]}
            refused = await http.post("/api/v1/hooks", json=unsafe, headers=tokens["Ada"])
            assert refused.status == 422
            assert "169.254.169.254" in (await refused.json())["error"]["message"]
            unknown = await http.post(
                "/api/v1/hooks", json={"url": slack, "events": ["sold"]}, headers=tokens["Ada"]
            )
            assert unknown.status == 422

            # a delivery failed: the supervisor's ops view shows it, without the URL's secret part
            [delivery] = [
                outbox.Delivery(id="msg_1", hook=hook_id, type="handed_over", at=1.0, body="{}", first_at=1.0)
            ]
            outbox.settle(client, delivery, 500, "answered 500", 0.2, 2.0, 24 * 3600)
            seen = await (await http.get("/api/v1/hooks", headers=tokens["Bia"])).json()
            [shown] = seen["hooks"]
            assert shown["url"] == "http://127.0.0.1:9/…" and shown["failed"] == 1
            assert [(f["hook"], f["error"]) for f in seen["failures"]] == [(hook_id, "answered 500")]
            assert "XXXXSECRET" not in str(seen)
            assert (await http.get("/api/v1/hooks", headers=tokens["Caio"])).status == 403
            whole = await (await http.get("/api/v1/hooks", headers=tokens["Ada"])).json()
            assert whole["hooks"][0]["url"] == slack

            gone = await http.delete(f"/api/v1/hooks/{hook_id}", headers=tokens["Ada"])
            assert gone.status == 200
            assert (await http.delete(f"/api/v1/hooks/{hook_id}", headers=tokens["Ada"])).status == 404
            return await (await http.get("/api/v1/hooks", headers=tokens["Ada"])).json()

    assert run(scenario())["hooks"] == []
    actions = [e for e in client.zrange("hv:audit", 0, -1) if "hooks." in e]
    assert len(actions) == 2
