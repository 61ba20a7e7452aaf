"""A customer's history under /api/v1/customers/{key}/conversations: their conversations on one number,
newest first, for an agent who may see their current one (supervisors: anyone's). Each opens read-only
through GET /api/v1/conversations/{id}."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from desk.http import AGENT, DESK, DeskContext, ok
from desk.openapi import Param, Route
from desk.threads import in_thread
from handover.agents import Agent
from handover.errors import Invalid, NotFound
from handover.history import customer_history


class PastConversationView(BaseModel):
    id: str
    state: str
    created_at: float
    closed_at: float | None  # resolved or abandoned
    intent: str | None  # what the escalation was about, else the bot's last recognised intent
    agent_id: str | None  # who held it last (who resolved it, once resolved)
    csat: str | None
    csat_score: int | None
    current: bool  # the customer's latest conversation (perhaps the one being answered)


def history(
    ctx: DeskContext, agent: Agent, customer_key: str, phone_number_id: str
) -> list[PastConversationView]:
    past = customer_history(ctx.store, phone_number_id, customer_key)
    if not past:
        raise NotFound(f"no conversations for customer {customer_key!r} on {phone_number_id!r}")
    if not agent.is_supervisor:
        ctx.assignments.conversation_for(agent, past[0].conversation.id, earlier=False)  # 403 otherwise
    return [
        PastConversationView(
            id=p.conversation.id,
            state=p.conversation.state,
            created_at=p.conversation.created_at,
            closed_at=p.conversation.resolved_at or p.conversation.abandoned_at,
            intent=p.intent,
            agent_id=p.conversation.agent_id,
            csat=p.conversation.csat,
            csat_score=p.conversation.csat_score,
            current=i == 0,
        )
        for i, p in enumerate(past)
    ]


async def list_history(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    number = request.query.get("phone_number_id")
    if not number:
        raise Invalid("give phone_number_id: a customer's conversations are per business number")
    key = request.match_info["key"]
    return ok(await in_thread(history, ctx, agent, key, number))


HISTORY_ROUTES = [
    Route(
        "GET",
        "/customers/{key}/conversations",
        list_history,
        "A customer's conversations on a business number (`key`: a conversation's customer_key), newest "
        "first with what each was about, who held it and the CSAT; for whoever may see their current one",
        response=PastConversationView,
        many=True,
        extra={
            403: "not yours: you may not see the customer's current conversation",
            404: "no conversations for that customer on that number",
            422: "no phone_number_id",
        },
        query=(
            Param("phone_number_id", "the business number (a conversation's phone_number_id)", required=True),
        ),
    ),
]
