"""Private notes under /api/v1/conversations/{id}/notes: for colleagues, never sent to the customer."""

from __future__ import annotations

from aiohttp import web

from desk.http import AGENT, DESK, DeskContext, body_of, ok
from desk.models import NoteBody
from desk.openapi import Route
from desk.threads import in_thread
from handover.agents import Agent
from handover.conversation import Conversation
from handover.notes import Notes, writable
from handover.transcript import TranscriptEntry


def may_write(ctx: DeskContext, agent: Agent, conversation_id: str) -> Conversation:
    """Anyone who may see the conversation may write on it while it is open (403/404 otherwise; 409
    `conversation_closed` on a closed one, e.g. a customer's earlier conversation)."""
    return writable(ctx.assignments.conversation_for(agent, conversation_id))


def add_note(ctx: DeskContext, agent: Agent, conversation_id: str, text: str) -> TranscriptEntry:
    """The note, checked again as it is written (409 `too_many_notes`, 429 `too_many_notes_per_minute`:
    handover/notes.py)."""
    conversation = may_write(ctx, agent, conversation_id)
    notes = Notes(ctx.store, ctx.clock, most=ctx.notes_max, per_minute=ctx.notes_per_minute)
    return notes.add(agent, conversation, text)


async def post_note(request: web.Request) -> web.Response:
    ctx, agent, conversation_id = request.app[DESK], request[AGENT], request.match_info["id"]
    await in_thread(may_write, ctx, agent, conversation_id)  # before a byte of the body is read
    body: NoteBody = await body_of(request, NoteBody)
    return ok(await in_thread(add_note, ctx, agent, conversation_id, body.text), status=201)


NOTE_ROUTES = [
    Route(
        "POST",
        "/conversations/{id}/notes",
        post_note,
        "A private note for colleagues: in the transcript (direction note) and the packet's notes, carried "
        "through transfers, never sent to the customer. Only on an open conversation (409 "
        "conversation_closed); at most HANDOVER_NOTES_MAX (200) per conversation (409 too_many_notes) and "
        "HANDOVER_NOTES_PER_MINUTE (30) per agent a minute (429 too_many_notes_per_minute, Retry-After)",
        body=NoteBody,
        response=TranscriptEntry,
        status=201,
    ),
]
