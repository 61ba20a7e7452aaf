"""`handover rules ...`: check, schema, test, eval, explain and reload here; what-if and export in
app/whatif.py; history, diff, rollback and reload's confirmation in app/versions_cli.py."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app import rules_check, versions_cli, whatif
from app.commands import EXIT_PROBLEMS, EXIT_USAGE, checked_rules, plural, rules_file
from app.errors import CommandError
from config.settings import Settings


def add_rules_commands(commands: argparse._SubParsersAction[Any]) -> None:
    rules = commands.add_parser("rules", help="check, describe and test the rules file").add_subparsers(
        dest="rules_command", metavar="command", required=True
    )
    check = rules.add_parser(
        "check",
        help="validate a rules file, or a rules folder's numbers.yaml and every file it names (exit 1 with "
        "every problem found)",
    )
    check.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="a file or a folder (default HANDOVER_RULES)",
    )
    rules.add_parser("schema", help="print the JSON Schema of the rules format, for editor completion")
    golden = rules.add_parser(
        "test", help="run golden conversations (customer turns and expected bot actions)"
    )
    golden.add_argument("file", metavar="FILE", help="a golden conversations file")
    golden.add_argument("--rules", help="the rules file to test (default: the golden file's `rules:`)")
    evaluation = rules.add_parser(
        "eval", help="how many labelled customer messages the rules handle as expected, per category"
    )
    evaluation.add_argument(
        "corpus", metavar="CORPUS", help="a folder of corpus files, or one (tests/data/nlu)"
    )
    evaluation.add_argument("--rules", help="the rules file (default HANDOVER_RULES or config/rules.yaml)")
    evaluation.add_argument("--json", action="store_true", help="the figures and confusions as JSON")
    evaluation.add_argument(
        "--min", type=float, metavar="SHARE", help="exit 1 when less than this share (e.g. 0.95) passes"
    )
    explain = rules.add_parser("explain", help="which rule wins for a customer message, and why")
    explain.add_argument("text", metavar="TEXT", help="what the customer writes")
    explain.add_argument("--rules", help="the rules file (default HANDOVER_RULES or config/rules.yaml)")
    explain.add_argument(
        "--state",
        help="the conversation's state (bot; queued: waiting, where only leave_queue and queue_status "
        "intents are heard; assigned...) or the bot's memory as JSON, e.g. "
        '\'{"awaiting": {"kind": "identity", "intent": "order_status", "field": "cpf"}}\'',
    )
    explain.add_argument("--json", action="store_true", help="the explanation as JSON")
    reload = rules.add_parser(
        "reload", help="check the served rules file, have every process load it, confirm they all run it"
    )
    reload.add_argument(
        "file", nargs="?", metavar="FILE", help="the served file (HANDOVER_RULES); another one is refused"
    )
    whatif.add_commands(rules)
    versions_cli.add_commands(rules)
    for name in NUMBERED:
        rules.choices[name].add_argument(
            "--number",
            metavar="N",
            help="the rules file of this business number (phone_number_id) in a rules folder's numbers.yaml "
            "(default: the default rules)",
        )


# the commands that take --number: each works on that number's rules file (and its versions)
NUMBERED = ("check", "test", "eval", "explain", "whatif", "history", "diff", "rollback", "reload")


def rules_command(settings: Settings, args: argparse.Namespace) -> int:
    from handover.rules.loader import load_rules
    from handover.rules.model import Rules
    from handover.rules.yamlfile import RulesError, Unreadable

    if args.rules_command == "schema":
        print(json.dumps(Rules.model_json_schema(by_alias=True), indent=2, ensure_ascii=False))
        return 0
    if args.rules_command == "test":
        # without --number the golden file's own `rules:` stays the default
        rules = args.rules if args.number is None else _numbered(settings, args.rules, args.number)
        return golden_command(args.file, rules)
    if args.rules_command == "eval":
        return eval_command(settings, args)
    if args.rules_command == "explain":
        return explain_command(settings, args)
    if args.rules_command == "whatif":
        return whatif.whatif_command(settings, args)
    if args.rules_command == "export-golden":
        return whatif.export_command(settings, args)
    if args.rules_command in ("history", "diff", "rollback"):
        return versions_cli.command(settings, args)
    if args.rules_command == "check" and rules_check.is_folder(settings, args.file, args.number):
        return rules_check.check_folder(Path(args.file or settings.handover_rules), args.number)
    served = rules_file(settings, args.number)
    path = Path(args.file) if args.file else served
    if args.rules_command == "reload" and path.resolve() != served.resolve():
        of = f" of {args.number}" if args.number else ""
        where = f"{settings.handover_rules}: {served}" if Path(settings.handover_rules).is_dir() else served
        raise CommandError(
            f"{path} is not the served rules file{of} (HANDOVER_RULES is {where}); edit that one, "
            "or point HANDOVER_RULES at this file and restart the processes"
        )
    try:
        loaded = load_rules(path)
    except RulesError as exc:
        for problem in [*exc.problems, *exc.warnings]:
            print(problem, file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, Unreadable) else EXIT_PROBLEMS
    for warning in loaded.warnings:  # likely mistakes, but the file is usable: they never fail the check
        print(warning, file=sys.stderr)
    warned = f"; {plural(len(loaded.warnings), 'warning')}" if loaded.warnings else ""
    if args.rules_command == "reload":
        return versions_cli.reload(settings, path, loaded, args.by, args.wait, args.number)
    rules = loaded.rules
    print(
        f"{path}: ok (version {loaded.version}; {len(rules.intents)} intents, {len(rules.escalation)} "
        f"escalation rules, {len(rules.queues)} queues){warned}"
    )
    return 0


def eval_command(settings: Settings, args: argparse.Namespace) -> int:
    from handover.rules.loader import load_rules
    from handover.rules.tools.evaluation import evaluate, load_corpus, render
    from handover.rules.tools.golden import GoldenFailure
    from handover.rules.yamlfile import RulesError, Unreadable

    try:
        loaded = load_rules(_numbered(settings, args.rules, args.number))
        corpus = load_corpus(args.corpus)
    except Unreadable as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except (RulesError, GoldenFailure) as exc:
        print(exc, file=sys.stderr)
        return EXIT_PROBLEMS
    report = evaluate(loaded, corpus)
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) if args.json else render(report))
    passed, total = report.share()
    return EXIT_PROBLEMS if args.min is not None and passed < args.min * total else 0


def explain_command(settings: Settings, args: argparse.Namespace) -> int:
    from handover.rules.tools.explain import BadState, explain, parse_state, render

    try:
        state, memory = parse_state(args.state)
    except BadState as exc:
        raise CommandError(f"rules explain: {exc}") from None
    loaded = checked_rules(_numbered(settings, args.rules, args.number), "nothing to explain")
    explanation = explain(loaded, args.text, state, memory)
    print(explanation.model_dump_json(indent=2) if args.json else render(explanation))
    return 0


def _numbered(settings: Settings, rules: str | None, number: str | None) -> str | Path:
    """`--rules FILE`, else the rules file of `--number` (else the default rules)."""
    if rules is not None and number is not None:
        raise CommandError("give --rules FILE or --number N, not both")
    return rules if rules is not None else rules_file(settings, number)


def golden_command(path: str, rules: str | Path | None) -> int:
    from handover.rules.tools.golden import GoldenFailure, run_golden
    from handover.rules.yamlfile import Unreadable

    try:
        checked, failures = run_golden(path, rules)
    except Unreadable as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except GoldenFailure as exc:
        print(exc, file=sys.stderr)
        return EXIT_PROBLEMS
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"{path}: {checked} turns checked, {len(failures)} conversations failed")
    return EXIT_PROBLEMS if failures else 0
