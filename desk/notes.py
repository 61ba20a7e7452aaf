"""Private notes under /api/v1/conversations/{id}/notes: for colleagues, never sent to the customer."""

from __future__ import annotations

import asyncio

from aiohttp import web

from desk.http import AGENT, DESK, DeskContext, body_of, ok
from desk.models import NoteBody
from desk.openapi import Route
from handover.agents import Agent
from handover.notes import Notes
from handover.transcript import TranscriptEntry


def add_note(ctx: DeskContext, agent: Agent, conversation_id: str, text: str) -> TranscriptEntry:
    """Anyone who may see the conversation may write on it (403/404 otherwise)."""
    conversation = ctx.assignments.conversation_for(agent, conversation_id)
    return Notes(ctx.store, ctx.clock).add(agent, conversation, text)


async def post_note(request: web.Request) -> web.Response:
    ctx, agent = request.app[DESK], request[AGENT]
    body: NoteBody = await body_of(request, NoteBody)
    return ok(await asyncio.to_thread(add_note, ctx, agent, request.match_info["id"], body.text), status=201)


NOTE_ROUTES = [
    Route(
        "POST",
        "/conversations/{id}/notes",
        post_note,
        "A private note for colleagues: in the transcript (direction note) and the packet's notes, carried "
        "through transfers, never sent to the customer",
        body=NoteBody,
        response=TranscriptEntry,
        status=201,
    ),
]
