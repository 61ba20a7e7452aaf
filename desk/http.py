"""How the desk API speaks HTTP: the agent's bearer token, JSON bodies in, models and errors out
(`{"error": {"code", "message"}}` with honest statuses), and what every handler can reach."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from desk.guard import GUARD
from desk.live import EventHub
from desk.models import ErrorBody
from handover.agents import Agent, AgentStore
from handover.claims import Assignments
from handover.clock import Clock, system_clock
from handover.errors import Conflict, DomainError, Invalid, NotFound, NotYours
from handover.inbox import Inbox
from handover.media import Media, MediaGone, MediaSource
from handover.queues import Queues
from handover.rules.loader import LoadedRules
from handover.store import Store
from handover.transfers import Transfers
from handover.warm import WarmTransfers

PREFIX = "/api/v1"
_STATUS = {NotFound: 404, NotYours: 403, Conflict: 409, Invalid: 422}


@dataclass
class DeskContext:
    """The services the desk's routes call (desk/service.py); the read-only views are built from the rest."""

    assignments: Assignments
    agents: AgentStore
    store: Store
    rules: Callable[[], LoadedRules]
    transfers: Transfers
    warm: WarmTransfers
    hub: EventHub
    media: MediaSource = field(default_factory=lambda: _NoMedia())
    clock: Clock = system_clock
    queues: Queues = field(init=False)
    inbox: Inbox = field(init=False)

    def __post_init__(self) -> None:
        self.queues = Queues(self.store.client, self.clock)
        self.inbox = Inbox(self.store, self.agents, self.rules)


class _NoMedia:
    """Until the app wires a source: every media is gone."""

    async def fetch(self, media_id: str) -> Media:
        raise MediaGone(media_id)


DESK = web.AppKey("desk", DeskContext)
AGENT = web.RequestKey("agent", Agent)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(ErrorBody.of(code, message).model_dump(), status=status)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Domain errors become 403/404/409, bad bodies 422, anything else under /api/v1 a JSON error too."""
    if not request.path.startswith(PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except DomainError as exc:
        status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
        return error(status, exc.code, str(exc))
    except ValidationError as exc:
        return error(
            422,
            "invalid_body",
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())[:1000],
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error(exc.status, exc.reason.lower().replace(" ", "_"), exc.text or exc.reason)


@web.middleware
async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every desk route but the OpenAPI document needs `Authorization: Bearer <agent token>`. An address
    that sent too many unknown tokens lately gets 429 with Retry-After, its token not even looked at."""
    if not request.path.startswith(PREFIX) or request.path == f"{PREFIX}/openapi.json":
        return await handler(request)
    guard = request.app[GUARD]
    client = guard.client_of(request)
    if guard.failures.wait(client):
        refused = error(429, "too_many_failures", "too many unknown tokens from this address; retry later")
        refused.headers["Retry-After"] = str(guard.failures.retry_after(client))
        return refused
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        return error(401, "unauthorized", "missing bearer token")
    agent = await asyncio.to_thread(request.app[DESK].agents.by_token, header[7:].strip())
    if agent is None:
        guard.failures.failed(client)
        return error(401, "unauthorized", "unknown token")
    request[AGENT] = agent
    return await handler(request)


async def body_of(request: web.Request, model: type[BaseModel]) -> Any:
    try:
        data = await request.json()
    except ValueError as exc:
        raise web.HTTPUnprocessableEntity(text="body is not JSON") from exc
    return model.model_validate(data)


def ok(model: BaseModel | list[Any], status: int = 200) -> web.Response:
    if isinstance(model, list):
        return web.json_response([m.model_dump(mode="json", by_alias=True) for m in model], status=status)
    return web.json_response(model.model_dump(mode="json", by_alias=True), status=status)


MIDDLEWARES = [json_errors, bearer_auth]


def supervisor(request: web.Request, what: str) -> Agent:
    """The signed-in agent, who must be a supervisor (403 otherwise): `what` says what is theirs only."""
    agent = request[AGENT]
    if not agent.is_supervisor:
        raise NotYours(f"{what} are for supervisors")
    return agent


def hours_asked(request: web.Request, most: int) -> int:
    """`?hours=` from 1 to `most` (default 24); 422 otherwise."""
    try:
        hours = int(request.query.get("hours", "24"))
    except ValueError:
        hours = 0
    if not 1 <= hours <= most:
        raise Invalid(f"hours must be a whole number from 1 to {most}")
    return hours
