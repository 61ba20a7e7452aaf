"""The desk API under /api/v1: its handlers and the route table (also the OpenAPI document). How it
speaks HTTP (bearer tokens, JSON bodies and errors) is desk/http.py."""

from __future__ import annotations

from aiohttp import web

from desk import scope, service
from desk.bot import BOT_ROUTES
from desk.canned import CANNED_ROUTES
from desk.events import EVENT_ROUTES
from desk.gestures import GESTURE_ROUTES
from desk.history import HISTORY_ROUTES
from desk.hooks import HOOK_ROUTES, WEBHOOKS
from desk.http import AGENT, DESK, PREFIX, body_of, figures, hours_asked, number_asked, ok
from desk.media import MEDIA_ROUTES
from desk.models import (
    AgentView,
    ConversationDetail,
    ConversationSummary,
    CustomerReasonView,
    QueueStats,
    SendBody,
    SentView,
    StatusBody,
    TemplateBody,
    TemplateView,
    TransferBody,
)
from desk.notes import NOTE_ROUTES
from desk.numbers import NUMBER_ROUTES
from desk.openapi import (
    EVERY_NUMBER_ONLY,
    NUMBER_PARAM,
    Param,
    Route,
    hours_param,
    openapi_document,
)
from desk.ops import OPS_ROUTES
from desk.reader import LANG_PARAM, for_reader, reader_language
from desk.threads import in_thread
from handover import kpis
from handover.conversation import ConversationState
from handover.errors import Invalid
from handover.inbox import DEFAULT_LIMIT, MAX_LIMIT, Filters
from handover.kpireport import Stats
from handover.transfers import TransferRequest


async def me(request: web.Request) -> web.Response:
    return ok(await in_thread(service.me, request.app[DESK], request[AGENT]))


async def set_status(request: web.Request) -> web.Response:
    body: StatusBody = await body_of(request, StatusBody)
    return ok(await in_thread(service.set_status, request.app[DESK], request[AGENT], body.status))


async def my_offers(request: web.Request) -> web.Response:
    return ok(await in_thread(service.offers, request.app[DESK], request[AGENT]))


async def list_agents(request: web.Request) -> web.Response:
    return ok(await in_thread(service.agents, request.app[DESK], request[AGENT]))


async def stats(request: web.Request) -> web.Response:
    """Supervisors: the support KPIs of the last `hours` (1 to 192, default 24), of one `queue` if asked."""
    figures(request, "the numbers")
    hours = hours_asked(request, kpis.HOURS_KEPT)
    queue = request.query.get("queue") or None
    return ok(await in_thread(service.stats, request.app[DESK], hours, queue))


async def list_templates(request: web.Request) -> web.Response:
    return ok(TemplateView.all_of(request.app[DESK].rules(number_asked(request)).rules))


async def customer_reasons(request: web.Request) -> web.Response:
    return ok(CustomerReasonView.all_of(request.app[DESK].rules(number_asked(request)).rules))


async def queues(request: web.Request) -> web.Response:
    agent = request[AGENT]
    everything = agent.is_supervisor or request.query.get("all") in ("1", "true")
    listed = await in_thread(service.queues, request.app[DESK], agent, everything)
    return ok(scope.of_numbers(agent, listed))  # each queue is a number's (its `number`, once it has one)


async def take_next(request: web.Request) -> web.StreamResponse:
    language = reader_language(request)
    number = number_asked(request)
    taken = await in_thread(service.take_next, request.app[DESK], request[AGENT], number)
    return web.Response(status=204) if taken is None else ok(for_reader(language, taken))


async def list_conversations(request: web.Request) -> web.Response:
    """A page of the list; the next page's address in `Link: <...>; rel="next"` and its cursor in
    `X-Next-Cursor`, both absent on the last page (the body stays a plain array for existing clients)."""
    query = request.query
    try:
        limit = int(query.get("limit", str(DEFAULT_LIMIT)))
    except ValueError:
        limit = 0
    state = query.get("state")  # checked whether or not the search ignores it: a wrong filter is a 422
    if state is not None and state not in ConversationState.__members__.values():
        raise Invalid(f"unknown state {state[:100]!r}")
    number = number_asked(request)
    if "q" in query:  # supervisors' search: one answer, newest first, no paging
        if not 1 <= limit <= MAX_LIMIT:
            raise Invalid(f"limit must be a whole number from 1 to {MAX_LIMIT}")
        agent, ctx = request[AGENT], request.app[DESK]
        return ok(await in_thread(service.search_conversations, ctx, agent, query["q"], limit))
    filters = Filters(
        state=ConversationState(state) if state else None,
        queue=query.get("queue") or None,
        agent_id=query.get("agent_id") or None,
        number=number,
    )
    listed, cursor = await in_thread(
        service.conversations, request.app[DESK], request[AGENT], filters, limit, query.get("cursor")
    )
    response = ok(listed)
    if cursor is not None:
        response.headers["X-Next-Cursor"] = cursor
        response.headers["Link"] = f'<{request.rel_url.update_query(cursor=cursor)}>; rel="next"'
    return response


async def get_conversation(request: web.Request) -> web.Response:
    ctx, agent, conversation_id = request.app[DESK], request[AGENT], request.match_info["id"]
    language = reader_language(request)
    return ok(for_reader(language, await in_thread(service.conversation, ctx, agent, conversation_id)))


async def send_message(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    body: SendBody = await body_of(request, SendBody)
    entry_id = await in_thread(
        ctx.assignments.send, agent, request.match_info["id"], body.text, reply_to=body.reply_to
    )
    return ok(SentView(id=entry_id, status="pending"), status=202)


async def send_template(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    body: TemplateBody = await body_of(request, TemplateBody)
    entry_id = await in_thread(
        ctx.assignments.send_template, agent, request.match_info["id"], body.name, body.language, body.params
    )
    return ok(SentView(id=entry_id, status="pending"), status=202)


async def transfer(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    body: TransferBody = await body_of(request, TransferBody)
    move = TransferRequest(
        reason=body.reason,
        to_queue=body.to_queue,
        to_agent=body.to_agent,
        note=body.note,
        mode=body.mode,
        customer_reason=body.customer_reason,
    )
    return ok(await in_thread(service.transfer, ctx, agent, request.match_info["id"], move))


async def accept(request: web.Request) -> web.Response:
    ctx, agent, conversation_id = request.app[DESK], request[AGENT], request.match_info["id"]
    language = reader_language(request)
    return ok(for_reader(language, await in_thread(service.accept, ctx, agent, conversation_id)))


async def decline(request: web.Request) -> web.Response:
    ctx, agent, conversation_id = request.app[DESK], request[AGENT], request.match_info["id"]
    return ok(await in_thread(service.decline, ctx, agent, conversation_id))


async def resolve(request: web.Request) -> web.Response:
    ctx, agent, conversation_id = request.app[DESK], request[AGENT], request.match_info["id"]
    return ok(await in_thread(service.resolve, ctx, agent, conversation_id))


async def release(request: web.Request) -> web.Response:
    ctx, agent, conversation_id = request.app[DESK], request[AGENT], request.match_info["id"]
    return ok(await in_thread(service.release, ctx, agent, conversation_id))


ROUTES = [
    Route("GET", "/me", me, "The signed-in agent", response=AgentView),
    Route("PUT", "/me/status", set_status, "Set presence", body=StatusBody, response=AgentView),
    Route(
        "GET",
        "/me/offers",
        my_offers,
        "What is offered to me now, waiting for my accept or decline: warm transfers (offer.kind transfer) "
        "and push queues' offers (offer.kind assignment), oldest first. Few, so never paged",
        response=ConversationSummary,
        many=True,
    ),
    Route(
        "GET",
        "/transfers/customer-reasons",
        customer_reasons,
        "What an agent may tell the customer when moving them (rules transfers.customer_reasons); the "
        "transfer's own reason is internal and never sent",
        response=CustomerReasonView,
        many=True,
        query=(NUMBER_PARAM,),
        extra={422: "number: not a phone_number_id"},
    ),
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
        "the last hours (?hours=24, up to 192); service level, abandonment rate, first contact resolution, "
        "transfers per conversation, reply breaches, idle closes and handle time per queue and agent, and "
        "hour by hour (by_hour); ?queue= for one queue (docs/operations.md's KPIs section defines each)",
        response=Stats,
        query=(
            hours_param(kpis.HOURS_KEPT),
            Param("queue", "only this queue's service level, abandonment, FCR and hours (404: unknown)"),
        ),
        extra={**EVERY_NUMBER_ONLY, 404: "no such queue", 422: "bad hours"},
    ),
    Route(
        "GET",
        "/templates",
        list_templates,
        "Approved message templates (from the rules file), one per name and language",
        response=TemplateView,
        many=True,
        query=(NUMBER_PARAM,),
        extra={422: "number: not a phone_number_id"},
    ),
    Route(
        "GET",
        "/queues",
        queues,
        "Waiting counts, oldest wait and SLA breaches in my queues (?all=true: every queue, e.g. to "
        "transfer to)",
        response=QueueStats,
        many=True,
        query=(Param("all", "`true` or `1`: every queue; anything else: only mine (supervisors: every)"),),
    ),
    Route(
        "POST",
        "/queues/next",
        take_next,
        "Claim the best waiting conversation (204: none); ?number= takes only from that business number",
        response=ConversationDetail,
        query=(LANG_PARAM, Param("number", "only from this business number (phone_number_id)")),
        extra={204: "nothing waits", 409: "at capacity or not available", 422: "unknown lang or number"},
    ),
    Route(
        "GET",
        "/conversations",
        list_conversations,
        "A page of what I hold, what waits in my queues and what is offered to me (supervisors: every held "
        "and waiting conversation), newest activity (updated_at) first. Filters combine and only narrow "
        "what you see: an agent asking for a colleague's agent_id gets only the warm offers that colleague "
        "made to them. The body is an array; the next page is in the Link and X-Next-Cursor headers",
        response=ConversationSummary,
        many=True,
        query=(
            Param(
                "limit",
                f"page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}; 422 outside)",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            ),
            Param("cursor", "X-Next-Cursor of the previous page, as given (422 if it is not one)"),
            Param(
                "state",
                "only conversations in this state",
                {"type": "string", "enum": [s.value for s in ConversationState]},
            ),
            Param("queue", "only conversations of this queue"),
            Param("agent_id", "only conversations this agent holds"),
            Param("number", "only conversations of this business number (phone_number_id)"),
            Param(
                "q",
                "supervisors: search every conversation, open or closed, by phone number (or its last 4+ "
                "digits), name (a word or its start), user id or conversation id; newest started first, "
                "`limit` of them, no paging (agents: 403)",
            ),
        ),
        headers={
            "Link": '<the next page, same filters>; rel="next" (absent on the last page)',
            "X-Next-Cursor": "the cursor of the next page (absent on the last page)",
        },
        extra={
            403: "q: searching every conversation is for supervisors",
            422: "unknown state, limit out of range, or malformed cursor",
        },
    ),
    Route(
        "GET",
        "/conversations/{id}",
        get_conversation,
        "State, context packet and transcript",
        response=ConversationDetail,
        query=(LANG_PARAM,),
        extra={422: "lang is not a language the summary is written in"},
    ),
    Route(
        "POST",
        "/conversations/{id}/messages",
        send_message,
        "Reply (409 window_closed outside the 24-hour window: send a template), quoting a message of the "
        "conversation with `reply_to` (404: not in it; 409: ours, not yet at WhatsApp)",
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
        "Move it: cold (now, to a queue or an agent) or warm (offered to an agent, who accepts or declines); "
        "a supervisor moving a waiting one assigns it (packet assignments, no customer message, no transfer)",
        body=TransferBody,
        response=ConversationDetail,
    ),
    Route(
        "POST",
        "/conversations/{id}/accept",
        accept,
        "Accept a warm transfer offered to me",
        response=ConversationDetail,
        query=(LANG_PARAM,),
        extra={422: "unknown lang"},
    ),
    Route(
        "POST",
        "/conversations/{id}/decline",
        decline,
        "Decline a warm transfer offered to me",
        response=ConversationDetail,
    ),
    Route("POST", "/conversations/{id}/resolve", resolve, "Close it", response=ConversationDetail),
    *EVENT_ROUTES,
    Route(
        "POST", "/conversations/{id}/release", release, "Hand it back to the bot", response=ConversationDetail
    ),
    *BOT_ROUTES,
    *OPS_ROUTES,
    *HOOK_ROUTES,
    *CANNED_ROUTES,
    *NOTE_ROUTES,
    *GESTURE_ROUTES,
    *HISTORY_ROUTES,
    *MEDIA_ROUTES,
    *NUMBER_ROUTES,
]


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(ROUTES, PREFIX, WEBHOOKS))


def routes() -> list[web.RouteDef]:
    table = [web.route(r.method, PREFIX + r.path, r.handler) for r in ROUTES]
    return [*table, web.get(f"{PREFIX}/openapi.json", openapi)]
