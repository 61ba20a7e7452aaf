"""The business numbers under /api/v1/numbers: those the signed-in person serves, each with the name and
colour the console shows beside its conversations (numbers.yaml; see handover/numbers.py)."""

from __future__ import annotations

from aiohttp import web

from desk.http import AGENT, DESK, DeskContext, ok
from desk.openapi import Route
from desk.threads import in_thread
from handover.agents import Agent
from handover.numbers import BusinessNumber


def served(ctx: DeskContext, agent: Agent) -> list[BusinessNumber]:
    """The numbers known (numbers.yaml, WHATSAPP_PHONE_NUMBER_IDS, and those that reached the webhook) that
    the agent serves, in the order of their ids."""
    known = ctx.reads.known_numbers(ctx.numbers, ctx.phone_number_ids)
    return [ctx.numbers.describe(n) for n in known if agent.serves(n)]


async def list_numbers(request: web.Request) -> web.Response:
    return ok(await in_thread(served, request.app[DESK], request[AGENT]))


NUMBER_ROUTES = [
    Route(
        "GET",
        "/numbers",
        list_numbers,
        "The business numbers I serve (every one known, for those given no numbers and admins): each "
        "conversation's phone_number_id is one of these ids, shown by its name and colour",
        response=BusinessNumber,
        many=True,
    ),
]
