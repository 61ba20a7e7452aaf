"""The webhook edge: verify, parse, dedupe and store durably, then answer. No bot work happens here."""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from aiohttp import web
from redis.asyncio import Redis as AsyncRedis

from handover.availability import is_unavailable
from handover.traffic.enqueue import InboundItem, IngestResult, ingest, keep_unhandled
from webhooks import signature
from webhooks.errors import NotWhatsAppPayload
from webhooks.gate import BodyGate, Busy, Incomplete, SlowBody, TooLarge, is_signature_shaped
from webhooks.metrics import WebhookMetrics
from webhooks.normalize import Normalized, normalize
from webhooks.pressure import OVERLOADED, RETRY_AFTER_SECONDS, LoopLag

log = structlog.get_logger(__name__)

PARSE_IN_THREAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 3 * 1024 * 1024  # Meta sends at most 3 MB in one POST
STORE_RETRY_AFTER = 5  # seconds; Redis away is usually a restart or a failover


@dataclass
class WebhookContext:
    """What the webhook views need, set on the app by the composition root."""

    redis: AsyncRedis
    app_secret: bytes
    verify_token: str
    partitions: int
    serves: Callable[[str], bool] = lambda phone_number_id: True  # the settings' serves_number; default: all
    gate: BodyGate = field(default_factory=BodyGate)
    metrics: WebhookMetrics = field(default_factory=WebhookMetrics)
    pressure: LoopLag = field(default_factory=LoopLag)  # not checking until app/edge.py starts it

    def __post_init__(self) -> None:
        self.metrics.loop_lag.set_function(self.pressure.current)


WEBHOOK = web.AppKey("webhook", WebhookContext)


class StoreUnavailable(Exception):
    """Redis could not take the items: answer 503 so Meta delivers them again."""


class BadSignature(Exception):
    """The body was not signed with our app secret."""


async def verify_subscription(request: web.Request) -> web.Response:
    """Meta's GET handshake: echo hub.challenge when the verify token matches."""
    ctx = request.app[WEBHOOK]
    mode = request.query.get("hub.mode", "")
    token = request.query.get("hub.verify_token", "")
    challenge = request.query.get("hub.challenge", "")
    if mode == "subscribe" and challenge and hmac.compare_digest(token.encode(), ctx.verify_token.encode()):
        log.info("webhook_subscription_verified")
        return web.Response(text=challenge)
    log.warning("webhook_subscription_refused")
    return _error(403, "verification_failed", "verification failed")


async def receive(request: web.Request) -> web.Response:
    """Meta's POST: 401 unsigned, 403 bad signature, 413 too big, 408 too slow, 400 not WhatsApp or cut
    short, 503 overloaded, busy or no Redis (with Retry-After: Meta delivers again), else 200. Errors
    are JSON `{"error": {"code", "message"}}`. What can be refused from the headers is, before the body
    is read."""
    ctx = request.app[WEBHOOK]
    started = time.perf_counter()
    ctx.metrics.received.inc()
    if ctx.pressure.shed():  # the loop is behind: refused before anything else is spent on it
        return _overloaded(ctx)
    header = request.headers.get(signature.HEADER)
    if not header:
        return _reject(ctx, 401, "missing_signature", "missing X-Hub-Signature-256")
    if not is_signature_shaped(header):
        return _reject(ctx, 403, "bad_signature", "X-Hub-Signature-256 is not sha256= and 64 hex digits")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _reject(ctx, 413, "too_large", "body larger than 3 MB")
    try:
        async with ctx.gate.slot(request.content_length):
            await accept_signed(ctx, await ctx.gate.read(request), header)
    except Busy:
        return _reject(ctx, 503, "busy", "too many webhooks at once, retry later", ctx.gate.retry_after)
    except SlowBody:
        return _reject(ctx, 408, "body_timeout", f"body not received within {ctx.gate.timeout:g} s")
    except TooLarge:
        return _reject(ctx, 413, "too_large", "body larger than 3 MB")
    except Incomplete:
        return _reject(ctx, 400, "body_incomplete", "the body ended before its declared length")
    except BadSignature:
        return _reject(ctx, 403, "bad_signature", "signature does not match")
    except (ValueError, NotWhatsAppPayload) as exc:
        return _reject(ctx, 400, "malformed", str(exc)[:200])
    except StoreUnavailable:
        return _reject(ctx, 503, "store_unavailable", "storage unavailable, retry later", STORE_RETRY_AFTER)
    ctx.metrics.latency.observe(time.perf_counter() - started)
    return web.Response(text="ok")


async def accept_signed(ctx: WebhookContext, body: bytes, header: str) -> IngestResult:
    """Verify, parse and store a body; raises BadSignature, ValueError/NotWhatsAppPayload or StoreUnavailable.

    The signature is checked on the raw bytes before any JSON is trusted.
    """
    if not signature.is_valid(body, header, ctx.app_secret):
        raise BadSignature
    if len(body) > PARSE_IN_THREAD_BYTES:  # a batch of thousands: parse it off the loop, /healthz answers
        normalized = await asyncio.to_thread(_parse, body)
    else:
        normalized = _parse(body)
    items, unrouted = _route(ctx, normalized)
    try:
        result = await ingest(ctx.redis, items, ctx.partitions)
        await _keep_others(ctx, normalized, unrouted)
    except Exception as exc:
        if not is_unavailable(exc):  # down, out of memory, read-only...: 503, and Meta delivers again
            raise
        log.error("webhook_store_unavailable", error=type(exc).__name__)
        raise StoreUnavailable from exc
    for item in items:
        ctx.metrics.items.labels(type=item.type).inc()
    if result.duplicates:
        ctx.metrics.duplicates.inc(result.duplicates)
        log.info("webhook_duplicates_dropped", message_ids=result.duplicate_ids[:20], count=result.duplicates)
    if normalized.rejected:
        log.warning("webhook_items_unreadable", reasons=normalized.rejected[:20])
    return result


def _parse(body: bytes) -> Normalized:
    """The body's items; ValueError (400) for what is not JSON or nests deeper than the parser goes. Half of
    a UTF-16 pair escaped alone (`\\ud83d`) becomes U+FFFD: the text is kept, and its neighbours with it."""
    if _ESCAPED_SURROGATE.search(body):
        body = _LONE_HALF.sub(rb"\\ufffd", body)
    try:
        return normalize(json.loads(body))
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
# a high half not followed by a low one, or a low half not preceded by a high one (as JSON escapes)
_LONE_HALF = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def _route(ctx: WebhookContext, normalized: Normalized) -> tuple[list[InboundItem], list[InboundItem]]:
    items = [InboundItem(type="message", message=m) for m in normalized.messages]
    items += [InboundItem(type="status", status=s) for s in normalized.statuses]
    served: list[InboundItem] = []
    unrouted: list[InboundItem] = []
    for item in items:
        number = item.message.customer.phone_number_id if item.message else item.status.phone_number_id  # type: ignore[union-attr]
        (served if ctx.serves(number) else unrouted).append(item)
    return served, unrouted


async def _keep_others(ctx: WebhookContext, normalized: Normalized, unrouted: list[InboundItem]) -> None:
    """Changes we do not act on, and items for numbers we do not serve, are kept (capped) and logged."""
    if not normalized.others and not unrouted:
        return
    await keep_unhandled(
        ctx.redis,
        [other.model_dump_json() for other in normalized.others],
        [item.model_dump_json(exclude_none=True) for item in unrouted],
    )
    for other in normalized.others:
        log.info("webhook_event_kept", field=other.field, summary=other.summary)
    for item in unrouted:
        log.warning("webhook_number_not_served", message_id=item.item_id)
    ctx.metrics.unrouted.inc(len(unrouted))


def _reject(
    ctx: WebhookContext, status: int, reason: str, message: str, retry_after: int | None = None
) -> web.Response:
    ctx.metrics.rejected.labels(reason=reason).inc()
    log.warning("webhook_rejected", status=status, reason=reason)
    response = _error(status, reason, message)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    if status == 408:  # the rest of a slow body is not waited for: the connection closes
        response.force_close()
    return response


def _overloaded(ctx: WebhookContext) -> web.Response:
    """503 `overloaded` on a kept-alive connection (new ones are refused sooner, in app/shedding.py).
    Counted, not logged one by one: webhooks/pressure.py logs the overloaded stretch. The connection
    closes after the answer (aiohttp reads and drops what is left of the body for at most its lingering
    time, so the client reads the answer rather than a reset), and the client's next POST comes on a new
    connection, which app/shedding.py can refuse without parsing it."""
    ctx.metrics.rejected.labels(reason="overloaded").inc()
    ctx.pressure.refused += 1
    response = web.json_response(OVERLOADED, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    response.force_close()
    return response


def _error(status: int, code: str, message: str) -> web.Response:
    """The desk API's error shape (desk/http.py `error`; the two edges do not import each other)."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def routes() -> list[web.RouteDef]:
    return [web.get("/webhook", verify_subscription), web.post("/webhook", receive)]
