"""Sandbox routes: play the customer without WhatsApp. Posts go through the same signed-webhook path."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from handover import keys
from webhooks import signature
from webhooks.errors import NotWhatsAppPayload
from webhooks.views import WEBHOOK, BadSignature, StoreUnavailable, accept_signed

SANDBOX_PHONE_NUMBER_ID = "100000000000001"
SANDBOX_DISPLAY_NUMBER = "15550000001"


class SandboxMessage(BaseModel):
    """A customer turn: text, or the tap of a reply button / list row (by id and title)."""

    sender: str = Field(alias="from", min_length=1, max_length=64)
    name: str = Field(default="Sandbox customer", max_length=100)
    text: str | None = Field(default=None, max_length=4096)
    button: dict[str, str] | None = None  # {"id", "title"} of a reply button
    list_row: dict[str, str] | None = None  # {"id", "title"} of a list row
    phone_number_id: str = SANDBOX_PHONE_NUMBER_ID


def meta_payload(msg: SandboxMessage, message_id: str, timestamp: int) -> dict[str, Any]:
    """The webhook body Meta would send for this turn."""
    message: dict[str, Any] = {"from": msg.sender, "id": message_id, "timestamp": str(timestamp)}
    if msg.button:
        message |= {
            "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": msg.button},
        }
    elif msg.list_row:
        message |= {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": msg.list_row}}
    else:
        message |= {"type": "text", "text": {"body": msg.text or ""}}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": SANDBOX_DISPLAY_NUMBER, "phone_number_id": msg.phone_number_id},
        "contacts": [{"profile": {"name": msg.name}, "wa_id": msg.sender}],
        "messages": [message],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "sandbox", "changes": [{"field": "messages", "value": value}]}],
    }


async def post_message(request: web.Request) -> web.Response:
    ctx = request.app[WEBHOOK]
    try:
        msg = SandboxMessage.model_validate(await request.json())
    except (ValueError, ValidationError) as exc:
        return _error(422, "invalid_body", str(exc)[:500])
    if not (msg.text or msg.button or msg.list_row):
        return _error(422, "invalid_body", "give text, button or list_row")
    message_id = f"wamid.sandbox.in.{uuid.uuid4().hex}"
    body = json.dumps(meta_payload(msg, message_id, int(time.time()))).encode()
    try:
        # Signed like Meta's own posts and taken through the same path: what works here works with Meta.
        await accept_signed(ctx, body, signature.sign(body, ctx.app_secret))
    except (BadSignature, ValueError, NotWhatsAppPayload) as exc:
        return _error(500, "sandbox_payload", repr(exc)[:200])
    except StoreUnavailable:
        return _error(503, "store_unavailable", "storage unavailable")
    return web.json_response({"id": message_id}, status=202)


async def outbox(request: web.Request) -> web.Response:
    """What the business sent, oldest first; `?to=<wa_id>` for one customer."""
    ctx = request.app[WEBHOOK]
    to = request.query.get("to")
    key = keys.outbox_key(to) if to else keys.SANDBOX_OUTBOX_ALL
    raw = await ctx.redis.lrange(key, 0, -1)
    return web.json_response({"messages": [json.loads(item) for item in raw]})


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def routes() -> list[web.RouteDef]:
    return [web.post("/sandbox/messages", post_message), web.get("/sandbox/outbox", outbox)]
