"""Supervisors' view of the bot under /api/v1/bot: what it does by rule and version, what it missed, and
which rule would win for a sentence (the console's Bot tab reads these)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from desk.http import DESK, body_of, figures, hours_asked, number_asked, ok
from desk.openapi import EVERY_NUMBER_ONLY, NUMBER_PARAM, Param, Route, hours_param
from desk.threads import in_thread
from handover import botstats, fcr
from handover.errors import Invalid
from handover.rules.patterns import MAX_TEXT
from handover.rules.tools.explain import BadState, Explanation, explain, parse_state


class ExplainBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT, description="what a customer might write")
    state: str | None = Field(
        default=None,
        description="the conversation's state (bot, queued...) or the bot's memory as JSON; default: a new "
        "conversation with the bot",
    )
    number: str | None = Field(
        default=None,
        description="the business number (phone_number_id) whose rules explain; default: the default rules "
        "(also ?number=)",
    )


async def bot_stats(request: web.Request) -> web.Response:
    ctx = request.app[DESK]
    figures(request, "the bot's numbers")
    hours = hours_asked(request, botstats.HOURS_KEPT)
    version = request.query.get("rules_version") or None
    fcr_days = ctx.rules().rules.kpis.fcr_days
    stats = await in_thread(ctx.reads.bot_stats, hours, fcr_days, version)
    return ok(stats)


async def unrecognized(request: web.Request) -> web.Response:
    ctx = request.app[DESK]
    figures(request, "what the bot missed")
    hours = hours_asked(request, botstats.HOURS_KEPT)
    return ok(await in_thread(ctx.reads.missed, hours))


async def explain_text(request: web.Request) -> web.Response:
    ctx = request.app[DESK]
    figures(request, "explanations")
    body = await body_of(request, ExplainBody)
    try:
        state, memory = parse_state(body.state)
    except BadState as exc:
        raise Invalid(str(exc).replace("--state", "state")) from None
    return ok(explain(ctx.rules(number_asked(request, body.number)), body.text, state, memory))


BOT_ROUTES = [
    Route(
        "GET",
        "/bot/stats",
        bot_stats,
        "Supervisors: the bot's decisions, escalations, misses, containment and CSAT of handed-over "
        "conversations, per rule and by the hour, and the first contact resolution of what each rules "
        "version contained (?hours=24, up to 720; &rules_version= a version prefix)",
        response=fcr.BotStatsWithFcr,
        query=(
            hours_param(botstats.HOURS_KEPT),
            Param("rules_version", "only the decisions of rules versions starting so"),
        ),
        extra={**EVERY_NUMBER_ONLY, 422: "bad hours"},
    ),
    Route(
        "GET",
        "/bot/unrecognized",
        unrecognized,
        "Supervisors: what customers wrote that no rule caught, and what came before 'the bot could not "
        "help' handovers, grouped and masked (?hours=24, up to 720)",
        response=botstats.Unrecognized,
        query=(hours_param(botstats.HOURS_KEPT),),
        extra={**EVERY_NUMBER_ONLY, 422: "bad hours"},
    ),
    Route(
        "POST",
        "/bot/explain",
        explain_text,
        "Supervisors: which rule wins for a sentence and why, under the rules in force of a number (`number` "
        "in the body or ?number=; default rules otherwise). Nothing is sent",
        body=ExplainBody,
        response=Explanation,
        query=(NUMBER_PARAM,),
        extra={
            **EVERY_NUMBER_ONLY,
            422: "invalid body, a state that is not one, or a number that is not one",
        },
    ),
]
