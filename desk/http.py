"""How the desk API speaks HTTP: the agent's bearer token, JSON bodies in, models and errors out
(`{"error": {"code", "message"}}` with honest statuses), and what every handler can reach."""

from __future__ import annotations

import asyncio
import math
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from desk import scope
from desk.budgets import MediaLimits
from desk.guard import GUARD
from desk.live import EventHub
from desk.models import ErrorBody
from desk.share import AgentShare
from desk.spool import MediaSpool
from desk.threads import in_thread
from handover.agents import Agent, AgentStore, UnknownAgent
from handover.assignment.claims import Assignments
from handover.assignment.queues import Queues
from handover.availability import is_unavailable
from handover.clock import Clock, system_clock
from handover.errors import Conflict, DomainError, Invalid, NotFound, NotYours, RateLimited
from handover.hooks.store import HookStore
from handover.inbox import Inbox
from handover.numbers import NUMBER_ID, Numbers, knowing
from handover.readers import Readers
from handover.rules.loader import LoadedRules
from handover.store import Store
from handover.transfers import Transfers
from handover.warm import WarmTransfers

log = structlog.get_logger(__name__)

PREFIX = "/api/v1"
_STATUS = {NotFound: 404, NotYours: 403, Conflict: 409, Invalid: 422, RateLimited: 429}
RETRY_AFTER_SECONDS = 5  # Redis away: about a restart's time (the console retries on its own anyway)
JSON_MOST_BYTES = 64 * 1024  # a desk JSON body: the longest text (4,096 characters) escaped, with room


@dataclass
class DeskContext:
    """The services the desk's routes call (desk/service.py); the read-only views are built from the rest."""

    assignments: Assignments
    agents: AgentStore
    store: Store
    rules: Callable[..., LoadedRules]  # by number: a Rulebook (default rules with no number)
    transfers: Transfers
    warm: WarmTransfers
    hub: EventHub
    media: MediaSpool  # customers' media on disk, and the source agents' uploads go to
    media_limits: MediaLimits = field(default_factory=MediaLimits)
    clock: Clock = system_clock
    body_timeout: float = 10.0  # HANDOVER_BODY_TIMEOUT_SECONDS: a whole body within it, else 408 and closed
    share: AgentShare = field(default_factory=AgentShare)  # HANDOVER_REQUESTS_PER_AGENT
    notes_max: int = 200  # HANDOVER_NOTES_MAX: notes on one conversation (handover/notes.py)
    notes_per_minute: int = 30  # HANDOVER_NOTES_PER_MINUTE: notes one agent may write in a minute
    hooks_allow: list[str] = field(default_factory=list)  # HANDOVER_HOOKS_ALLOW (desk/hooks.py)
    # the business numbers' names and colours (numbers.yaml), and WHATSAPP_PHONE_NUMBER_IDS
    numbers: Numbers = field(default_factory=lambda: Numbers(Path("rules.yaml")))
    phone_number_ids: list[str] = field(default_factory=list)
    queues: Queues = field(init=False)
    reads: Readers = field(init=False)  # what the desk reads besides the services (handover/readers.py)
    hooks: HookStore = field(init=False)  # events out (desk/hooks.py)
    inbox: Inbox = field(init=False)
    known: Callable[[], list[str]] = field(init=False)  # every number served: the queues are each one's

    def __post_init__(self) -> None:
        self.queues = Queues(self.store.client, self.clock)
        self.reads = Readers(self.store.client, self.clock)
        self.hooks = HookStore(self.store.client, self.clock)
        self.known = knowing(self.store.client, self.numbers, self.phone_number_ids)
        self.inbox = Inbox(self.store, self.agents, self.rules, self.known)


DESK = web.AppKey("desk", DeskContext)
AGENT = web.RequestKey("agent", Agent)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(ErrorBody.of(code, message).model_dump(), status=status)


class BodyRefused(Exception):
    """A body too slow (408), too large (413), cut short (400) or not taken now (429, 503 with
    `retry_after`): answered, and the connection closes, as the rest of the body is not waited for."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.retry_after = status, code, retry_after


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer under /api/v1 that is not a success is `{"error": {"code", "message"}}`: domain errors
    403/404/409/422, bad bodies 422, unknown paths and methods 404/405, Redis away 503 `store_unavailable`
    (with Retry-After), and a bug of ours 500 `internal`, logged with where it was, never what it held."""
    if not request.path.startswith(PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except BodyRefused as exc:
        refused = error(exc.status, exc.code, str(exc))
        if exc.retry_after is not None:
            refused.headers["Retry-After"] = str(exc.retry_after)
        refused.force_close()
        return refused
    except DomainError as exc:
        status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
        answer = error(status, exc.code, str(exc))
        if isinstance(exc, RateLimited):
            answer.headers["Retry-After"] = str(exc.retry_after)
        return answer
    except ValidationError as exc:
        return error(422, "invalid_body", _described(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        answer = error(exc.status, exc.reason.lower().replace(" ", "_"), exc.text or exc.reason)
        if "Allow" in exc.headers:  # a 405 says which methods the path takes
            answer.headers["Allow"] = exc.headers["Allow"]
        return answer
    except Exception as exc:
        if is_unavailable(exc):
            log.warning("desk_store_unavailable", route=_route(request), error=type(exc).__name__)
            answer = error(503, "store_unavailable", "storage unavailable, retry later")
            answer.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return answer
        # the frames say where; the exception's message is left out, as it may quote what a customer wrote
        log.error(
            "desk_request_failed",
            route=_route(request),
            error=type(exc).__name__,
            traceback="".join(traceback.format_tb(exc.__traceback__)),
        )
        return error(500, "internal", "internal error")


def _route(request: web.Request) -> str:
    """The route's template (`/api/v1/conversations/{id}`), not the path asked for."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def _described(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())[:1000]


@web.middleware
async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every desk route but the OpenAPI document needs `Authorization: Bearer <agent token>`, checked before
    a byte of the body is read; a media's GET may instead carry a link's `?ticket=` (for that media only).
    A known token is always served; an address that sent too many unknown tokens or tickets lately gets 429
    with Retry-After for its next unknown ones (desk/guard.py)."""
    if not request.path.startswith(PREFIX) or request.path == f"{PREFIX}/openapi.json":
        return await handler(request)
    header = request.headers.get("Authorization", "")
    ctx = request.app[DESK]
    if header.startswith("Bearer ") and header[7:].strip():
        agent = await in_thread(ctx.agents.by_token, header[7:].strip())
    elif _is_media_get(request) and "ticket" in request.query:
        agent = await in_thread(_ticket_agent, ctx, request.query["ticket"], request.match_info["media_id"])
    else:
        return error(401, "unauthorized", "missing bearer token")
    if agent is None:
        guard = request.app[GUARD]
        wait = await in_thread(guard.failed, ctx.reads, guard.client_of(request), ctx.clock())
        if wait:
            refused = error(429, "too_many_failures", "too many unknown tokens from here; retry later")
            refused.headers["Retry-After"] = str(math.ceil(wait))
            return refused
        return error(401, "unauthorized", "unknown token" if header else "unknown or expired media link")
    request[AGENT] = agent
    share = ctx.share
    if not share.take(agent.id):  # the agent's share of the process is full: this one is not held
        refused = error(429, "too_many_requests", f"at most {share.most} requests at once per agent")
        refused.headers["Retry-After"] = str(share.retry_after)
        refused.force_close()
        return refused
    try:
        response = await handler(request)
    finally:
        share.give_back(agent.id)
    if not response.prepared and not share.keep(agent.id, request.transport):
        response.force_close()  # served, but not kept open: the agent has its share of connections
    return response


@web.middleware
async def scoped(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A signed-in person of some numbers only: what the route names is checked to be of their numbers
    before it runs (desk/scope.py; 404 as for something unknown). Nothing to check for everyone else."""
    agent = request.get(AGENT)
    if agent is not None and scope.is_scoped(agent):
        ctx, path, query = request.app[DESK], dict(request.match_info), dict(request.query)
        await in_thread(scope.check, ctx, agent, _route(request), path, query)
    return await handler(request)


def _is_media_get(request: web.Request) -> bool:
    """GET or HEAD of /api/v1/media/{media_id}: the one route a link's ticket opens."""
    resource = request.match_info.route.resource
    return (
        request.method in ("GET", "HEAD")
        and resource is not None
        and resource.canonical == f"{PREFIX}/media/{{media_id}}"
    )


def _ticket_agent(ctx: DeskContext, ticket: str, media_id: str) -> Agent | None:
    """The agent a ticket was given to, if it is for this media and they still exist (whether they may still
    see the conversation is the route's own check)."""
    found = ctx.reads.ticket(ticket)
    if found is None or found.media_id != media_id:
        return None
    try:
        return ctx.agents.get(found.agent_id)
    except UnknownAgent:
        return None


async def body_of(request: web.Request, model: type[BaseModel], most: int = JSON_MOST_BYTES) -> Any:
    """The body read as `model` straight from its bytes: what is not JSON, not UTF-8, holds half of a UTF-16
    pair, or nests past the parser's limit is a ValidationError (422 `invalid_body`) like a wrong field."""
    return model.model_validate_json(await read_body(request, most))


async def read_body(request: web.Request, most: int) -> bytes:
    """At most `most` bytes, whole within the desk's body deadline (for all of it, not per chunk: a client
    sending a byte every few seconds is cut off too); BodyRefused otherwise. Only a signed-in agent's body
    is read (bearer_auth runs first), and only within its share."""
    if request.content_length is not None and request.content_length > most:
        raise BodyRefused(413, "too_large", f"a body here is at most {most} bytes")
    body = bytearray()
    try:
        async with asyncio.timeout(request.app[DESK].body_timeout):
            while chunk := await request.content.read(64 * 1024):
                body += chunk
                if len(body) > most:
                    raise BodyRefused(413, "too_large", f"a body here is at most {most} bytes")
    except TimeoutError:
        timeout = request.app[DESK].body_timeout
        raise BodyRefused(408, "body_timeout", f"body not received within {timeout:g} s") from None
    except (ConnectionError, web.RequestPayloadError):
        raise BodyRefused(400, "body_incomplete", "the body ended before its declared length") from None
    return bytes(body)


def ok(model: BaseModel | list[Any], status: int = 200) -> web.Response:
    if isinstance(model, list):
        return web.json_response([m.model_dump(mode="json", by_alias=True) for m in model], status=status)
    return web.json_response(model.model_dump(mode="json", by_alias=True), status=status)


MIDDLEWARES = [json_errors, bearer_auth, scoped]


def supervisor(request: web.Request, what: str) -> Agent:
    """The signed-in agent, who must be a supervisor (403 otherwise): `what` says what is theirs only."""
    agent = request[AGENT]
    if not agent.is_supervisor:
        raise NotYours(f"{what} are for supervisors")
    return agent


def figures(request: web.Request, what: str) -> Agent:
    """A supervisor who sees every number (403 otherwise): for figures not yet split by number, which would
    show a supervisor of some numbers the others' (desk/scope.py)."""
    agent = supervisor(request, what)
    if scope.is_scoped(agent):
        raise NotYours(scope.FIGURES_NOT_SPLIT)
    return agent


def number_asked(request: web.Request, given: str | None = None) -> str | None:
    """`?number=` (or `given`, from a body): a business number, whose rules answer; None: the default
    rules. 422 when it is not a phone_number_id."""
    number = given or request.query.get("number") or None
    if number is not None and not NUMBER_ID.match(number):
        raise Invalid("number must be a phone_number_id (digits, as Meta sends it)")
    return number


def hours_asked(request: web.Request, most: int) -> int:
    """`?hours=` from 1 to `most` (default 24); 422 otherwise."""
    try:
        hours = int(request.query.get("hours", "24"))
    except ValueError:
        hours = 0
    if not 1 <= hours <= most:
        raise Invalid(f"hours must be a whole number from 1 to {most}")
    return hours
