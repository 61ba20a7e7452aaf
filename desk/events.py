"""GET /api/v1/events: the signed-in agent's live events (desk/live.py's hub hands each stream what is for
it), and what the OpenAPI document says they are."""

from __future__ import annotations

from typing import get_args

from aiohttp import web

from desk import scope
from desk.http import AGENT, DESK
from desk.live import stream
from desk.openapi import Route
from handover.events import EventType


async def events(request: web.Request) -> web.StreamResponse:
    ctx, agent = request.app[DESK], request[AGENT]
    numbers = agent.numbers if scope.is_scoped(agent) else []
    return await stream(request, ctx.hub, agent.id, agent.queues, agent.is_supervisor, numbers)


EVENTS = (
    "Server-sent events until the client disconnects: `event:` is one of "
    + ", ".join(get_args(EventType))
    + "; `data:` is JSON with conversation_id, agent_id, queue and the event's own fields; `id:` is the "
    "stream position. Comment lines (`:`) are heartbeats. An agent hears of their own conversations and "
    "their queues; supervisors of everything; a person of some numbers, only of those numbers' "
    "conversations. Keeping it open marks the agent as connected: when every "
    "stream of theirs has been gone past HANDOVER_PRESENCE_GRACE_SECONDS they go offline and their "
    "conversations go back to the queue. At most HANDOVER_STREAMS_PER_AGENT streams per agent (5): one more "
    "ends their oldest with a last `replaced` event (do not reconnect it by yourself); a removed agent's "
    "streams end with `agent_removed`."
)


EVENT_ROUTES = [
    Route("GET", "/events", events, "Live events for the signed-in agent", events=EVENTS),
]
