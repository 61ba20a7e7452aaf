"""`handover agents add|list|remove`: the desk's people, checked against their limits and the rules."""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.commands import checked_rules, who
from app.errors import CommandError
from config.settings import Settings


def add_agents_commands(commands: argparse._SubParsersAction[Any]) -> None:
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
