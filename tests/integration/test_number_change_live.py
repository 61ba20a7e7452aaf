"""A customer changes number mid-conversation, on a real redis-server with a real worker and a fake Graph
API, through the signed webhook and the desk API: their verified identity, history and sticky agent stay,
and what they write from the new number continues the same conversation (handover/rekey.py)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover.conversation import Conversation, ConversationState
from handover.message import CustomerRef
from handover.store import Store
from tests.support.desk_http import add_agent, run
from tests.support.processes import wait_for
from tests.support.webhook import PNID, body, signed, text_message

pytestmark = pytest.mark.integration

OLD, NEW = "5511987650101", "5521998770202"
CHANGES = Path(__file__).resolve().parents[1] / "data" / "webhooks" / "changes.json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def number_changed(old: str, new: str, at: int) -> dict[str, Any]:
    """Our recorded `user_changed_number` body (tests/data/webhooks/changes.json, after Meta's system
    messages reference) for this customer: no contacts, the new number in `system.wa_id`. This customer has
    no business-scoped ids, so those are left out, as pywa's system.json has them."""
    recorded = json.loads(CHANGES.read_text())["number_changed"]
    value = recorded["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = PNID
    [message] = value["messages"]
    message |= {"from": old, "id": f"wamid.change.{old}", "timestamp": str(at)}
    message["system"] = {
        "body": f"User Ana changed from {old} to {new}",
        "wa_id": new,
        "type": "user_changed_number",
    }
    return recorded


def earlier_conversation_served_by(store: Store, agent_id: str) -> str:
    """What the customer's history holds before today: a conversation Ana resolved last week."""
    week_ago = time.time() - 7 * 24 * 3600
    earlier = Conversation.start(CustomerRef(phone_number_id=PNID, wa_id=OLD, profile_name="Ana"), week_ago)
    earlier.state, earlier.agent_id, earlier.resolved_at = (
        ConversationState.RESOLVED,
        agent_id,
        week_ago + 600,
    )
    with store.client.pipeline(transaction=True) as pipe:
        store.save_conversation(pipe, earlier)
        store.link_to_customer(pipe, earlier)
        pipe.execute()
    return earlier.id


def test_a_number_change_keeps_identity_history_and_agent_and_the_new_number_continues(redis_url, world):
    settings, graph = world
    ana_id, ana = add_agent(redis_url, "Ana", "general")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))
    earlier = earlier_conversation_served_by(store, ana_id)
    said = iter(range(100))

    def current(wa_id: str) -> Conversation | None:
        return store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id=wa_id))

    async def says(http: TestClient, wa_id: str, text: str) -> None:
        n = next(said)
        raw, headers = signed(body([text_message(f"wamid.{n}", wa_id, text, int(time.time()) + n)]))
        assert (await http.post("/webhook", data=raw, headers=headers)).status == 200

    def transcript_has(conversation_id: str, text: str) -> bool:
        return any(e.text == text for e in store.transcript(conversation_id))

    async def waits(predicate, what: str):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(wait_for, predicate, 30, what)

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            # verified (the rules' identity flow), then handed over for the order: Ana takes it
            for text in ("oi, cadê meu pedido?", "529.982.247-25", "14/03/1988", "4455"):
                await says(http, OLD, text)
                await asyncio.sleep(0.3)  # each answer in its own batch, as a person types
            queued = await waits(lambda: (c := current(OLD)) and c.state == "queued" and c, "queued")
            await http.put("/api/v1/me/status", json={"status": "available"}, headers=bearer(ana))
            assert (await http.post("/api/v1/queues/next", headers=bearer(ana))).status == 200

            raw, headers = signed(number_changed(OLD, NEW, int(time.time())))
            assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
            await waits(lambda: (c := current(NEW)) is not None and c.id == queued.id, "the re-key")
            assert current(OLD) is None

            await says(http, NEW, "alguma novidade?")
            await waits(lambda: transcript_has(queued.id, "alguma novidade?"), "the new number's message")
            sent = await http.post(
                f"/api/v1/conversations/{queued.id}/messages",
                json={"text": "Achei seu pedido, sai amanhã."},
                headers=bearer(ana),
            )
            assert sent.status == 202
            await waits(lambda: any(r["json"].get("text", {}).get("body") == "Achei seu pedido, sai amanhã."
                                    for r in graph.requests), "the reply at Meta")  # fmt: skip
            reply = next(
                r for r in graph.requests if r["json"].get("text", {}).get("body", "").startswith("Achei")
            )
            assert reply["json"]["to"] == NEW

            detail = await (await http.get(f"/api/v1/conversations/{queued.id}", headers=bearer(ana))).json()
            assert (detail["state"], detail["agent_id"], detail["wa_id"], detail["customer_key"]) == (
                "assigned",
                ana_id,
                NEW,
                NEW,
            )
            assert detail["identity"]["verified"] and detail["identity"]["customer_reference"] == "CUST-0001"
            [change] = [e for e in detail["transcript"] if e["kind"] == "number_changed"]
            assert (change["content"]["from"], change["content"]["to"], change["author"]) == (
                OLD,
                NEW,
                "system",
            )
            history = await http.get(
                f"/api/v1/customers/{NEW}/conversations",
                params={"phone_number_id": PNID},
                headers=bearer(ana),
            )
            assert [h["id"] for h in await history.json()] == [queued.id, earlier]

            # back to the bot, then a new question from the new number: no identity asked again, and the
            # hand-over that follows names Ana (who served them before) as the sticky agent
            assert (
                await http.post(f"/api/v1/conversations/{queued.id}/release", headers=bearer(ana))
            ).status == 200
            asked = len(graph.requests)
            await says(http, NEW, "cadê meu pedido?")
            await waits(
                lambda: transcript_has(queued.id, "Qual é o número do pedido? (só os números)"), "the bot"
            )
            bot_said = [r["json"].get("text", {}).get("body") for r in graph.requests[asked:]]
            assert "Para sua segurança, qual é o seu CPF?" not in bot_said
            await asyncio.sleep(0.3)
            await says(http, NEW, "4455")
            again = await waits(lambda: (c := current(NEW)) and c.state == "queued" and c, "queued again")
            assert again.id == queued.id
            packet = store.packet(queued.id)
            assert packet is not None and packet.previous_agent == ana_id
            assert packet.past_conversations == [earlier] and packet.identity.verified
            assert packet.customer.wa_id == NEW

    run(scenario())
