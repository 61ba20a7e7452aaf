"""Isolation of business numbers on the desk API (issue 32, item 3), as a table over the OpenAPI document:
every route is tried with the tokens of people of number A (an agent and a supervisor) against number B's
conversation, its media and its customer, and must answer 404 (exactly as for something unknown), 403 for
figures not split by number yet, or a list without B's items. The same calls with B's people (or an admin)
pass, so the table can fail. A route missing from the table fails: a new route needs its scope said."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from config.settings import Settings
from desk.api import ROUTES
from desk.scope import FIGURES_NOT_SPLIT
from handover.agents import AgentStore, Presence, Role
from handover.assignment.claims import Assignments
from handover.assignment.queues import enqueue
from handover.bot import EscalationDecision
from handover.conversation import Conversation, ConversationState
from handover.message import CustomerRef
from handover.numbers import register
from handover.packet import build_packet
from handover.rules.model import Priority
from handover.store import Store
from handover.transcript import TranscriptEntry
from tests.fakes.graph_server import FakeGraph
from tests.support.desk_http import run

pytestmark = pytest.mark.integration

NUMBER_A, NUMBER_B = "100200300400501", "900800700600509"
WA_A, WA_B = "5511955550001", "5511977770002"
MEDIA_B = "777001"  # the fake Graph API has bytes for it

CONVERSATION = "conversation"  # {id} (or ?conversation_id=) is B's: 404, as an unknown id
MEDIA = "media"  # {media_id} came in B's conversation: 404, as an unknown media
CUSTOMER = "customer"  # B's customer: 404, as a customer with no conversations
LISTING = "listing"  # a list or an answer about oneself: nothing of B's in it
FIGURES = "figures"  # not split by number yet: 403 for a supervisor of some numbers
EVENTS = "events"  # the live stream: B's events never reach A's people
ADMINS = "admins"  # for admins only (of every number): 403 for anyone else


@dataclass(frozen=True)
class Case:
    kind: str
    body: dict[str, Any] | None = None
    query: dict[str, str] = field(default_factory=dict)
    # what B's people find in the answer (the positive control of a list); None: just not refused
    found_by_b: Callable[[World], str] | None = None


TABLE: dict[str, Case] = {
    "GET /me": Case(LISTING),
    "PUT /me/status": Case(LISTING, body={"status": "available"}),
    "GET /me/offers": Case(LISTING),
    "GET /transfers/customer-reasons": Case(LISTING),
    "GET /agents": Case(LISTING, found_by_b=lambda w: w.ids["holder_b"]),
    "GET /stats": Case(FIGURES),
    "GET /templates": Case(LISTING),
    "GET /queues": Case(LISTING, query={"all": "true"}),
    "POST /queues/next": Case(LISTING),
    "GET /conversations": Case(LISTING, found_by_b=lambda w: w.conversation_b),
    "GET /conversations?q": Case(LISTING, query={"q": WA_B}, found_by_b=lambda w: w.conversation_b),
    "GET /conversations/{id}": Case(CONVERSATION),
    "POST /conversations/{id}/messages": Case(CONVERSATION, body={"text": "olá"}),
    "POST /conversations/{id}/template": Case(
        CONVERSATION, body={"name": "retomar_atendimento", "language": "pt_BR", "params": ["Ana"]}
    ),
    "POST /conversations/{id}/transfer": Case(CONVERSATION, body={"to_queue": "general", "reason": "x"}),
    "POST /conversations/{id}/accept": Case(CONVERSATION),
    "POST /conversations/{id}/decline": Case(CONVERSATION),
    "POST /conversations/{id}/resolve": Case(CONVERSATION),
    "POST /conversations/{id}/release": Case(CONVERSATION),
    "GET /events": Case(EVENTS),
    "GET /bot/stats": Case(FIGURES),
    "GET /bot/unrecognized": Case(FIGURES),
    "POST /bot/explain": Case(FIGURES, body={"text": "quero falar com uma pessoa"}),
    "GET /rules": Case(FIGURES),
    "GET /rules/diff": Case(FIGURES, query={"a": "current", "b": "current"}),
    "GET /audit": Case(FIGURES),
    "GET /canned": Case(CONVERSATION),  # ?conversation_id=
    "POST /conversations/{id}/notes": Case(CONVERSATION, body={"text": "nota"}),
    "POST /conversations/{id}/reactions": Case(CONVERSATION, body={"message_id": "wamid.b1", "emoji": "👍"}),
    "POST /conversations/{id}/typing": Case(CONVERSATION),
    "GET /customers/{key}/conversations": Case(CUSTOMER),
    "POST /conversations/{id}/media": Case(CONVERSATION),
    "GET /media/{media_id}": Case(MEDIA),
    "POST /media/{media_id}/link": Case(MEDIA),
    "GET /numbers": Case(LISTING, found_by_b=lambda w: NUMBER_B),
    "GET /hooks": Case(FIGURES),
    "POST /hooks": Case(ADMINS, body={"url": "https://crm.example.com/hook", "events": ["resolved"]}),
    "DELETE /hooks/{id}": Case(ADMINS),
}
A_SIDE = ("agent_a", "supervisor_a")  # people of number A only
B_SIDE = ("holder_b", "supervisor_b", "admin")  # B's people, and an admin of every number


@dataclass
class World:
    conversation_a: str
    conversation_b: str
    customer_b: str
    tokens: dict[str, str]
    ids: dict[str, str]
    media_b: str = MEDIA_B

    def leaks(self) -> list[str]:
        """What an answer to A's people must never hold: B's conversation, customer, number and people."""
        return [
            self.conversation_b,
            self.customer_b,
            WA_B,
            NUMBER_B,
            self.ids["holder_b"],
            self.ids["supervisor_b"],
        ]


def desk_settings(redis_url: str, graph: FakeGraph) -> Settings:
    return Settings(
        redis_url=redis_url,
        whatsapp_access_token="t",
        whatsapp_app_secret="s",
        whatsapp_verify_token="v",
        whatsapp_api_url=graph.base_url,
        whatsapp_phone_number_ids=[NUMBER_A, NUMBER_B],
        handover_partitions=4,
    )


def waiting(
    store: Store, client: redis.Redis, number: str, wa_id: str, queue: str, now: float
) -> Conversation:
    customer = CustomerRef(phone_number_id=number, wa_id=wa_id, profile_name="Ana")
    conversation = Conversation.start(customer, now)
    conversation.note_customer_message(customer, now, now)
    conversation.state, conversation.queue, conversation.priority = ConversationState.QUEUED, queue, "normal"
    escalation = EscalationDecision(
        queue=queue,
        priority="normal",
        reason="customer_asked",
        rule="r",
        rules_version="v",
        at=now,
        trigger_message_id=f"wamid.{wa_id}",
    )
    with client.pipeline(transaction=True) as pipe:
        store.save_conversation(pipe, conversation)
        store.link_to_customer(pipe, conversation)
        store.save_packet(pipe, build_packet(conversation, escalation, []))
        photo = TranscriptEntry(
            id="wamid.b1" if number == NUMBER_B else "wamid.a1",
            direction="in",
            at=now,
            kind="image",
            media_id=MEDIA_B if number == NUMBER_B else None,
            mime_type="image/jpeg",
        )
        store.append_entry(pipe, conversation.id, photo)
        enqueue(pipe, number, queue, conversation.id, Priority.NORMAL, now)
        pipe.execute()
    register(client, number)  # as the webhook does: the number is known from then on
    return conversation


def setup(redis_url: str) -> World:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    store, agents = Store(client), AgentStore(client)
    tokens, ids = {}, {}
    for who, queues, role, numbers in [
        ("agent_a", ["general"], Role.AGENT, [NUMBER_A]),
        ("supervisor_a", ["general"], Role.SUPERVISOR, [NUMBER_A]),
        ("holder_b", ["general"], Role.AGENT, [NUMBER_B]),
        ("supervisor_b", ["general"], Role.SUPERVISOR, [NUMBER_B]),
        ("admin", ["general"], Role.ADMIN, [NUMBER_A]),  # an admin sees every number whatever it says
    ]:
        agent, token = agents.add(who, queues, capacity=3, role=role, numbers=numbers)
        agents.set_status(agent.id, Presence.AVAILABLE)
        tokens[who], ids[who] = token, agent.id
    now = time.time()
    a = waiting(store, client, NUMBER_A, WA_A, "general", now)
    b = waiting(store, client, NUMBER_B, WA_B, "general", now)  # the same queue name: still B's own
    assert Assignments(store, 4).claim_next(agents.get(ids["holder_b"])).id == b.id
    client.close()
    return World(a.id, b.id, b.customer_key, tokens, ids)


def request_of(route: str, case: Case, world: World) -> tuple[str, str, dict[str, str]]:
    method, path = route.split(" ", 1)
    path = path.split("?")[0]
    path = path.replace("{id}", world.conversation_b).replace("{media_id}", world.media_b)
    path = path.replace("{key}", world.customer_b)
    query = dict(case.query)
    if path == "/canned":
        query["conversation_id"] = world.conversation_b
    if "{key}" in route:
        query["phone_number_id"] = NUMBER_B
    return method, f"/api/v1{path}", query


async def call(http: TestClient, token: str, route: str, case: Case, world: World) -> tuple[int, str]:
    method, path, query = request_of(route, case, world)
    headers = {"Authorization": f"Bearer {token}"}
    answer = await http.request(method, path, params=query, json=case.body, headers=headers)
    return answer.status, (await answer.read()).decode("utf-8", "replace")  # a media's bytes, too


async def unknown_answer(
    http: TestClient, token: str, route: str, case: Case, world: World
) -> tuple[int, str]:
    """The same call naming something that does not exist: what B's must be indistinguishable from."""
    fake = World("c_a", "c_nobody", "k_nobody", world.tokens, world.ids, "m_nobody")
    status, text = await call(http, token, route, case, fake)
    for unknown, known in [
        ("c_nobody", world.conversation_b),
        ("k_nobody", world.customer_b),
        ("m_nobody", MEDIA_B),
    ]:
        text = text.replace(unknown, known)
    return status, text


def test_every_route_of_the_openapi_document_has_its_scope_in_the_table(redis_url):
    async def document() -> dict[str, Any]:
        graph = FakeGraph.start_in_thread()
        try:
            async with TestClient(TestServer(build_app(desk_settings(redis_url, graph)))) as http:
                return await (await http.get("/api/v1/openapi.json")).json()
        finally:
            graph.stop()

    served = {
        f"{m.upper()} {p.removeprefix('/api/v1')}" for p, ops in run(document())["paths"].items() for m in ops
    }
    assert served - {r.split("?")[0] for r in TABLE} == set(), "a route with no scope said in TABLE"
    assert {r.split("?")[0] for r in TABLE} - served == set(), "TABLE names a route the desk no longer has"
    assert served == {f"{r.method} {r.path}" for r in ROUTES}


@pytest.fixture
def graph():
    server = FakeGraph.start_in_thread()
    yield server
    server.stop()


@pytest.mark.parametrize("route", [r for r, c in TABLE.items() if c.kind != EVENTS])
def test_a_route_shows_nothing_of_another_number(redis_url, graph, route):
    case = TABLE[route]
    world = setup(redis_url)

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(desk_settings(redis_url, graph)))) as http:
            for who in A_SIDE:
                status, text = await call(http, world.tokens[who], route, case, world)
                if case.kind in (CONVERSATION, MEDIA, CUSTOMER):
                    assert status == 404, (who, status, text)
                    assert (status, text) == await unknown_answer(http, world.tokens[who], route, case, world)
                elif case.kind == ADMINS:
                    assert status == 403, (who, status, text)
                    continue
                elif case.kind == FIGURES:
                    assert status == 403, (who, status, text)
                    if who == "supervisor_a":
                        assert json.loads(text)["error"]["message"] == FIGURES_NOT_SPLIT
                else:
                    assert status in (200, 204, 403), (who, status, text)  # 403: not for agents at all
                    assert [leak for leak in world.leaks() if leak in text] == [], (who, text)
            # the positive control: B's people (or an admin) are let through, and find B's items
            if case.kind == ADMINS:
                assert (await call(http, world.tokens["admin"], route, case, world))[0] != 403
                return
            answers = [await call(http, world.tokens[who], route, case, world) for who in B_SIDE]
            assert any(status not in (401, 403, 404) for status, _ in answers), answers
            if case.found_by_b is not None:
                assert any(case.found_by_b(world) in text for _, text in answers), answers

    run(scenario())


async def first_event(stream) -> dict[str, Any]:
    while True:
        line = (await stream.content.readline()).decode().strip()
        if line.startswith("data: "):
            return json.loads(line[6:])


def test_the_event_stream_tells_a_person_of_number_a_nothing_of_number_b(redis_url, graph):
    world = setup(redis_url)

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(desk_settings(redis_url, graph)))) as http:

            def auth(who: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {world.tokens[who]}"}

            streams = {
                who: await http.get("/api/v1/events", headers=auth(who))
                for who in ("supervisor_a", "supervisor_b")
            }
            for stream in streams.values():
                assert (await stream.content.readline()).startswith(b": connected")
            note_b = f"/api/v1/conversations/{world.conversation_b}/notes"
            assert (
                await http.post(note_b, json={"text": "de B"}, headers=auth("supervisor_b"))
            ).status == 201
            away = {"status": "away"}
            assert (await http.put("/api/v1/me/status", json=away, headers=auth("holder_b"))).status == 200
            assert (await http.put("/api/v1/me/status", json=away, headers=auth("agent_a"))).status == 200
            note_a = f"/api/v1/conversations/{world.conversation_a}/notes"
            assert (
                await http.post(note_a, json={"text": "de A"}, headers=auth("supervisor_a"))
            ).status == 201
            # events come in order: the first two A's supervisor hears are of A's agent and conversation, so
            # B's were never handed to them; B's supervisor does hear B's
            heard_a = [await asyncio.wait_for(first_event(streams["supervisor_a"]), 10) for _ in range(2)]
            assert [e["conversation_id"] or e["agent_id"] for e in heard_a] == [
                world.ids["agent_a"],
                world.conversation_a,
            ]
            heard_b = [await asyncio.wait_for(first_event(streams["supervisor_b"]), 10) for _ in range(2)]
            assert [e["conversation_id"] or e["agent_id"] for e in heard_b] == [
                world.conversation_b,
                world.ids["holder_b"],
            ]
            for stream in streams.values():
                stream.close()

    run(scenario())


def test_a_conversation_goes_only_to_someone_who_serves_its_number(redis_url, graph):
    world = setup(redis_url)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    both, _ = AgentStore(client).add("both", ["general"], 3, Role.AGENT, numbers=[NUMBER_A, NUMBER_B])
    AgentStore(client).set_status(both.id, Presence.AVAILABLE)

    async def scenario() -> list[tuple[int, str]]:
        async with TestClient(TestServer(build_app(desk_settings(redis_url, graph)))) as http:
            path = f"/api/v1/conversations/{world.conversation_b}/transfer"
            answers = []
            for who, to in [("admin", "agent_a"), ("holder_b", "agent_a"), ("admin", "both")]:
                target = both.id if to == "both" else world.ids[to]
                body = {"to_agent": target, "reason": "especialista"}
                headers = {"Authorization": f"Bearer {world.tokens[who]}"}
                answer = await http.post(path, json=body, headers=headers)
                answers.append((answer.status, (await answer.json()).get("error", {}).get("message", "")))
            return answers

    refused, unseen, moved = run(scenario())
    assert refused == (422, "agent_a does not serve this conversation's business number")
    assert unseen == (404, f"agent {world.ids['agent_a']}")  # B's agent does not see A's people at all
    assert moved[0] == 200 and Store(client).conversation(world.conversation_b).agent_id == both.id
