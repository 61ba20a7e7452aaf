"""Reactions and "typing…" under /api/v1/conversations/{id} (issue 29, item 2): WhatsApp's ways of answering
besides a message. Quoting is `reply_to` on the reply itself (desk/api.py)."""

from __future__ import annotations

from aiohttp import web

from desk.http import AGENT, DESK, body_of, ok
from desk.models import ReactionBody, SentView, TypingView
from desk.openapi import Route
from desk.threads import in_thread


async def post_reaction(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    body: ReactionBody = await body_of(request, ReactionBody)
    react = ctx.assignments.react
    entry_id = await in_thread(react, agent, request.match_info["id"], body.message_id, body.emoji)
    return ok(SentView(id=entry_id, status="pending"), status=202)


async def post_typing(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    return ok(TypingView(sent=await in_thread(ctx.assignments.typing, agent, request.match_info["id"])))


GESTURE_ROUTES = [
    Route(
        "POST",
        "/conversations/{id}/reactions",
        post_reaction,
        "React with an emoji to a message of a conversation I hold (its transcript id), or take my reaction "
        "back with an empty emoji; within the 24-hour window. Not an answer: the reply clock keeps running",
        body=ReactionBody,
        response=SentView,
        status=202,
        extra={
            404: "no such message in the conversation",
            409: "not mine, window closed, or our message has not reached WhatsApp yet",
            422: "not one emoji, or a private note",
        },
    ),
    Route(
        "POST",
        "/conversations/{id}/typing",
        post_typing,
        'Show the customer "typing…" (WhatsApp keeps it up to 25 s, or until the reply), which also marks '
        "their newest message read; at most once per 25 s a conversation, within the 24-hour window",
        response=TypingView,
        extra={409: "not mine, or the window is closed"},
    ),
]
