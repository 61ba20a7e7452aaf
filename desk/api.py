"""The desk API under /api/v1: its handlers and the route table (also the OpenAPI document). How it
speaks HTTP (bearer tokens, JSON bodies and errors) is desk/http.py."""

from __future__ import annotations

import asyncio
import time
from typing import Any, get_args

from aiohttp import web

from desk.bot import BOT_ROUTES
from desk.http import AGENT, DESK, PREFIX, DeskContext, body_of, hours_asked, ok, supervisor
from desk.live import stream
from desk.models import (
    AgentView,
    ConversationDetail,
    ConversationSummary,
    QueueStats,
    SendBody,
    SentView,
    StatusBody,
    TemplateBody,
    TemplateView,
    TransferBody,
)
from desk.openapi import Route, openapi_document
from desk.ops import OPS_ROUTES
from handover import keys, kpis
from handover.agents import Agent, Presence
from handover.conversation import ConversationState
from handover.events import EventType
from handover.queues import enqueued_at
from handover.transfers import TransferRequest


async def me(request: web.Request) -> web.Response:
    agent: Agent = request[AGENT]
    load = await asyncio.to_thread(request.app[DESK].store.client.scard, keys.agent_load_key(agent.id))
    return ok(AgentView.of(agent, int(load)))


async def set_status(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    body: StatusBody = await body_of(request, StatusBody)
    await asyncio.to_thread(ctx.agents.set_status, agent.id, body.status)
    if (
        body.status is Presence.OFFLINE
    ):  # nobody left to answer them: back to their queues, ahead of newer ones
        await asyncio.to_thread(ctx.transfers.requeue_held, agent)
    fresh = await asyncio.to_thread(ctx.agents.get, agent.id)
    load = await asyncio.to_thread(ctx.store.client.scard, keys.agent_load_key(agent.id))
    return ok(AgentView.of(fresh, int(load)))


async def list_agents(request: web.Request) -> web.Response:
    """Colleagues, for transfers and the supervisor's view: presence and load, never tokens."""
    ctx = request.app[DESK]
    return ok(await asyncio.to_thread(_agent_views, ctx))


def _agent_views(ctx: DeskContext) -> list[AgentView]:
    everyone = sorted(ctx.agents.all(), key=lambda a: a.name.lower())
    with ctx.store.client.pipeline(transaction=False) as pipe:
        for agent in everyone:
            pipe.scard(keys.agent_load_key(agent.id))
        loads = pipe.execute()
    return [AgentView.of(agent, int(load)) for agent, load in zip(everyone, loads, strict=True)]


async def stats(request: web.Request) -> web.Response:
    """Supervisors: the support KPIs of the last `hours` (1 to 168, default 24)."""
    ctx = request.app[DESK]
    supervisor(request, "the numbers")
    hours = hours_asked(request, kpis.HOURS_KEPT)
    return ok(await asyncio.to_thread(kpis.last_hours, ctx.store.client, hours, time.time()))


async def list_templates(request: web.Request) -> web.Response:
    return ok(TemplateView.all_of(request.app[DESK].rules().rules))


async def queues(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    rules = ctx.rules().rules
    everything = agent.is_supervisor or request.query.get("all") in ("1", "true")
    names = list(rules.queues) if everything else [q for q in agent.queues if q in rules.queues]
    stats = await asyncio.to_thread(_queue_stats, ctx, names, set(agent.queues), time.time())
    return ok(stats)


def _queue_stats(ctx: DeskContext, names: list[str], mine: set[str], now: float) -> list[QueueStats]:
    rules = ctx.rules().rules
    result = []
    for name in names:
        waiting = ctx.store.client.zrange(keys.queue_key(name), 0, -1, withscores=True)
        since = [enqueued_at(score) for _, score in waiting]
        sla = rules.queues[name].sla_seconds
        result.append(
            QueueStats(
                name=name,
                label=rules.queues[name].label,
                mine=name in mine,
                waiting=len(waiting),
                sla_seconds=sla,
                oldest_wait_seconds=round(now - min(since), 1) if since else None,
                sla_breaches=sum(1 for s in since if sla is not None and now - s > sla),
            )
        )
    return result


async def take_next(request: web.Request) -> web.StreamResponse:
    ctx, agent = request.app[DESK], request[AGENT]
    fresh = await asyncio.to_thread(ctx.agents.get, agent.id)
    conversation = await asyncio.to_thread(ctx.assignments.claim_next, fresh)
    if conversation is None:
        return web.Response(status=204)
    return ok(await asyncio.to_thread(ConversationDetail.load, ctx.store, conversation))


async def list_conversations(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    state = request.query.get("state")
    if state is not None and state not in ConversationState.__members__.values():
        raise web.HTTPUnprocessableEntity(text=f"unknown state {state!r}")
    found = await asyncio.to_thread(_visible, ctx, agent)
    return ok([ConversationSummary.of(c) for c in found if state is None or c.state == state])


def _visible(ctx: DeskContext, agent: Agent) -> list[Any]:
    client = ctx.store.client
    ids: list[str] = []
    holders = [a.id for a in ctx.agents.all()] if agent.is_supervisor else [agent.id]
    for holder in holders:
        ids += [keys.as_text(i) for i in client.smembers(keys.agent_load_key(holder))]
    queue_names = list(ctx.rules().rules.queues) if agent.is_supervisor else agent.queues
    for name in queue_names:
        ids += [keys.as_text(i) for i in client.zrange(keys.queue_key(name), 0, -1)]
    offered = [keys.as_text(i) for i in client.zrange(keys.OFFERS, 0, -1)]  # few: they last minutes
    listed = set(ids)
    conversations = [ctx.store.conversation(i) for i in dict.fromkeys(ids + offered)]
    return sorted(
        (c for c in conversations if c is not None and (c.id in listed or c.offer_to == agent.id)),
        key=lambda c: c.updated_at,
    )


async def get_conversation(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    conversation = await asyncio.to_thread(ctx.assignments.conversation_for, agent, request.match_info["id"])
    return ok(await asyncio.to_thread(ConversationDetail.load, ctx.store, conversation))


async def send_message(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    body: SendBody = await body_of(request, SendBody)
    entry_id = await asyncio.to_thread(ctx.assignments.send, agent, request.match_info["id"], body.text)
    return ok(SentView(id=entry_id, status="pending"), status=202)


async def send_template(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    body: TemplateBody = await body_of(request, TemplateBody)
    entry_id = await asyncio.to_thread(
        ctx.assignments.send_template, agent, request.match_info["id"], body.name, body.language, body.params
    )
    return ok(SentView(id=entry_id, status="pending"), status=202)


async def transfer(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    body: TransferBody = await body_of(request, TransferBody)
    move = TransferRequest(
        reason=body.reason, to_queue=body.to_queue, to_agent=body.to_agent, note=body.note, mode=body.mode
    )
    act = ctx.warm.offer if body.mode == "warm" else ctx.transfers.transfer
    moved = await asyncio.to_thread(act, agent, request.match_info["id"], move)
    return ok(await asyncio.to_thread(ConversationDetail.load, ctx.store, moved))


async def accept(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    fresh = await asyncio.to_thread(ctx.agents.get, agent.id)
    taken = await asyncio.to_thread(ctx.warm.accept, fresh, request.match_info["id"])
    return ok(await asyncio.to_thread(ConversationDetail.load, ctx.store, taken))


async def decline(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    back = await asyncio.to_thread(ctx.warm.decline, agent, request.match_info["id"])
    return ok(await asyncio.to_thread(ConversationDetail.load, ctx.store, back))


async def resolve(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    await asyncio.to_thread(ctx.assignments.resolve, agent, request.match_info["id"])
    return await get_conversation(request)


async def release(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    await asyncio.to_thread(ctx.assignments.release_to_bot, agent, request.match_info["id"])
    conversation = await asyncio.to_thread(ctx.store.conversation, request.match_info["id"])
    assert conversation is not None
    return ok(await asyncio.to_thread(ConversationDetail.load, ctx.store, conversation))


async def events(request: web.Request) -> web.StreamResponse:
    ctx, agent = request.app[DESK], request[AGENT]
    return await stream(request, ctx.hub, agent.id, agent.queues, agent.is_supervisor)


EVENTS = (
    "Server-sent events until the client disconnects: `event:` is one of "
    + ", ".join(get_args(EventType))
    + "; `data:` is JSON with conversation_id, agent_id, queue and the event's own fields; `id:` is the "
    "stream position. Comment lines (`:`) are heartbeats. An agent hears of their own conversations and "
    "their queues; supervisors of everything. Keeping it open marks the agent as connected: when every "
    "stream of theirs has been gone past HANDOVER_PRESENCE_GRACE_SECONDS they go offline and their "
    "conversations go back to the queue."
)

ROUTES = [
    Route("GET", "/me", me, "The signed-in agent", response=AgentView),
    Route("PUT", "/me/status", set_status, "Set presence", body=StatusBody, response=AgentView),
    Route(
        "GET",
        "/agents",
        list_agents,
        "Every agent: presence, queues, load and capacity",
        response=AgentView,
        many=True,
    ),
    Route(
        "GET",
        "/stats",
        stats,
        "Supervisors: claims, resolves, transfers, CSAT, average wait, first reply and handle time over "
        "the last hours (?hours=24, up to 168)",
        response=kpis.Kpis,
    ),
    Route(
        "GET",
        "/templates",
        list_templates,
        "Approved message templates (from the rules file), one per name and language",
        response=TemplateView,
        many=True,
    ),
    Route(
        "GET",
        "/queues",
        queues,
        "Waiting counts, oldest wait and SLA breaches in my queues (?all=true: every queue, e.g. to "
        "transfer to)",
        response=QueueStats,
        many=True,
    ),
    Route(
        "POST",
        "/queues/next",
        take_next,
        "Claim the best waiting conversation (204: none)",
        response=ConversationDetail,
        extra={204: "nothing waits", 409: "at capacity or not available"},
    ),
    Route(
        "GET",
        "/conversations",
        list_conversations,
        "Mine, those waiting in my queues and those offered to me (?state=)",
        response=ConversationSummary,
        many=True,
    ),
    Route(
        "GET",
        "/conversations/{id}",
        get_conversation,
        "State, context packet and transcript",
        response=ConversationDetail,
    ),
    Route(
        "POST",
        "/conversations/{id}/messages",
        send_message,
        "Reply (409 window_closed outside the 24-hour window: send a template)",
        body=SendBody,
        response=SentView,
        status=202,
    ),
    Route(
        "POST",
        "/conversations/{id}/template",
        send_template,
        "Send an approved template, in or out of the 24-hour window (422: unknown name, language or "
        "parameter count)",
        body=TemplateBody,
        response=SentView,
        status=202,
    ),
    Route(
        "POST",
        "/conversations/{id}/transfer",
        transfer,
        "Move it: cold (now, to a queue or an agent) or warm (offered to an agent, who accepts or declines)",
        body=TransferBody,
        response=ConversationDetail,
    ),
    Route(
        "POST",
        "/conversations/{id}/accept",
        accept,
        "Accept a warm transfer offered to me",
        response=ConversationDetail,
    ),
    Route(
        "POST",
        "/conversations/{id}/decline",
        decline,
        "Decline a warm transfer offered to me",
        response=ConversationDetail,
    ),
    Route("POST", "/conversations/{id}/resolve", resolve, "Close it", response=ConversationDetail),
    Route("GET", "/events", events, "Live events for the signed-in agent", events=EVENTS),
    Route(
        "POST", "/conversations/{id}/release", release, "Hand it back to the bot", response=ConversationDetail
    ),
    *BOT_ROUTES,
    *OPS_ROUTES,
]


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(ROUTES, PREFIX))


def routes() -> list[web.RouteDef]:
    table = [web.route(r.method, PREFIX + r.path, r.handler) for r in ROUTES]
    return [*table, web.get(f"{PREFIX}/openapi.json", openapi)]
