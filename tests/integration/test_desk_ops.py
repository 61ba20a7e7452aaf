"""The supervisors' desk routes about rules versions and the audit log, over HTTP on a real Redis: the web
process reports the version it runs, versions compare, and a supervisor's moves of others' conversations
are audited (an agent's own are not)."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover.agents import AgentStore, Presence, Role
from handover.clock import FixedClock
from handover.rules import versions
from handover.rules.loader import load_rules, parse_rules
from tests.integration.test_desk_authz import desk_settings
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration


def staff(client: redis.Redis) -> dict[str, tuple[str, str]]:
    """name -> (id, token): a supervisor, and two agents available in general and billing."""
    agents = AgentStore(client)
    made = {}
    for name, role in [("Bia", Role.SUPERVISOR), ("Carla", Role.AGENT), ("Davi", Role.AGENT)]:
        agent, token = agents.add(name, ["general", "billing"], capacity=3, role=role)
        agents.set_status(agent.id, Presence.AVAILABLE)
        made[name] = (agent.id, token)
    return made


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_supervisors_see_the_version_each_process_runs_and_compare_versions(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    team = staff(client)
    settings = desk_settings(redis_url)
    shipped = load_rules(settings.handover_rules)
    edited = parse_rules(shipped.text.replace("version: 1", "version: 1  # edited", 1))
    versions.record(client, edited, "ana@ops-laptop", clock=FixedClock(1.0))  # an older version, kept

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            boss, agent = auth(team["Bia"][1]), auth(team["Carla"][1])

            async def overview() -> dict:
                return await (await http.get("/api/v1/rules", headers=boss)).json()

            for _ in range(100):  # the web process reports as it starts
                seen = await overview()
                if seen["live"]:
                    break
                await asyncio.sleep(0.05)
            pid = os.getpid()
            assert seen["current"] == shipped.version
            assert (seen["on_current"], seen["live"]) == (1, 1)
            [process] = seen["processes"]
            assert process["id"] == f"web:{socket.gethostname()}:{pid}"
            assert (process["kind"], process["pid"], process["version"], process["error"]) == (
                "web",
                pid,
                shipped.version,
                None,
            )
            assert [(v["version"], v["current"]) for v in seen["versions"]] == [
                (shipped.version, True),
                (edited.version, False),
            ]
            assert seen["versions"][0]["by"] == f"process web on {socket.gethostname()}"
            assert seen["versions"][1]["by"] == "ana@ops-laptop"
            assert seen["versions"][0]["hash"].startswith(shipped.version)

            forbidden = await http.get("/api/v1/rules", headers=agent)
            assert forbidden.status == 403 and (await forbidden.json())["error"]["code"] == "not_yours"

            compared = await http.get(f"/api/v1/rules/diff?a={edited.version[:6]}&b=current", headers=boss)
            assert compared.status == 200
            answer = await compared.json()
            assert (answer["a"], answer["b"]) == (edited.version, shipped.version)
            assert "-version: 1  # edited\n+version: 1\n" in answer["diff"]

            unknown = await http.get("/api/v1/rules/diff?a=fffffffffffff&b=current", headers=boss)
            assert unknown.status == 404 and (await unknown.json())["error"]["code"] == "not_found"
            missing = await http.get("/api/v1/rules/diff?a=current", headers=boss)
            assert missing.status == 422
            assert (await http.get("/api/v1/rules/diff?a=x&b=y", headers=agent)).status == 403

    asyncio.run(scenario())


def test_an_ambiguous_prefix_is_422(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    team = staff(client)
    base = load_rules(desk_settings(redis_url).handover_rules).text
    edits = [parse_rules(base + f"\n# edit {i}\n") for i in range(40)]
    for i, loaded in enumerate(edits):
        versions.record(client, loaded, "ana", clock=FixedClock(float(i)))
    made = [loaded.version for loaded in edits]
    shared = max(set(v[0] for v in made), key=[v[0] for v in made].count)

    async def scenario() -> tuple[int, dict]:
        async with TestClient(TestServer(build_app(desk_settings(redis_url)))) as http:
            answer = await http.get(f"/api/v1/rules/diff?a={shared}&b=current", headers=auth(team["Bia"][1]))
            return answer.status, await answer.json()

    status, answer = asyncio.run(scenario())
    assert status == 422 and "give more digits" in answer["error"]["message"]


def test_a_supervisors_moves_of_others_conversations_are_audited(redis_url, desk):
    team = staff(desk["client"])
    conversation_id = desk["id"]  # waiting in general
    carla_id = team["Carla"][0]

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(desk_settings(redis_url)))) as http:
            boss, carla = auth(team["Bia"][1]), auth(team["Carla"][1])
            path = f"/api/v1/conversations/{conversation_id}/transfer"
            moved = await http.post(path, json={"to_queue": "billing", "reason": "financeiro"}, headers=boss)
            assert moved.status == 200
            given = await http.post(path, json={"to_agent": carla_id, "reason": "cliente dela"}, headers=boss)
            assert given.status == 200
            # a warm offer of Carla's conversation to Davi, who declines: the offer is audited
            warm = {"to_agent": team["Davi"][0], "mode": "warm", "reason": "segunda opinião"}
            assert (await http.post(path, json=warm, headers=boss)).status == 200
            declined = await http.post(
                f"/api/v1/conversations/{conversation_id}/decline", headers=auth(team["Davi"][1])
            )
            assert declined.status == 200
            # Carla moves her own conversation: not a supervisor's act on someone else's, not audited
            own = await http.post(path, json={"to_queue": "general", "reason": "engano"}, headers=carla)
            assert own.status == 200

            log = await (await http.get("/api/v1/audit?hours=1", headers=boss)).json()
            assert log["hours"] == 1
            offered, assign, move = log["entries"]
            assert (offered["action"], offered["detail"]["mode"]) == ("conversations.assign", "warm")
            assert (offered["detail"]["from_agent"], offered["detail"]["to_agent"]) == (
                carla_id,
                team["Davi"][0],
            )
            assert (assign["action"], assign["who"]) == ("conversations.assign", f"Bia ({team['Bia'][0]})")
            assert assign["detail"] == {
                "conversation_id": conversation_id,
                "kind": "assignment",  # it was waiting: nobody had served the customer yet
                "mode": "cold",
                "from_agent": None,
                "from_queue": "billing",
                "to_agent": carla_id,
                "to_agent_name": "Carla",
                "reason": "cliente dela",
            }
            assert move["action"] == "conversations.move"
            assert (move["detail"]["from_queue"], move["detail"]["to_queue"]) == ("general", "billing")
            assert move["at"] <= assign["at"]

            forbidden = await http.get("/api/v1/audit", headers=carla)
            assert forbidden.status == 403
            assert (await http.get("/api/v1/audit?hours=0", headers=boss)).status == 422
            assert (await http.get("/api/v1/audit?hours=721", headers=boss)).status == 422

    asyncio.run(scenario())


def test_the_ops_routes_are_in_the_openapi_document(redis_url):
    async def scenario() -> dict:
        async with TestClient(TestServer(build_app(desk_settings(redis_url)))) as http:
            return await (await http.get("/api/v1/openapi.json")).json()

    spec = asyncio.run(scenario())
    for path, model in [("/rules", "RulesView"), ("/rules/diff", "RulesDiff"), ("/audit", "AuditView")]:
        schema = spec["paths"][f"/api/v1{path}"]["get"]["responses"]["200"]["content"]["application/json"]
        assert schema["schema"]["$ref"].endswith(f"/{model}")
    assert set(spec["components"]["schemas"]["RulesView"]["required"]) == {
        "current",
        "processes",
        "on_current",
        "live",
        "versions",
    }


def test_a_stopped_web_process_leaves_the_count(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(desk_settings(redis_url)))):
            await asyncio.to_thread(wait_for, lambda: versions.live(client), 10, "the web process's report")

    asyncio.run(scenario())
    assert versions.live(client) == []
