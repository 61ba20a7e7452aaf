"""Events out from the desk API: admins add and remove hooks (as `handover hooks` does), supervisors see
them and their last failures (the console's ops view). A hook's URL can be a secret in itself (a Slack
incoming webhook's is), so only admins see it whole; the signing secret is shown once, to the admin who
adds the hook."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from desk.http import AGENT, DESK, body_of, figures, ok
from desk.openapi import EVERY_NUMBER_ONLY, Route
from desk.threads import in_thread
from handover.agents import Agent
from handover.errors import NotYours
from handover.hooks import outbox
from handover.hooks.model import DESCRIBED, EVENTS, Hook, HookEvent, HookFormat, shown_url
from handover.hooks.store import HookStore

ADMINS_ONLY = {403: "not an admin"}
FAILURES_SHOWN = 20


class HookBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
    events: list[Literal[EVENTS]] = Field(min_length=1)  # type: ignore[valid-type]
    format: HookFormat = HookFormat.JSON
    secret_env: str | None = Field(
        default=None, description="sign with this environment variable of the workers (none is made)"
    )
    numbers: list[Annotated[str, StringConstraints(pattern=r"^[0-9]{1,32}$")]] = Field(default_factory=list)


class HookView(BaseModel):
    id: str
    url: str  # whole for admins; scheme and host only for supervisors
    events: list[str]
    format: str
    numbers: list[str]
    secret_env: str | None
    created_at: float
    created_by: str
    breaker_open_until: float | None  # set while its breaker is open
    sent: int
    failed: int


class AddedHook(BaseModel):
    hook: HookView
    secret: str | None = Field(description="shown this once; null when the workers' environment holds it")


class FailureView(BaseModel):
    id: str  # the delivery (webhook-id)
    hook: str
    type: str
    attempt: int
    at: float
    status: int | None
    error: str | None
    next_at: float | None
    gave_up: bool


class HooksView(BaseModel):
    hooks: list[HookView]
    failures: list[FailureView]  # the last failed attempts, newest first
    given_up: int  # deliveries set aside (handover hooks replay)


def admin(request: web.Request) -> Agent:
    agent = request[AGENT]
    if not agent.is_admin:
        raise NotYours("hooks are added and removed by admins (handover agents add … --role admin)")
    return agent


def hooks_view(hooks: HookStore, whole_urls: bool, now: float) -> HooksView:
    seen = hooks.overview(FAILURES_SHOWN)
    return HooksView(
        hooks=[_view(h, whole_urls, seen.counters, seen.breakers, now) for h in seen.hooks],
        failures=[FailureView(**a) for a in seen.failures],
        given_up=seen.given_up,
    )


def _view(
    hook: Hook, whole: bool, counters: dict[str, float], breakers: dict[str, outbox.Breaker], now: float
) -> HookView:
    breaker = breakers.get(hook.id)
    return HookView(
        id=hook.id,
        url=hook.url if whole else shown_url(hook.url),
        events=hook.events,
        format=str(hook.format),
        numbers=hook.numbers,
        secret_env=hook.secret_env,
        created_at=hook.created_at,
        created_by=hook.created_by,
        breaker_open_until=breaker.open_until if breaker is not None and breaker.is_open(now) else None,
        sent=int(counters.get(f"sent:{hook.id}", 0)),
        failed=int(counters.get(f"failed:{hook.id}", 0)),
    )


async def list_hooks(request: web.Request) -> web.Response:
    agent = figures(request, "hooks")  # what each hook sent mixes its numbers
    ctx = request.app[DESK]
    return ok(await in_thread(hooks_view, ctx.hooks, agent.is_admin, ctx.clock()))


async def add_hook(request: web.Request) -> web.Response:
    agent = admin(request)
    body: HookBody = await body_of(request, HookBody)
    ctx = request.app[DESK]

    def add() -> AddedHook:
        hook, secret = ctx.hooks.add(
            body.url,
            [str(e) for e in body.events],
            format=body.format,
            secret_env=body.secret_env,
            numbers=body.numbers,
            allow=ctx.hooks_allow,
            by=agent.id,
        )
        return AddedHook(hook=_view(hook, True, {}, {}, ctx.clock()), secret=secret)

    return ok(await in_thread(add), status=201)


async def remove_hook(request: web.Request) -> web.Response:
    agent = admin(request)
    ctx = request.app[DESK]
    hook = await in_thread(ctx.hooks.remove, request.match_info["id"], agent.id)
    return ok(_view(hook, True, {}, {}, ctx.clock()))


# what the hooks receive, one entry per event, for the OpenAPI document's `webhooks`
WEBHOOKS = {name: (HookEvent, when) for name, when in DESCRIBED.items()}

HOOK_ROUTES = [
    Route(
        "GET",
        "/hooks",
        list_hooks,
        "Supervisors: the hooks (events out, docs/hooks.md) with what each sent and failed and whether its "
        "breaker is open, the last failed attempts, and how many deliveries were given up on. Only admins "
        "see a hook's whole URL",
        response=HooksView,
        extra=EVERY_NUMBER_ONLY,
    ),
    Route(
        "POST",
        "/hooks",
        add_hook,
        "Admins: subscribe a URL to events, as `handover hooks add` does (https to a public address unless "
        "HANDOVER_HOOKS_ALLOW lists the host: 422 otherwise). The signing secret is in the answer, once",
        body=HookBody,
        response=AddedHook,
        status=201,
        extra={**ADMINS_ONLY, 422: "an unsafe URL, an unknown event, a bad variable name"},
    ),
    Route(
        "DELETE",
        "/hooks/{id}",
        remove_hook,
        "Admins: stop posting to a hook (what was queued for it is dropped)",
        response=HookView,
        extra={**ADMINS_ONLY, 404: "no such hook"},
    ),
]
