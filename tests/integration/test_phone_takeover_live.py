"""Coexistence on a real redis-server with a real worker and a fake Graph API, through the signed webhook and
the desk API: a message sent from the WhatsApp Business app on our number pauses the bot in that
conversation, and release hands it back (handover/coexistence.py)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover.message import CustomerRef
from handover.store import Store
from tests.conftest import PYWA_FIXTURES
from tests.support.desk_http import add_agent, run
from tests.support.processes import wait_for
from tests.support.webhook import PNID, body, signed, text_message

pytestmark = pytest.mark.integration

ANA = "5511987650303"
BUSINESS = "5511400000000"  # the display number tests/support/webhook.py's bodies carry


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def echo(to: str, text: str, at: int) -> dict[str, Any]:
    """pywa's recorded `smb_message_echoes` body (outgoing_message.json, "text"), sent to this customer."""
    recorded = json.loads((PYWA_FIXTURES / "outgoing_message.json").read_text())["text"]
    value = recorded["entry"][0]["changes"][0]["value"]
    value["metadata"] = {"display_phone_number": BUSINESS, "phone_number_id": PNID}
    value["contacts"] = [{"profile": {"name": "Ana"}, "wa_id": to}]
    [message] = value["message_echoes"]
    message |= {
        "from": BUSINESS,
        "to": to,
        "id": f"wamid.echo.{at}",
        "timestamp": str(at),
        "text": {"body": text},
    }
    for gone in ("to_user_id", "to_parent_user_id"):  # this customer has no business-scoped ids
        message.pop(gone)
    return recorded


def test_an_echo_pauses_the_bot_and_release_resumes_it(redis_url, world):
    settings, graph = world
    _, agent = add_agent(redis_url, "Rui", "general")
    _, bia = add_agent(redis_url, "Bia", "general", role="supervisor")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))
    said = iter(range(100))

    async def says(http: TestClient, text: str) -> str:
        n = next(said)
        raw, headers = signed(body([text_message(f"wamid.ana.{n}", ANA, text, int(time.time()) + n)]))
        assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
        return f"wamid.ana.{n}"

    def after(message_id: str) -> list[str] | None:
        """Authors of what the transcript holds after the message (None until the message is in)."""
        conversation = store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id=ANA))
        transcript = store.transcript(conversation.id) if conversation else []
        ids = [e.id for e in transcript]
        return [e.author for e in transcript[ids.index(message_id) + 1 :]] if message_id in ids else None

    def sent_at_meta() -> list[dict[str, Any]]:
        """What reached Meta but read receipts: the bot's answers (text or buttons)."""
        return [r["json"] for r in graph.requests if r["json"].get("status") != "read"]

    async def waits(predicate, what: str):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(wait_for, predicate, 30, what)

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            first = await says(http, "oi")
            await waits(lambda: after(first) == ["bot"], "the bot's greeting")
            await waits(lambda: len(sent_at_meta()) == 1, "the greeting at Meta")

            raw, headers = signed(echo(ANA, "Oi Ana, é a Júlia da loja!", int(time.time()) + next(said)))
            assert (await http.post("/webhook", data=raw, headers=headers)).status == 200
            await waits(lambda: after(first) == ["bot", "phone"], "the echo in the transcript")
            conversation = store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id=ANA))
            path = f"/api/v1/conversations/{conversation.id}"
            detail = await (await http.get(path, headers=bearer(bia))).json()
            assert detail["state"] == "bot" and detail["paused_by_phone_until"] > time.time()
            [phone] = [e for e in detail["transcript"] if e["author"] == "phone"]
            assert (phone["direction"], phone["text"], phone["delivery"]["status"]) == (
                "out",
                "Oi Ana, é a Júlia da loja!",
                "sent",
            )

            # the bot would greet this; paused, it says nothing (its reply would commit with the message)
            quiet = await says(http, "oi, tudo bem?")
            await waits(lambda: after(quiet) is not None, "the message")
            assert after(quiet) == [], store.transcript(conversation.id)
            assert len(sent_at_meta()) == 1

            assert (await http.post(f"{path}/release", headers=bearer(agent))).status == 403  # not theirs
            released = await http.post(f"{path}/release", headers=bearer(bia))
            assert released.status == 200 and (await released.json())["paused_by_phone_until"] is None
            back = await says(http, "oi")
            await waits(lambda: after(back) == ["bot"], "the bot again")
            await waits(lambda: len(sent_at_meta()) == 2, "its answer at Meta")
            assert [sent["to"] for sent in sent_at_meta()] == [ANA, ANA]

    run(scenario())
