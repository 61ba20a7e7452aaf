"""The `handover` command: serve, worker (agents and rules commands arrive with their issues)."""

from __future__ import annotations

import argparse
import json
import os
import sys

import structlog
from aiohttp import web

from app.logging import configure_logging
from config.settings import MissingSetting, Settings, load_settings

log = structlog.get_logger(__name__)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="handover", description="WhatsApp chatbot-to-human handover")
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="webhook, desk API and console in one aiohttp app")
    serve.add_argument("--host", help="default HANDOVER_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default HANDOVER_PORT or 8080")
    worker = commands.add_parser("worker", help="rq worker that processes messages and sends replies")
    worker.add_argument("--burst", action="store_true", help="exit when there is nothing left to do")
    rules = commands.add_parser("rules", help="check, describe and test the rules file").add_subparsers(
        dest="rules_command", required=True
    )
    check = rules.add_parser("check", help="validate a rules file (exit 1 with every problem found)")
    check.add_argument("file", nargs="?", help="default HANDOVER_RULES or config/rules.yaml")
    rules.add_parser("schema", help="print the JSON Schema of the rules format, for editor completion")
    golden = rules.add_parser(
        "test", help="run golden conversations (customer turns and expected bot actions)"
    )
    golden.add_argument("file", help="a golden conversations YAML file")
    golden.add_argument("--rules", help="the rules file to test (default: the golden file's `rules:`)")
    reload = rules.add_parser("reload", help="check the rules file, then have every process load it")
    reload.add_argument("file", nargs="?", help="default HANDOVER_RULES or config/rules.yaml")
    agents = commands.add_parser("agents", help="agents and supervisors of the desk").add_subparsers(
        dest="agents_command", required=True
    )
    add = agents.add_parser("add", help="create an agent and print their token (shown once)")
    add.add_argument("name")
    add.add_argument("--queues", required=True, help="comma-separated queue names")
    add.add_argument("--capacity", type=int, default=3, help="conversations at once (default 3)")
    add.add_argument("--role", choices=["agent", "supervisor"], default="agent")
    add.add_argument("--json", action="store_true", help='print {"id": ..., "token": ...}')
    listing = agents.add_parser("list", help="every agent with queues, capacity, role and status")
    listing.add_argument("--json", action="store_true")
    remove = agents.add_parser("remove", help="delete an agent (their token stops working)")
    remove.add_argument("id")
    packet = commands.add_parser("packet", help="the context packet").add_subparsers(
        dest="packet_command", required=True
    )
    packet.add_parser("schema", help="print the JSON Schema of the context packet")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
    except MissingSetting as exc:
        print(f"handover: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.handover_log_level)
    if args.command == "serve":
        return serve(settings, args.host, args.port)
    if args.command == "rules":
        return rules_command(settings, args)
    if args.command == "agents":
        return agents_command(settings, args)
    if args.command == "packet":
        from handover.packet import packet_schema

        print(json.dumps(packet_schema(), indent=2, ensure_ascii=False))
        return 0
    if args.command == "worker":
        from app.worker import run_worker  # rq is imported only by processes that run jobs

        run_worker(settings, burst=args.burst)
        return 0
    return 2


def rules_command(settings: Settings, args: argparse.Namespace) -> int:
    from handover.rules.loader import RulesError, load_rules
    from handover.rules.model import Rules

    if args.rules_command == "schema":
        print(json.dumps(Rules.model_json_schema(by_alias=True), indent=2, ensure_ascii=False))
        return 0
    if args.rules_command == "test":
        return golden_command(args.file, args.rules)
    path = args.file or str(settings.handover_rules)
    try:
        loaded = load_rules(path)
    except RulesError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.rules_command == "reload":
        # Every process checks the file's modification time every few seconds and loads it if it
        # changed; touching it after a successful check is what makes them all pick it up now.
        os.utime(path)
        print(f"{path}: ok (version {loaded.version}); every process loads it within a few seconds")
        return 0
    rules = loaded.rules
    print(
        f"{path}: ok (version {loaded.version}; {len(rules.intents)} intents, {len(rules.escalation)} "
        f"escalation rules, {len(rules.queues)} queues)"
    )
    return 0


def agents_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.wiring import sync_client
    from handover.agents import AgentStore, Role, UnknownAgent

    if settings.is_embedded:
        print(
            "handover: agents live in Redis: set REDIS_URL (embedded serve makes a sandbox agent itself)",
            file=sys.stderr,
        )
        return 2
    store = AgentStore(sync_client(settings))
    if args.agents_command == "add":
        queues = [q.strip() for q in args.queues.split(",") if q.strip()]
        agent, token = store.add(args.name, queues, args.capacity, Role(args.role))
        if args.json:
            print(json.dumps({"id": agent.id, "token": token}))
        else:
            print(
                f"{agent.id}  {agent.name}  queues={','.join(agent.queues)}  capacity={agent.capacity}  "
                f"role={agent.role}\ntoken (shown once): {token}"
            )
        return 0
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
        store.remove(args.id)
    except UnknownAgent:
        print(f"handover: no agent {args.id}", file=sys.stderr)
        return 1
    print(f"removed {args.id}")
    return 0


def golden_command(path: str, rules: str | None) -> int:
    from handover.rules.golden import GoldenFailure, run_golden

    try:
        checked, failures = run_golden(path, rules)
    except GoldenFailure as exc:
        print(exc, file=sys.stderr)
        return 1
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"{path}: {checked} turns checked, {len(failures)} conversations failed")
    return 1 if failures else 0


def serve(settings: Settings, host: str | None, port: int | None) -> int:
    from app.web import build_app

    host = host or settings.handover_host
    port = port or settings.handover_port
    log.info("serving", host=host, port=port, embedded=settings.is_embedded, sandbox=settings.is_sandbox)
    web.run_app(build_app(settings), host=host, port=port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
