"""The desk API over HTTP in integration tests: agents made with the real command, a customer's signed
webhook, and the step most scenarios start from (the customer asked for a person, the agent took it)."""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp.test_utils import TestClient

from handover.message import CustomerRef
from handover.store import Store
from tests.support.processes import wait_for
from tests.support.stack import add_agent_with_the_cli
from tests.support.watchdog import run as run  # the scenarios' runner, with a watchdog
from tests.support.webhook import PNID, body, signed, text_message


def add_agent(
    redis_url: str, name: str, queues: str, role: str = "agent", capacity: int = 3
) -> tuple[str, str]:
    """Through the real command, as ops would; (id, token)."""
    created = add_agent_with_the_cli(
        {"REDIS_URL": redis_url, "PATH": ""}, name, queues.split(","), capacity, role
    )
    return created["id"], created["token"]


def customer_says(wa_id: str, text: str, n: int, at: int | None = None) -> tuple[bytes, dict[str, str]]:
    """The signed webhook of the customer's `n`th message, sent at WhatsApp time `at` (now, unless told:
    WhatsApp's clock is in seconds, and the 24-hour window counts from it)."""
    sent = int(time.time()) if at is None else at
    return signed(body([text_message(f"wamid.{wa_id}.{n}", wa_id, text, sent)], names={wa_id: "Ana"}))


async def connected(stream) -> None:
    """An event stream's first line: subscribed, from here on nothing published is missed."""
    assert (await stream.content.readline()).startswith(b": connected")


async def frames(stream) -> list[tuple[str, dict]]:
    """Every event of a stream until the server ends it: (event, data)."""
    seen, kind = [], None
    async for raw in stream.content:
        line = raw.decode().strip()
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            seen.append((kind, json.loads(line[6:])))
    return seen


async def next_event(stream) -> str:
    """The kind of the next event a stream sends."""
    while True:
        line = (await stream.content.readline()).decode().strip()
        if line.startswith("event: "):
            return line[7:]


async def escalated_and_taken(http: TestClient, store: Store, wa_id: str, auth: dict[str, str]):
    """The customer asks for a person, the conversation waits, and the agent (now available) takes it."""
    raw, headers = customer_says(wa_id, "atendente", 1)
    await http.post("/webhook", data=raw, headers=headers)
    conversation = await asyncio.to_thread(wait_for, lambda: queued(store, wa_id), 30, "queued")
    await http.put("/api/v1/me/status", json={"status": "available"}, headers=auth)
    assert (await http.post("/api/v1/queues/next", headers=auth)).status == 200
    return conversation


def current(store: Store, wa_id: str):
    return store.current_conversation(CustomerRef(phone_number_id=PNID, wa_id=wa_id))


def queued(store: Store, wa_id: str):
    conversation = current(store, wa_id)
    return conversation if conversation is not None and conversation.state == "queued" else None
