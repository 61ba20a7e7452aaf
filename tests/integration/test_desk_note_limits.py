"""Private notes over the desk's HTTP API on a real Redis with a real worker (issue 28, item 7): never on a
closed conversation, never erasing the customer's messages however many there are, at most
HANDOVER_NOTES_MAX per conversation (409 too_many_notes) and HANDOVER_NOTES_PER_MINUTE per agent (429 with
Retry-After)."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover.store import Store
from tests.support.desk_http import add_agent, escalated_and_taken, run

pytestmark = pytest.mark.integration


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def note(http: TestClient, conversation_id: str, token: str, text: str):
    return await http.post(
        f"/api/v1/conversations/{conversation_id}/notes", json={"text": text}, headers=bearer(token)
    )


def test_no_note_on_a_resolved_conversation(redis_url, world):
    settings, _ = world
    _, ana = add_agent(redis_url, "Ana", "general")
    _, bia = add_agent(redis_url, "Bia", "general", role="supervisor")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            conversation = await escalated_and_taken(http, store, "5511911116666", bearer(ana))
            assert (await note(http, conversation.id, ana, "antes")).status == 201
            closed = await http.post(f"/api/v1/conversations/{conversation.id}/resolve", headers=bearer(ana))
            assert closed.status == 200
            for token in (ana, bia):
                refused = await note(http, conversation.id, token, "depois")
                assert refused.status == 409
                assert (await refused.json())["error"]["code"] == "conversation_closed"
            seen = await (
                await http.get(f"/api/v1/conversations/{conversation.id}", headers=bearer(ana))
            ).json()
            assert [e["text"] for e in seen["transcript"] if e["direction"] == "note"] == ["antes"]

    run(scenario())


def test_505_notes_never_erase_the_customers_messages(redis_url, world):
    settings, _ = world
    _, ana = add_agent(redis_url, "Ana", "general")
    _, bia = add_agent(redis_url, "Bia", "general", role="supervisor")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))
    # the caps out of the way: the transcript's 500 entries (the default) are what is under test
    many = settings.model_copy(update={"handover_notes_max": 1000, "handover_notes_per_minute": 1000})

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(many))) as http:
            conversation = await escalated_and_taken(http, store, "5511911117777", bearer(ana))
            before = await asyncio.to_thread(store.transcript, conversation.id)
            said = [e.id for e in before if e.direction == "in"]
            assert said
            assert (await note(http, conversation.id, bia, "cliente VIP, cuidado")).status == 201
            for n in range(505):
                assert (await note(http, conversation.id, ana, f"nota {n}")).status == 201

            seen = await (
                await http.get(f"/api/v1/conversations/{conversation.id}", headers=bearer(ana))
            ).json()
            kept = seen["transcript"]
            assert [e["id"] for e in kept if e["direction"] == "in"] == said
            assert {e.id for e in before} <= {e["id"] for e in kept}
            notes = [e["text"] for e in kept if e["direction"] == "note"]
            assert len(notes) == 506 and notes[0] == "cliente VIP, cuidado"

    run(scenario())


def test_the_notes_cap_and_rate_answer_as_documented(redis_url, world):
    settings, _ = world
    _, ana = add_agent(redis_url, "Ana", "general")
    _, caio = add_agent(redis_url, "Caio", "general")
    _, bia = add_agent(redis_url, "Bia", "general", role="supervisor")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))
    few = settings.model_copy(update={"handover_notes_max": 3})

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            conversation = await escalated_and_taken(http, store, "5511911118888", bearer(ana))
            if time.time() % 60 > 45:  # the count is by the minute: 30 notes within one
                await asyncio.sleep(61 - time.time() % 60)
            for n in range(30):
                assert (await note(http, conversation.id, ana, f"nota {n}")).status == 201
            refused = await note(http, conversation.id, ana, "mais uma")
            assert refused.status == 429
            assert (await refused.json())["error"]["code"] == "too_many_notes_per_minute"
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
            # another agent is not held back by Ana's count
            assert (await note(http, conversation.id, bia, "da supervisora")).status == 201

        async with TestClient(TestServer(build_app(few))) as http:
            other = await escalated_and_taken(http, store, "5511911119999", bearer(caio))
            for n in range(3):
                assert (await note(http, other.id, caio, f"nota {n}")).status == 201
            full = await note(http, other.id, caio, "a quarta")
            assert full.status == 409
            assert (await full.json())["error"]["code"] == "too_many_notes"
            seen = await (await http.get(f"/api/v1/conversations/{other.id}", headers=bearer(caio))).json()
            assert len(seen["packet"]["notes"]) == 3

    run(scenario())
