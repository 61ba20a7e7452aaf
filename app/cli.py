"""The `handover` command's entry point: serve, worker, audit and packet here; the rules commands in
app/rules_cli.py (versions in app/versions_cli.py, what-if in app/whatif.py), agents in app/agents_cli.py,
hooks in app/hooks_cli.py.
Every failure is one line: wrong input, a missing setting or an unreachable Redis exit 2, a bug exits 1."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import traceback
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import redis
import structlog

from app.agents_cli import add_agents_commands, agents_command
from app.commands import EXIT_USAGE, checked_rulebook
from app.errors import CommandError, UsageError
from app.hooks_cli import add_hooks_commands, hooks_command
from app.logging import configure_logging
from app.rules_cli import add_rules_commands, rules_command
from config.settings import MissingSetting, Settings, load_settings

log = structlog.get_logger(__name__)


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
    add_rules_commands(commands)
    add_agents_commands(commands)
    add_hooks_commands(commands)
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
    commands.add_parser(
        "upgrade", help="move data written by an earlier version to where this one keeps it (idempotent)"
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
    if args.command == "hooks":
        return hooks_command(settings, args)
    if args.command == "audit":
        from app import versions_cli

        return versions_cli.audit_log(settings, args.hours, args.json)
    if args.command == "upgrade":
        return upgrade(settings)
    if args.command == "packet":
        from handover.packet import packet_schema

        print(json.dumps(packet_schema(), indent=2, ensure_ascii=False))
        return 0
    from app.worker import NEEDS_REDIS, run_worker  # rq is imported only by processes that run jobs

    if settings.is_embedded:
        raise CommandError(NEEDS_REDIS)
    checked_rulebook(settings)
    run_worker(settings, burst=args.burst)
    return 0


def upgrade(settings: Settings) -> int:
    """`handover upgrade`: every upgrade of handover/upgrades.py, each saying what it did (each runs once per
    Redis; the workers run them on start too)."""
    from app import wiring
    from handover import retention, upgrades
    from handover.numbers import load_numbers

    if settings.is_embedded:
        raise CommandError("handover upgrade needs REDIS_URL (the embedded Redis starts empty)")
    from handover.rules.yamlfile import RulesError

    try:
        numbers = load_numbers(settings.handover_rules)
    except RulesError as exc:
        raise CommandError(f"{settings.handover_rules}: {exc.problems[0]}") from exc
    client = wiring.sync_client(settings)
    print(f"typed identity values: {upgrades.forget_typed_identity(client)} conversations cleaned")
    print(upgrades.queues_per_number(client, numbers, settings.whatsapp_phone_number_ids))
    filed = 0
    while looked := retention.file_existing(client):
        filed += looked
    print(f"retention: {filed} earlier conversations filed")
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


SANDBOX_ON_REDIS = (
    "REDIS_URL is set but WHATSAPP_ACCESS_TOKEN is not: set the WhatsApp settings (see README "
    "Configuration), or HANDOVER_SANDBOX=1 to run the sandbox on that Redis (anyone who reaches the port can "
    "then write as any customer and read every reply)"
)


def sandbox_guard(settings: Settings) -> None:
    """A real Redis without Meta's token is a sandbox only when asked for; say so loudly when it is."""
    if settings.is_embedded or not settings.is_sandbox:
        return
    if not settings.handover_sandbox:
        raise CommandError(SANDBOX_ON_REDIS)
    log.warning(
        "sandbox_on_real_redis",
        detail="HANDOVER_SANDBOX=1: /sandbox/* and the simulator are open without sign-in and webhooks are "
        "signed with the public sandbox secret; never expose this port",
    )


def serve(settings: Settings, host: str | None, port: int | None) -> int:
    from app import edge
    from app.web import build_app

    sandbox_guard(settings)
    checked_rulebook(settings)
    host = host or settings.handover_host
    port = port or settings.handover_port
    log.info("serving", host=host, port=port, embedded=settings.is_embedded, sandbox=settings.is_sandbox)
    try:
        edge.run(build_app(settings), settings, host, port)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).rsplit(": ", 1)[-1]
        raise CommandError(f"cannot listen on {host}:{port} ({reason})") from exc
    return 0


if __name__ == "__main__":
    sys.exit(main())
