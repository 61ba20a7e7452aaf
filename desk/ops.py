"""Desk routes for supervisors about the bot's rules and who changed what: the rules versions kept and
which one each live process runs (`handover rules history`), a diff of two, and the audit log."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from desk.http import DESK, figures, hours_asked, number_asked, ok
from desk.openapi import EVERY_NUMBER_ONLY, NUMBER_PARAM, Param, Route, hours_param
from desk.threads import in_thread
from handover import audit
from handover.errors import Invalid
from handover.readers import Readers
from handover.rules import versions


class ProcessView(BaseModel):
    id: str  # <kind>:<host>:<pid>
    kind: str
    host: str
    pid: int
    version: str
    seen_at: float
    error: str | None  # why it refused the file on disk (it keeps running `version`)


class VersionView(BaseModel):
    version: str
    hash: str
    first_loaded_at: float
    by: str
    current: bool


class RulesView(BaseModel):
    current: str | None  # the version most live processes run; null when none reports
    processes: list[ProcessView]
    on_current: int
    live: int
    versions: list[VersionView]  # newest first


class RulesDiff(BaseModel):
    a: str
    b: str
    diff: str  # unified diff of the YAML, from a to b ("" when the same)


class AuditEntryView(BaseModel):
    at: float
    who: str
    action: str
    detail: dict[str, Any]


class AuditView(BaseModel):
    hours: int
    entries: list[AuditEntryView]  # newest first


async def rules(request: web.Request) -> web.Response:
    figures(request, "the rules and the audit log")
    ctx = request.app[DESK]
    return ok(await in_thread(rules_view, ctx.reads, number_asked(request)))


def rules_view(reads: Readers, number: str | None = None) -> RulesView:
    """Of `number`'s rules (a number numbers.yaml lists; None: the default rules)."""
    processes = reads.live_processes()
    current = reads.current_version(processes, number)
    return RulesView(
        current=current,
        processes=[
            ProcessView(**(vars(p) | {"version": p.runs(number), "error": p.refusal(number)}))
            for p in processes
        ],
        on_current=sum(1 for p in processes if p.runs(number) == current),
        live=len(processes),
        versions=[
            VersionView(
                version=v.version,
                hash=v.hash,
                first_loaded_at=v.first_loaded_at,
                by=v.by,
                current=v.version == current,
            )
            # a number not listed has no history of its own: it runs the default rules
            for v in reads.rules_history(number if any(number in p.versions for p in processes) else None)
        ],
    )


async def rules_diff(request: web.Request) -> web.Response:
    figures(request, "the rules and the audit log")
    a, b = request.query.get("a", ""), request.query.get("b", "")
    if not a or not b:
        raise Invalid("give both versions: ?a=<version prefix or current>&b=<version prefix or current>")
    reads, number = request.app[DESK].reads, number_asked(request)

    def compare() -> RulesDiff:
        old, new = reads.rules_version(a, number), reads.rules_version(b, number)
        return RulesDiff(a=old.version, b=new.version, diff=versions.diff(old, new))

    return ok(await in_thread(compare))


async def audit_log(request: web.Request) -> web.Response:
    figures(request, "the rules and the audit log")
    hours = hours_asked(request, audit.HOURS_KEPT)
    ctx = request.app[DESK]
    entries = await in_thread(ctx.reads.audit, hours)
    return ok(AuditView(hours=hours, entries=[AuditEntryView(**vars(e)) for e in entries]))


OPS_ROUTES = [
    Route(
        "GET",
        "/rules",
        rules,
        "Supervisors: the rules version each live process runs, the one most run (current), and every "
        "version kept, newest first, with when it was first loaded and by whom; ?number= for a business "
        "number's rules (default: the default rules)",
        response=RulesView,
        query=(NUMBER_PARAM,),
        extra={**EVERY_NUMBER_ONLY, 422: "number: not a phone_number_id"},
    ),
    Route(
        "GET",
        "/rules/diff",
        rules_diff,
        "Supervisors: unified diff of two kept rules versions (?a=&b=: version prefixes or `current`; "
        "404 unknown, 422 ambiguous)",
        response=RulesDiff,
        query=(
            Param("a", "a version prefix, or `current`", required=True),
            Param("b", "a version prefix, or `current`", required=True),
            NUMBER_PARAM,
        ),
        extra={
            **EVERY_NUMBER_ONLY,
            404: "no kept version starts so",
            422: "ambiguous prefix, a or b missing, or a number that is not one",
        },
    ),
    Route(
        "GET",
        "/audit",
        audit_log,
        "Supervisors: who reloaded or rolled back rules, added or removed agents, assigned or moved others' "
        "conversations (?hours=24, up to 720), newest first",
        response=AuditView,
        query=(hours_param(audit.HOURS_KEPT),),
        extra={**EVERY_NUMBER_ONLY, 422: "bad hours"},
    ),
]
