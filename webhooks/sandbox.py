"""Sandbox routes: play the customer without WhatsApp. Posts go through the same signed-webhook path."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError
from redis.asyncio import Redis as AsyncRedis

from handover.traffic import outbound
from webhooks import signature
from webhooks.errors import NotWhatsAppPayload
from webhooks.sandbox_media import media_message
from webhooks.views import WEBHOOK, BadSignature, StoreUnavailable, WebhookContext, accept_signed

SANDBOX_PHONE_NUMBER_ID = "100000000000001"
SANDBOX_DISPLAY_NUMBER = "15550000001"
# A poll reads this many of the newest outbox records; only when all are new does it read the whole list.
OUTBOX_TAIL = 50


class SandboxMessage(BaseModel):
    """A customer turn: text, the tap of a reply button / list row (by id and title), or one of the
    sample media (webhooks/sandbox_media.py) with an optional caption (`text`)."""

    sender: str = Field(alias="from", min_length=1, max_length=64)
    name: str = Field(default="Sandbox customer", max_length=100)
    text: str | None = Field(default=None, max_length=4096)
    button: dict[str, str] | None = None  # {"id", "title"} of a reply button
    list_row: dict[str, str] | None = None  # {"id", "title"[, "description"]} of a list row
    media: Literal["image", "audio", "document"] | None = None
    context: str | None = Field(default=None, max_length=200)  # wamid of the business message answered
    phone_number_id: str = SANDBOX_PHONE_NUMBER_ID


class SandboxStatus(BaseModel):
    """The customer's phone reporting on a message the business sent (a wamid from the outbox)."""

    id: str = Field(min_length=1, max_length=200)
    status: Literal["delivered", "read"]
    to: str = Field(min_length=1, max_length=64)


def _envelope(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "sandbox", "changes": [{"field": "messages", "value": value}]}],
    }


def _metadata(phone_number_id: str) -> dict[str, str]:
    return {"display_phone_number": SANDBOX_DISPLAY_NUMBER, "phone_number_id": phone_number_id}


def meta_payload(msg: SandboxMessage, message_id: str, timestamp: int) -> dict[str, Any]:
    """The webhook body Meta would send for this turn."""
    message: dict[str, Any] = {"from": msg.sender, "id": message_id, "timestamp": str(timestamp)}
    if msg.context:  # Meta sets it on every button and list reply
        message["context"] = {"from": SANDBOX_DISPLAY_NUMBER, "id": msg.context}
    if msg.button:
        message |= {
            "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": msg.button},
        }
    elif msg.list_row:
        message |= {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": msg.list_row}}
    elif msg.media:
        message |= media_message(msg.media, msg.text)
    else:
        message |= {"type": "text", "text": {"body": msg.text or ""}}
    return _envelope(
        {
            "messaging_product": "whatsapp",
            "metadata": _metadata(msg.phone_number_id),
            "contacts": [{"profile": {"name": msg.name}, "wa_id": msg.sender}],
            "messages": [message],
        }
    )


def meta_status_payload(
    phone_number_id: str, message_id: str, status: str, recipient: str, timestamp: int
) -> dict[str, Any]:
    """The webhook body Meta would send when the customer's phone got, or showed, one of our messages."""
    # Customers known only by username have a business-scoped user id ("BR.1502...") instead of a wa_id.
    recipient_field = "recipient_id" if recipient.isdigit() else "recipient_user_id"
    item = {"id": message_id, "status": status, "timestamp": str(timestamp), recipient_field: recipient}
    return _envelope(
        {"messaging_product": "whatsapp", "metadata": _metadata(phone_number_id), "statuses": [item]}
    )


async def _take_signed(ctx: WebhookContext, payload: dict[str, Any]) -> web.Response | None:
    """Sign `payload` like Meta and take it through the webhook's own path; an error response, or None."""
    body = json.dumps(payload).encode()
    try:
        # Signed like Meta's own posts and taken through the same path: what works here works with Meta.
        await accept_signed(ctx, body, signature.sign(body, ctx.app_secret))
    except (BadSignature, ValueError, NotWhatsAppPayload) as exc:
        return _error(500, "sandbox_payload", repr(exc)[:200])
    except StoreUnavailable:
        return _error(503, "store_unavailable", "storage unavailable")
    return None


async def post_message(request: web.Request) -> web.Response:
    """A customer turn; answers its wamid and the server time it was taken at."""
    try:
        msg = SandboxMessage.model_validate(await request.json())
    except (ValueError, ValidationError) as exc:
        return _error(422, "invalid_body", str(exc)[:500])
    if not (msg.text or msg.button or msg.list_row or msg.media):
        return _error(422, "invalid_body", "give text, button, list_row or media")
    message_id = f"wamid.sandbox.in.{uuid.uuid4().hex}"
    at = time.time()
    failed = await _take_signed(request.app[WEBHOOK], meta_payload(msg, message_id, int(at)))
    return failed or web.json_response({"id": message_id, "at": at}, status=202)


async def post_status(request: web.Request) -> web.Response:
    """`{"id", "status": "delivered"|"read", "to"}`: a status webhook for a message in `to`'s outbox."""
    ctx = request.app[WEBHOOK]
    try:
        body = SandboxStatus.model_validate(await request.json())
    except (ValueError, ValidationError) as exc:
        return _error(422, "invalid_body", str(exc)[:500])
    records = await outbound.outbox(ctx.redis, body.to)
    sent = next((r for r in records if r.get("id") == body.id), None)
    if sent is None:  # Meta only reports on messages it was given
        return _error(404, "unknown_message", f"no message {body.id} in the outbox of {body.to}")
    number = sent.get("phone_number_id") or SANDBOX_PHONE_NUMBER_ID
    payload = meta_status_payload(number, body.id, body.status, body.to, int(time.time()))
    failed = await _take_signed(ctx, payload)
    return failed or web.json_response({"id": body.id, "status": body.status}, status=202)


async def outbox(request: web.Request) -> web.Response:
    """What the business sent, oldest first; `?to=<wa_id>` for one customer, `?after=<at>` for newer ones.

    `next_after` is what to pass as `after` on the next poll."""
    ctx = request.app[WEBHOOK]
    to = request.query.get("to") or None
    if "after" not in request.query:
        records = await outbound.outbox(ctx.redis, to)
        return web.json_response({"messages": records, "next_after": _last_at(records, 0.0)})
    try:
        after = float(request.query["after"])
    except ValueError:
        return _error(422, "invalid_query", "after must be a number (the `at` of the last record seen)")
    records = await _records_after(ctx.redis, to, after)
    return web.json_response({"messages": records, "next_after": _last_at(records, after)})


async def _records_after(client: AsyncRedis, to: str | None, after: float) -> list[dict[str, Any]]:
    # One customer's sends are written in order by the holder of its partition, so `at` grows along the
    # list: a poll reads the tail, and the whole list only when even the tail's oldest record is new.
    records = await outbound.outbox(client, to, -OUTBOX_TAIL)
    if len(records) == OUTBOX_TAIL and records[0]["at"] > after:
        records = await outbound.outbox(client, to)
    return [r for r in records if r["at"] > after]


def _last_at(records: list[dict[str, Any]], default: float) -> float:
    return max((float(r["at"]) for r in records), default=default)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def routes() -> list[web.RouteDef]:
    return [
        web.post("/sandbox/messages", post_message),
        web.post("/sandbox/statuses", post_status),
        web.get("/sandbox/outbox", outbox),
    ]
