"""Every kind of customer message through the real webhook and worker (issue 29, item 1): the recorded bodies
of tests/data/webhooks/kinds.json (after Meta's messages webhook reference; see the README beside them),
posted in order, and what the transcript API then gives a client to show each as the customer meant it, and
what the bot answered: a place and a contact card are not "a file", a reaction, an edit and a deletion are
not answered at all."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from pathlib import Path

import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from app.web import build_app
from handover.store import Store
from tests.support.desk_http import add_agent, current, run
from tests.support.processes import wait_for
from tests.support.webhook import PNID, signed

pytestmark = pytest.mark.integration

KINDS = json.loads((Path(__file__).resolve().parents[1] / "data" / "webhooks" / "kinds.json").read_text())
WA = "5511987654321"


def now_and_here(payload: dict) -> dict:
    """The recorded body as if sent now (the 24-hour window counts from WhatsApp's time) to our number."""
    fresh = copy.deepcopy(payload)
    for change in fresh["entry"][0]["changes"]:
        change["value"]["metadata"]["phone_number_id"] = PNID
        for message in change["value"]["messages"]:
            message["timestamp"] = str(int(time.time()))
    return fresh


def test_each_kind_reaches_the_transcript_as_the_customer_meant_it(redis_url, world):
    settings, _ = world
    _, bia = add_agent(redis_url, "Bia", "general", role="supervisor")
    store = Store(redis.Redis.from_url(redis_url, decode_responses=True))

    async def scenario() -> None:
        async with TestClient(TestServer(build_app(settings))) as http:
            for name, payload in KINDS.items():
                raw, headers = signed(now_and_here(payload))
                answer = await http.post("/webhook", data=raw, headers=headers)
                assert answer.status == 200, name
                last = payload["entry"][0]["changes"][0]["value"]["messages"][-1]["id"]
                await asyncio.to_thread(
                    wait_for,
                    lambda last=last: (c := current(store, WA)) and store.entry(c.id, last),
                    30,
                    f"{name} in the transcript",
                )
            conversation = current(store, WA)
            detail = await (
                await http.get(
                    f"/api/v1/conversations/{conversation.id}", headers={"Authorization": f"Bearer {bia}"}
                )
            ).json()
            return detail["transcript"]

    transcript = run(scenario())
    said = {e["id"]: e for e in transcript if e["direction"] == "in"}
    first = "wamid.KINDS.1"
    assert said["wamid.KINDS.2"]["kind"] == "reaction"
    assert (said["wamid.KINDS.2"]["text"], said["wamid.KINDS.2"]["context_id"]) == ("👍", first)
    assert (said["wamid.KINDS.3"]["text"], said["wamid.KINDS.3"]["context_id"]) == (None, first)  # removed
    assert (said["wamid.KINDS.4"]["kind"], said["wamid.KINDS.4"]["text"]) == (
        "edit",
        "bom dia, tudo bem por aí?",
    )
    assert said["wamid.KINDS.4"]["context_id"] == first
    assert (said["wamid.KINDS.5"]["kind"], said["wamid.KINDS.5"]["context_id"]) == ("revoke", first)
    assert (said["wamid.KINDS.6"]["text"], said["wamid.KINDS.6"]["context_id"]) == ("esse mesmo", first)
    [card] = said["wamid.KINDS.7"]["content"]["contacts"]
    assert (card["name"]["formatted_name"], card["phones"][0]["phone"]) == ("Joana Reis", "+55 11 98888-7777")
    place = said["wamid.KINDS.8"]["content"]
    assert (place["name"], place["address"], place["latitude"]) == (
        "Loja Paulista",
        "Av. Paulista, 1000",
        -23.5614,
    )
    flow = said["wamid.KINDS.9"]
    assert flow["kind"] == "flow_reply"
    assert json.loads(flow["content"]["nfm_reply"]["response_json"])["motivo"] == "produto com defeito"
    sticker = said["wamid.KINDS.10"]
    assert (sticker["kind"], sticker["media"]["mime_type"]) == ("sticker", "image/webp")
    unsupported = said["wamid.KINDS.11"]
    assert (unsupported["kind"], unsupported["content"]["errors"][0]["code"]) == ("unsupported", 131051)

    # what the bot said after each: a place and a card are not "a file"; changes to a message, nothing
    answered: dict[str, list[str]] = {}
    last_in = None
    for entry in transcript:
        if entry["direction"] == "in":
            last_in = entry["id"]
        elif entry["author"] == "bot" and last_in is not None:
            answered.setdefault(last_in, []).append(entry["text"])
    assert answered["wamid.KINDS.8"][0].startswith("Recebi sua localização")
    assert answered["wamid.KINDS.7"][0].startswith("Recebi o contato")
    assert not {"wamid.KINDS.2", "wamid.KINDS.3", "wamid.KINDS.4", "wamid.KINDS.5"} & set(answered)
