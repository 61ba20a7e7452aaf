"""Building and signing webhook bodies the way Meta does, for tests and the bench."""

from __future__ import annotations

import io
import json
import time
from typing import Any

from config.settings import Settings
from handover import keys
from handover.keys import Lane
from webhooks.signature import HEADER, sign

SECRET = b"test-app-secret"
# WhatsApp timestamps for test messages: an hour ago, so the 24-hour window is open while the tests run
# (a waiting conversation whose window has closed is abandoned by the workers).
RECENT = int(time.time()) - 3600
PNID = "1122334455667"


def line_settings(redis_url: str = "redis://unused", partitions: int = 2) -> Settings:
    """Settings of a deployment on a real line (not the sandbox) whose webhooks are signed with SECRET; the
    Redis URL is unused when the app is given its clients."""
    return Settings(
        redis_url=redis_url,
        whatsapp_access_token="t",
        whatsapp_app_secret=SECRET.decode(),
        whatsapp_verify_token="v",
        handover_partitions=partitions,
    )


def text_message(
    message_id: str, wa_id: str, text: str, timestamp: int, name: str = "Cliente"
) -> dict[str, Any]:
    return {
        "from": wa_id,
        "id": message_id,
        "timestamp": str(timestamp),
        "type": "text",
        "text": {"body": text},
    }


def edit_message(message_id: str, wa_id: str, original_id: str, text: str, timestamp: int) -> dict[str, Any]:
    """The customer edited their text message `original_id` to say `text` (Meta's `edit` message)."""
    return {
        "from": wa_id,
        "id": message_id,
        "timestamp": str(timestamp),
        "type": "edit",
        "edit": {"original_message_id": original_id, "message": {"type": "text", "text": {"body": text}}},
    }


def body(
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    pnid: str = PNID,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One entry, one change, holding the given messages (contacts derived from their senders)."""
    messages = messages or []
    senders = dict.fromkeys(m["from"] for m in messages if "from" in m)
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "5511400000000", "phone_number_id": pnid},
    }
    if senders:
        value["contacts"] = [
            {"profile": {"name": (names or {}).get(s, "Cliente")}, "wa_id": s} for s in senders
        ]
    if messages:
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
    }


def signed(payload: dict[str, Any] | bytes, secret: bytes = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return raw, {HEADER: sign(raw, secret), "Content-Type": "application/json"}


async def signed_post(client: Any, payload: dict[str, Any] | bytes, secret: bytes = SECRET) -> Any:
    """POST a body to /webhook signed with `secret` through an aiohttp test client."""
    raw, headers = signed(payload, secret)
    return await client.post("/webhook", data=io.BytesIO(raw), headers=headers)


async def stored_items(client: Any, partitions: int) -> list[dict[str, Any]]:
    """What the webhook stored for the processors, every inbound partition, as dicts."""
    items = []
    for p in range(partitions):
        for _, fields in await client.xrange(keys.stream_key(Lane.INBOUND, p)):
            items.append(json.loads(fields["d"]))
    return items
