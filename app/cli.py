"""The `handover` command: serve, worker, rules, agents and packet. Wrong input gets one line and exit 2."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit, urlunsplit

import redis
import structlog
from aiohttp import web

from app.errors import CommandError, UsageError
from app.logging import configure_logging
from app.whatif import add_commands as add_whatif_commands
from app.whatif import export_command, whatif_command
from config.settings import MissingSetting, Settings, load_settings

if TYPE_CHECKING:
    from handover.rules.loader import LoadedRules

log = structlog.get_logger(__name__)

EXIT_PROBLEMS = 1  # a check read the file and found problems: one line each
EXIT_USAGE = 2  # the command could not do what was asked: one line saying why
DEFAULT_WAIT = 15.0  # seconds `rules reload|rollback` wait for every process to run the version


class Parser(argparse.ArgumentParser):
    """argparse that raises UsageError with one plain sentence instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {self._plain(message)}")

    def _plain(self, message: str) -> str:
        if required := re.match(r"the following arguments are required: ([^,]+)", message):
            action = self._action(required[1])
            if isinstance(action, argparse._SubParsersAction):
                return f"choose a command: {', '.join(action.choices)}"
            return f"missing {required[1]}" + (f" ({action.help})" if action and action.help else "")
        if invalid := re.match(r"argument (.+?): invalid choice: '?([^']*)'? \(choose", message):
            action = self._action(invalid[1])
            choices = ", ".join(action.choices or []) if action else ""
            if isinstance(action, argparse._SubParsersAction):
                return f"unknown command {invalid[2]!r} (choose from {choices})"
            return f"{invalid[1]} must be one of {choices} (got {invalid[2]!r})"
        if typed := re.match(r"argument (.+?): invalid (int|float) value: '(.*)'", message):
            kind = "a whole number" if typed[2] == "int" else "a number"
            return f"{typed[1]} must be {kind} (got {typed[3]!r})"
        if other := re.match(r"argument (.+?): (.*)", message):
            return f"{other[1]} {other[2]}"
        return message

    def _action(self, name: str) -> argparse.Action | None:
        for action in self._actions:
            names = {action.dest, str(action.metavar), *action.option_strings}
            if name in names or name.split("/")[0] in names:
                return action
        return None


def port(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {value!r})") from None
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 1 to 65535, got {number}")
    return number


def parser() -> Parser:
    root = Parser(prog="handover", description="WhatsApp chatbot-to-human handover")
    commands = root.add_subparsers(dest="command", metavar="command", required=True)
    serve = commands.add_parser("serve", help="webhook, desk API and console in one aiohttp app")
    serve.add_argument("--host", help="default HANDOVER_HOST or 127.0.0.1")
    serve.add_argument("--port", type=port, help="default HANDOVER_PORT or 8080")
    worker = commands.add_parser("worker", help="rq worker that processes messages and sends replies")
    worker.add_argument("--burst", action="store_true", help="exit when there is nothing left to do")
    rules = commands.add_parser("rules", help="check, describe and test the rules file").add_subparsers(
        dest="rules_command", metavar="command", required=True
    )
    check = rules.add_parser("check", help="validate a rules file (exit 1 with every problem found)")
    check.add_argument("file", nargs="?", metavar="FILE", help="default HANDOVER_RULES or config/rules.yaml")
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
        help="the conversation's state (bot, queued, assigned...) or the bot's memory as JSON, e.g. "
        '\'{"awaiting": {"kind": "identity", "intent": "order_status", "field": "cpf"}}\'',
    )
    explain.add_argument("--json", action="store_true", help="the explanation as JSON")
    reload = rules.add_parser(
        "reload", help="check the served rules file, have every process load it, confirm they all run it"
    )
    reload.add_argument(
        "file", nargs="?", metavar="FILE", help="the served file (HANDOVER_RULES); another one is refused"
    )
    add_whatif_commands(rules)
    versions_commands(rules)
    agents = commands.add_parser("agents", help="agents and supervisors of the desk").add_subparsers(
        dest="agents_command", metavar="command", required=True
    )
    add = agents.add_parser("add", help="create an agent and print their token (shown once)")
    add.add_argument("name", metavar="NAME", help="the agent's name as colleagues and supervisors see it")
    add.add_argument("--queues", required=True, help="comma-separated queue names")
    add.add_argument("--capacity", type=int, default=3, help="conversations at once (default 3)")
    add.add_argument("--role", choices=["agent", "supervisor"], default="agent")
    add.add_argument("--json", action="store_true", help='print {"id": ..., "token": ...}')
    listing = agents.add_parser("list", help="every agent with queues, capacity, role and status")
    listing.add_argument("--json", action="store_true")
    remove = agents.add_parser("remove", help="delete an agent (their token stops working)")
    remove.add_argument("id", metavar="ID", help="the agent's id (see handover agents list)")
    for command in (add, remove):
        command.add_argument("--by", metavar="WHO", help="who does it, for the audit log (default user@host)")
    packet = commands.add_parser("packet", help="the context packet").add_subparsers(
        dest="packet_command", metavar="command", required=True
    )
    packet.add_parser("schema", help="print the JSON Schema of the context packet")
    audit_log = commands.add_parser(
        "audit", help="who reloaded or rolled back rules, added or removed agents, moved conversations"
    )
    audit_log.add_argument("--hours", type=int, default=24, help="the last N hours (default 24, up to 720)")
    audit_log.add_argument(
        "--json", action="store_true", help='{"hours", "entries": [{at, who, action, detail}]}'
    )
    return root


def parse(argv: list[str] | None) -> argparse.Namespace:
    args, extra = parser().parse_known_args(argv)
    if extra:
        named = [args.command, getattr(args, f"{args.command}_command", None)]
        prog = " ".join(["handover", *[n for n in named if n]])
        raise UsageError(f"{prog}: unknown argument {extra[0]} (see {prog} --help)")
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse(argv)
        settings = load_settings()
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except MissingSetting as exc:
        print(f"handover: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings.handover_log_level)
    try:
        return run(settings, args)
    except CommandError as exc:
        print(f"handover: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `handover ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        print(f"handover: {unreachable(settings, exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug: still one line, the details where they help
        print(
            f"handover: unexpected {type(exc).__name__}: {exc} (please report it; "
            "HANDOVER_LOG_LEVEL=DEBUG shows where)",
            file=sys.stderr,
        )
        if settings.handover_log_level == "DEBUG":
            traceback.print_exc()
        return 1


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "serve":
        return serve(settings, args.host, args.port)
    if args.command == "rules":
        return rules_command(settings, args)
    if args.command == "agents":
        return agents_command(settings, args)
    if args.command == "audit":
        from app import versions_cli

        return versions_cli.audit_log(settings, args.hours, args.json)
    if args.command == "packet":
        from handover.packet import packet_schema

        print(json.dumps(packet_schema(), indent=2, ensure_ascii=False))
        return 0
    from app.worker import NEEDS_REDIS, run_worker  # rq is imported only by processes that run jobs

    if settings.is_embedded:
        raise CommandError(NEEDS_REDIS)
    checked_rules(settings.handover_rules)
    run_worker(settings, burst=args.burst)
    return 0


def unreachable(settings: Settings, exc: Exception) -> str:
    reason = str(exc).strip().rstrip(".").rsplit(". ", 1)[-1].lower() or type(exc).__name__
    where = redacted(settings.redis_url or "")
    if isinstance(exc, redis.exceptions.AuthenticationError):
        return f"Redis at {where} refused us ({reason}); check the password in REDIS_URL"
    return f"cannot reach Redis at {where} ({reason}); is it running? (REDIS_URL)"


def redacted(url: str) -> str:
    """A Redis URL fit to print: its password (if any) replaced by ***."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def checked_rules(path: str | Path, consequence: str = "nothing started") -> LoadedRules:
    """The rules a command needs; every problem printed and exit 2 if there is any."""
    from handover.rules.loader import load_rules
    from handover.rules.yamlfile import RulesError

    try:
        return load_rules(path)
    except RulesError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        raise CommandError(f"{path} has {count} problem{'s' if count != 1 else ''}; {consequence}") from exc


def rules_command(settings: Settings, args: argparse.Namespace) -> int:
    from handover.rules.loader import load_rules
    from handover.rules.model import Rules
    from handover.rules.yamlfile import RulesError, Unreadable

    if args.rules_command == "schema":
        print(json.dumps(Rules.model_json_schema(by_alias=True), indent=2, ensure_ascii=False))
        return 0
    if args.rules_command == "test":
        return golden_command(args.file, args.rules)
    if args.rules_command == "eval":
        return eval_command(settings, args)
    if args.rules_command == "explain":
        return explain_command(settings, args)
    if args.rules_command == "whatif":
        return whatif_command(settings, args)
    if args.rules_command == "export-golden":
        return export_command(settings, args)
    if args.rules_command in ("history", "diff", "rollback"):
        return versions_command(settings, args)
    served = Path(settings.handover_rules)
    path = Path(args.file) if args.file else served
    if args.rules_command == "reload" and path.resolve() != served.resolve():
        raise CommandError(
            f"{path} is not the served rules file (HANDOVER_RULES is {served}); edit that one, "
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
        from app import versions_cli

        return versions_cli.reload(settings, path, loaded, args.by, args.wait)
    rules = loaded.rules
    print(
        f"{path}: ok (version {loaded.version}; {len(rules.intents)} intents, {len(rules.escalation)} "
        f"escalation rules, {len(rules.queues)} queues){warned}"
    )
    return 0


def versions_commands(rules: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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


def versions_command(settings: Settings, args: argparse.Namespace) -> int:
    from app import versions_cli

    if args.rules_command == "history":
        return versions_cli.history(settings, args.json)
    if args.rules_command == "diff":
        return versions_cli.diff(settings, args.a, args.b)
    return versions_cli.rollback(settings, args.version, args.by, args.wait)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def agents_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.wiring import sync_client
    from handover.agents import AgentStore, Role, UnknownAgent

    if settings.is_embedded:
        raise CommandError(
            "agents live in Redis: set REDIS_URL (embedded serve makes a sandbox agent itself)"
        )
    if args.agents_command == "add":
        name, queues = agent_to_add(settings, args)
        store = AgentStore(sync_client(settings))
        agent, token = store.add(name, queues, args.capacity, Role(args.role), by=who(args.by))
        if args.json:
            print(json.dumps({"id": agent.id, "token": token}))
        else:
            print(
                f"{agent.id}  {agent.name}  queues={','.join(agent.queues)}  capacity={agent.capacity}  "
                f"role={agent.role}\ntoken (shown once): {token}"
            )
        return 0
    store = AgentStore(sync_client(settings))
    if args.agents_command == "list":
        agents = store.all()
        if args.json:
            print(json.dumps([a.model_dump(mode="json") for a in agents]))
        for a in [] if args.json else agents:
            print(
                f"{a.id}  {a.name}  queues={','.join(a.queues)}  capacity={a.capacity}  role={a.role}  "
                f"status={a.status}"
            )
        return 0
    try:
        store.remove(args.id, by=who(args.by))
    except UnknownAgent:
        raise CommandError(f"no agent {args.id!r} (see handover agents list)") from None
    print(f"removed {args.id}")
    return 0


def who(by: str | None) -> str:
    """Who runs a command, for the audit log: `--by`, else the OS user and host."""
    from handover.audit import cli_user

    return by or cli_user()


def agent_to_add(settings: Settings, args: argparse.Namespace) -> tuple[str, list[str]]:
    """The name and queues of `agents add`, checked against the agent's limits and the served rules."""
    from handover.agents import MAX_CAPACITY, MAX_NAME

    name = args.name.strip()
    if not name:
        raise CommandError("NAME must not be empty")
    if len(name) > MAX_NAME:
        raise CommandError(f"NAME is at most {MAX_NAME} characters, got {len(name)}")
    if not 1 <= args.capacity <= MAX_CAPACITY:
        raise CommandError(
            f"--capacity is how many conversations the agent holds at once: 1 to {MAX_CAPACITY} "
            f"(one person cannot follow more at a time), got {args.capacity}"
        )
    loaded = checked_rules(settings.handover_rules, "its queues are unknown, so no agent was added")
    known = ", ".join(sorted(loaded.rules.queues))
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    if not queues:
        raise CommandError(f"--queues names at least one queue (known: {known})")
    for queue in queues:
        if queue not in loaded.rules.queues:
            raise CommandError(f"unknown queue {queue!r} in --queues (known: {known})")
    return name, queues


def eval_command(settings: Settings, args: argparse.Namespace) -> int:
    from handover.rules.evaluation import evaluate, load_corpus, render
    from handover.rules.golden import GoldenFailure
    from handover.rules.loader import load_rules
    from handover.rules.yamlfile import RulesError, Unreadable

    try:
        loaded = load_rules(args.rules or settings.handover_rules)
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
    from handover.rules.explain import BadState, explain, parse_state, render

    try:
        state, memory = parse_state(args.state)
    except BadState as exc:
        raise CommandError(f"rules explain: {exc}") from None
    loaded = checked_rules(args.rules or settings.handover_rules, "nothing to explain")
    explanation = explain(loaded, args.text, state, memory)
    print(explanation.model_dump_json(indent=2) if args.json else render(explanation))
    return 0


def golden_command(path: str, rules: str | None) -> int:
    from handover.rules.golden import GoldenFailure, run_golden
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


def serve(settings: Settings, host: str | None, port: int | None) -> int:
    from app.web import build_app

    checked_rules(settings.handover_rules)
    host = host or settings.handover_host
    port = port or settings.handover_port
    log.info("serving", host=host, port=port, embedded=settings.is_embedded, sandbox=settings.is_sandbox)
    try:
        web.run_app(build_app(settings), host=host, port=port, access_log=None, print=None)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).rsplit(": ", 1)[-1]
        raise CommandError(f"cannot listen on {host}:{port} ({reason})") from exc
    return 0


if __name__ == "__main__":
    sys.exit(main())
