"""`handover rules reload|history|diff|rollback` and `handover audit`: the rules versions kept in Redis, the
confirmation that every process runs the one announced, and who changed what."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from app.errors import CommandError
from config.settings import Settings
from handover import audit
from handover.errors import DomainError
from handover.rules import versions
from handover.rules.loader import LoadedRules, load_rules
from handover.rules.yamlfile import RulesError

EXIT_NOT_CONFIRMED = 1  # the version is in place but a process does not run it (named, with why)
NEEDS_REDIS = "rules versions and the audit log live in Redis: set REDIS_URL"


DEFAULT_WAIT = 15.0  # seconds `rules reload|rollback` wait for every process to run the version


def client_of(settings: Settings) -> redis.Redis:
    from app.wiring import sync_client

    if settings.is_embedded:
        raise CommandError(NEEDS_REDIS)
    return sync_client(settings)


def stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def reload(
    settings: Settings,
    path: Path,
    loaded: LoadedRules,
    by: str | None,
    wait: float,
    number: str | None = None,
) -> int:
    """Record the checked version (with who), announce it by touching the file, then confirm (for
    `number`: the processes run it for that number)."""
    count = len(loaded.warnings)
    warned = f"; {count} warning{'' if count == 1 else 's'}" if count else ""
    if settings.is_embedded:
        os.utime(path)  # the one process notices the new time within two seconds and loads the file
        print(
            f"{path}: ok (version {loaded.version}{warned}); every process loads it within a few seconds "
            "(without REDIS_URL processes do not report, so it cannot be confirmed)"
        )
        return 0
    client = client_of(settings)
    who = by or audit.cli_user()
    previous = versions.current_version(client, versions.live(client), number)
    # before touching: the attribution is ours
    versions.record(client, loaded, who, announced=True, number=number)
    # `previous`: what the processes ran when asked; left out when they had already noticed the edit
    detail = {"version": loaded.version} | ({"previous": previous} if previous != loaded.version else {})
    audit.write(client, who, audit.AuditAction.RULES_RELOAD, detail | _of(number))
    # Every process checks the file's modification time every two seconds and loads it if it changed;
    # touching it after a successful check is what makes them all pick it up now.
    since = time.time()
    os.utime(path)
    print(f"{path}: ok (version {loaded.version}{warned})", flush=True)
    return confirmed(client, loaded.version, since, wait, number)


def _of(number: str | None) -> dict[str, str]:
    """The audit detail's `number`, when a number's rules file was the one changed."""
    return {"number": number} if number is not None else {}


def confirmed(client: redis.Redis, version: str, since: float, wait: float, number: str | None = None) -> int:
    state = versions.confirm(client, version, since, wait, number=number)
    print(state.summary() + ("" if state.live else " (no process reports: is anything running?)"))
    for line in state.reasons():
        print(line, file=sys.stderr)
    return 0 if state.confirmed else EXIT_NOT_CONFIRMED


def rollback(settings: Settings, ref: str, by: str | None, wait: float, number: str | None = None) -> int:
    """Rewrite the served file (of `number`: its rules file) with a kept version's content, atomically,
    once that content still loads; then confirm like reload. The file stays the one source of truth (see
    docs/rules.md, "Versions, rollback and the audit log")."""
    from app.commands import rules_file

    client = client_of(settings)
    served = rules_file(settings, number)
    target = resolved(client, ref, number)
    previous = versions.current_version(client, versions.live(client), number)
    fd, temp = tempfile.mkstemp(prefix=f".{served.name}.", suffix=".rollback", dir=served.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(target.content)
        if served.exists():
            os.chmod(temp, served.stat().st_mode & 0o777)
        try:
            loaded = load_rules(temp)  # beside the served file: a directory file it names resolves the same
        except RulesError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            raise CommandError(
                f"version {target.version} no longer loads here; {served} was left as it is"
            ) from exc
        since = time.time()
        os.replace(temp, served)  # atomic: a process reading the file sees the old or the new, whole
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    who = by or audit.cli_user()
    versions.record(client, loaded, who, announced=True, number=number)  # kept already: how we found it
    detail = {"version": target.version, "previous": previous} | _of(number)
    audit.write(client, who, audit.AuditAction.RULES_ROLLBACK, detail)
    print(f"{served}: rewritten with version {target.version} (was {previous or 'unknown'})", flush=True)
    return confirmed(client, target.version, since, wait, number)


def resolved(client: redis.Redis, ref: str, number: str | None = None) -> versions.RulesVersion:
    try:
        return versions.resolve(client, ref, number=number)
    except DomainError as exc:
        raise CommandError(str(exc)) from None


def history(settings: Settings, as_json: bool, number: str | None = None) -> int:
    """Every kept version (with `number`: those loaded for that number, and who runs each for it)."""
    client = client_of(settings)
    processes = versions.live(client)
    current = versions.current_version(client, processes, number)
    rows: list[dict[str, Any]] = []
    for kept in versions.history(client, number):
        running = [p.id for p in processes if p.runs(number) == kept.version]
        rows.append(
            {
                "version": kept.version,
                "hash": kept.hash,
                "first_loaded_at": kept.first_loaded_at,
                "by": kept.by,
                "current": kept.version == current,
                "processes": running,
            }
        )
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no rules version kept yet (processes keep each version they load)")
    for row in rows:
        mark = "*" if row["current"] else " "
        on = ", ".join(row["processes"]) or "-"
        print(f"{mark} {row['version']}  {stamp(row['first_loaded_at'])}  {row['by']}  running: {on}")
    return 0


def diff(settings: Settings, a: str, b: str, number: str | None = None) -> int:
    client = client_of(settings)
    print(versions.diff(resolved(client, a, number), resolved(client, b, number)), end="")
    return 0


def audit_log(settings: Settings, hours: int, as_json: bool) -> int:
    if not 1 <= hours <= audit.HOURS_KEPT:
        raise CommandError(f"--hours must be from 1 to {audit.HOURS_KEPT} (entries are kept 30 days)")
    entries = audit.since(client_of(settings), hours)
    if as_json:
        shown = [{"at": e.at, "who": e.who, "action": e.action, "detail": e.detail} for e in entries]
        print(json.dumps({"hours": hours, "entries": shown}, ensure_ascii=False, indent=2))
        return 0
    for e in entries:
        detail = " ".join(f"{k}={v}" for k, v in e.detail.items() if v is not None)
        print(f"{stamp(e.at)}  {e.who}  {e.action}  {detail}".rstrip())
    if not entries:
        print(f"nothing audited in the last {hours} hours")
    return 0


def add_commands(rules: argparse._SubParsersAction[Any]) -> None:
    """`rules reload`'s confirmation options, and `rules history|diff|rollback` (app/versions_cli.py)."""
    reload = rules.choices["reload"]
    by_help = "who does it, for the history and the audit log (default user@host)"
    wait_help = f"seconds to wait for every process to run it (default {DEFAULT_WAIT:g})"
    reload.add_argument("--by", metavar="WHO", help=by_help)
    reload.add_argument("--wait", type=float, default=DEFAULT_WAIT, metavar="SECONDS", help=wait_help)
    history = rules.add_parser("history", help="every rules version kept: when, by whom, who runs it now")
    history.add_argument("--json", action="store_true")
    diff = rules.add_parser("diff", help="unified diff of two kept versions (prefixes, or `current`)")
    diff.add_argument("a", metavar="A", help="a version prefix, or current")
    diff.add_argument("b", metavar="B", help="a version prefix, or current")
    rollback = rules.add_parser(
        "rollback",
        help="rewrite the served file with a kept version (atomically, once it still loads) and confirm "
        "every process runs it",
        description="Rollback rewrites the served file (HANDOVER_RULES) with the kept content of VERSION: "
        "written beside it, checked to load, then swapped in at once (os.replace). The file stays the one "
        "source of truth: an override kept in Redis would be undone, or silently ignored, by the next edit "
        "of the file; and the content it replaces is itself a kept version, so nothing is lost.",
    )
    rollback.add_argument("version", metavar="VERSION", help="a version prefix (see handover rules history)")
    rollback.add_argument("--by", metavar="WHO", help=by_help)
    rollback.add_argument("--wait", type=float, default=DEFAULT_WAIT, metavar="SECONDS", help=wait_help)


def command(settings: Settings, args: argparse.Namespace) -> int:
    number = _listed(settings, args.number)
    if args.rules_command == "history":
        return history(settings, args.json, number)
    if args.rules_command == "diff":
        return diff(settings, args.a, args.b, number)
    return rollback(settings, args.version, args.by, args.wait, number)


def _listed(settings: Settings, number: str | None) -> str | None:
    """`--number`, once checked to be one the rules folder lists (app/commands.py rules_file); None with one
    rules file, whose versions are every number's."""
    from app.commands import rules_file

    if number is None:
        return None
    rules_file(settings, number)
    return number if Path(settings.handover_rules).is_dir() else None
