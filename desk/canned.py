"""Canned replies under /api/v1/canned: the texts ops keep in the rules' `canned:` section, filled in for the
conversation the agent is answering, in its customer's language, for the agent to edit before sending."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from desk.http import AGENT, DESK, DeskContext, number_asked, ok
from desk.openapi import NUMBER_PARAM, Param, Route
from desk.threads import in_thread
from handover.agents import Agent
from handover.rules.texts import canned


class CannedView(BaseModel):
    name: str
    texts: dict[str, str]  # language -> the text as ops wrote it
    text: str | None  # with ?conversation_id=: in the customer's language, with what is known filled in
    language: str | None  # the language of `text`


def canned_for(
    ctx: DeskContext, agent: Agent, conversation_id: str | None, number: str | None = None
) -> list[CannedView]:
    """Every canned reply of `number`'s rules; for a conversation the agent may see (403/404 otherwise),
    those of its number, also filled in."""
    if conversation_id is None:
        rules = ctx.rules(number).rules
        return [
            CannedView(name=n, texts=t, text=None, language=None) for n, t in sorted(rules.canned.items())
        ]
    conversation = ctx.assignments.conversation_for(agent, conversation_id)
    rules = ctx.rules(conversation.phone_number_id).rules
    language = conversation.bot.language or rules.default_language
    known = {**conversation.bot.collected, "agent": agent.name}
    if conversation.profile_name:
        known["name"] = conversation.profile_name
    return [
        CannedView(name=n, texts=t, text=canned(rules, n, language, known), language=language)
        for n, t in sorted(rules.canned.items())
    ]


async def list_canned(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    conversation_id = request.query.get("conversation_id") or None
    return ok(await in_thread(canned_for, ctx, agent, conversation_id, number_asked(request)))


CANNED_ROUTES = [
    Route(
        "GET",
        "/canned",
        list_canned,
        "Canned replies from the rules (`canned:`); with ?conversation_id= each is also given filled in "
        "for that conversation ({name}, {agent}, collected values; what is unknown stays in braces) in its "
        "customer's language",
        response=CannedView,
        many=True,
        extra={
            403: "conversation_id: not one you may see",
            404: "conversation_id: no such conversation",
            422: "number: not a phone_number_id",
        },
        query=(
            Param("conversation_id", "a conversation the agent may see: fill the texts in for it"),
            NUMBER_PARAM,
        ),
    ),
]
