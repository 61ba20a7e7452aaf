"""`handover rules whatif` and `handover rules export-golden`: stored conversations replayed or exported."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from pathlib import Path
from typing import Any

import redis

from app.errors import CommandError
from config.settings import Settings

EXIT_PROBLEMS = 1
EXIT_USAGE = 2
NOTHING_STORED = (
    "{what} reads the conversations stored in Redis: set REDIS_URL (the embedded mode keeps none to replay)"
)


def add_commands(rules: argparse._SubParsersAction[Any]) -> None:
    """The two subcommands of `handover rules`."""
    whatif = rules.add_parser(
        "whatif",
        help="replay the last stored conversations through the rules in force and a candidate, offline",
        description="Replay the customer turns of the newest N stored conversations through the rules in "
        "force (HANDOVER_RULES) and through CANDIDATE, offline (nothing sent, nothing written), each in a "
        "fresh conversation at its turns' own times; print the turns whose decision changed, a from -> to "
        "table of rules, the escalation rate (conversations handed over / replayed) and the containment "
        "estimate (the share of replayed conversations the bot never hands over), current vs candidate, "
        "and up to 10 examples with the customer's text masked. With --number N: the newest N "
        "conversations of that business number, through its rules in force.",
    )
    whatif.add_argument("candidate", metavar="CANDIDATE", help="the candidate rules file")
    whatif.add_argument(
        "--last", type=int, default=1000, metavar="N", help="how many conversations, newest (default 1000)"
    )
    whatif.add_argument("--json", action="store_true", help="the figures, changes and examples as JSON")
    export = rules.add_parser(
        "export-golden",
        help="stored conversations as golden conversations, on stdout",
        description="Write stored conversations as a golden conversations file (`handover rules test`) on "
        "stdout: customer texts masked, each turn expecting what the rules in force do with it now, so "
        "the file passes as exported; edit the expectations you want changed. `rules:` is the served "
        "rules file relative to the current directory.",
    )
    export.add_argument("ids", nargs="+", metavar="CONVERSATION_ID", help="conversation ids")


def whatif_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.commands import checked_rules, rules_file
    from app.wiring import sync_client
    from handover.rules.loader import load_rules
    from handover.rules.tools.whatif import render, whatif
    from handover.rules.yamlfile import RulesError, Unreadable

    if settings.is_embedded:
        raise CommandError(NOTHING_STORED.format(what="whatif"))
    if args.last < 1:
        raise CommandError(f"--last is how many conversations to replay: 1 or more, got {args.last}")
    try:
        candidate = load_rules(args.candidate)
    except RulesError as exc:
        for problem in [*exc.problems, *exc.warnings]:
            print(problem, file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, Unreadable) else EXIT_PROBLEMS
    current = checked_rules(rules_file(settings, args.number), "nothing to compare the candidate with")
    assert settings.redis_url
    connect = functools.partial(redis.Redis.from_url, settings.redis_url, decode_responses=True)
    report = whatif(sync_client(settings), current, candidate, args.last, connect=connect, number=args.number)
    print(json.dumps(report.as_dict(), ensure_ascii=False) if args.json else render(report))
    return 0


def export_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.commands import checked_rules, rules_file
    from app.wiring import sync_client
    from handover.rules.tools.export import UnknownConversation, export_golden

    if settings.is_embedded:
        raise CommandError(NOTHING_STORED.format(what="export-golden"))
    served = rules_file(settings)  # the default rules (the one file of a one-file deployment)
    loaded = checked_rules(served, "nothing exported")
    rules_ref = os.path.relpath(served.resolve(), Path.cwd())
    try:
        text = export_golden(sync_client(settings), loaded, list(dict.fromkeys(args.ids)), rules_ref)
    except UnknownConversation as exc:
        raise CommandError(f"no stored conversation {exc} (see GET /api/v1/conversations)") from None
    sys.stdout.write(text)
    return 0
