"""`handover agents add|list|set|remove`: the desk's people, checked against their limits and the rules."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import TYPE_CHECKING, Any

from app.commands import checked_rules, plural, who
from app.errors import CommandError
from config.settings import Settings

if TYPE_CHECKING:
    from handover.agents import Agent, AgentStore
    from handover.rules.model import Rules


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
    listing = agents.add_parser(
        "list", help="every agent with queues, capacity, role, status, languages and skills"
    )
    listing.add_argument("--json", action="store_true")
    change = agents.add_parser("set", help="change an agent's capacity, queues, languages or skills")
    change.add_argument("id", metavar="ID", help="the agent's id (see handover agents list)")
    change.add_argument("--capacity", type=int, help="conversations at once")
    change.add_argument("--queues", help="comma-separated queue names (replaces the agent's)")
    change.add_argument("--json", action="store_true", help="print the agent as now stored")
    remove = agents.add_parser(
        "remove",
        help="delete an agent: their token stops working, their streams close, what they held goes back "
        "to its queue (run again to finish one cut short)",
    )
    remove.add_argument("id", metavar="ID", help="the agent's id (see handover agents list)")
    for command in (add, change):
        command.add_argument(
            "--languages",
            help="comma-separated languages they answer customers in, of the rules' (e.g. pt,en)",
        )
        command.add_argument(
            "--skills", help="comma-separated skills, as the rules' escalate.skills name them"
        )
    for command in (add, change, remove):
        command.add_argument("--by", metavar="WHO", help="who does it, for the audit log (default user@host)")


def agents_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.wiring import sync_client
    from handover.agents import AgentStore, Role, UnknownAgent

    if settings.is_embedded:
        raise CommandError(
            "agents live in Redis: set REDIS_URL (embedded serve makes a sandbox agent itself)"
        )
    if args.agents_command == "add":
        name, fields = agent_to_add(settings, args)
        store = AgentStore(sync_client(settings))
        agent, token = store.add(
            name, capacity=args.capacity, role=Role(args.role), by=who(args.by), **fields
        )
        if args.json:
            print(json.dumps({"id": agent.id, "token": token}))
        else:
            print(f"{_described(agent)}\ntoken (shown once): {token}")
        return 0
    changes = agent_changes(settings, args) if args.agents_command == "set" else {}
    store = AgentStore(sync_client(settings))
    if args.agents_command == "list":
        agents = store.all()
        if args.json:
            print(json.dumps([a.model_dump(mode="json") for a in agents]))
        for a in [] if args.json else agents:
            print(f"{_described(a)}  status={a.status}")
        return 0
    if args.agents_command == "set":
        try:
            agent = store.update(args.id, **changes, by=who(args.by))
        except UnknownAgent:
            raise CommandError(f"no agent {args.id!r} (see handover agents list)") from None
        print(json.dumps(agent.model_dump(mode="json")) if args.json else _described(agent))
        return 0
    return _remove(settings, store, args)


def _remove(settings: Settings, store: AgentStore, args: argparse.Namespace) -> int:
    """`agents remove ID`: token dead and streams closed at once, what they held back to its queue; run
    again, it finishes a removal cut short (handover/assignment/removal.py)."""
    from handover.agents import UnknownAgent
    from handover.assignment.push import Assigner
    from handover.assignment.removal import RemovalIncomplete, remove_agent
    from handover.store import Store
    from handover.warm import WarmTransfers

    # what they held goes back to its queue, as the rules name it
    loaded = checked_rules(settings.handover_rules, "the agent was not removed")
    conversations = Store(store.client, transcript_max=settings.handover_transcript_max)
    transfers = WarmTransfers(conversations, store, lambda: loaded, settings.handover_partitions)
    assigner = Assigner(store.client, lambda *_: loaded)
    try:
        done = remove_agent(store, transfers, assigner, args.id, by=who(args.by))
    except UnknownAgent:
        raise CommandError(f"no agent {args.id!r} (see handover agents list)") from None
    except RemovalIncomplete as exc:
        raise CommandError(str(exc)) from None
    print(
        f"removed {args.id}: {plural(len(done.requeued), 'conversation')} back to the queue, "
        f"{plural(done.offers_withdrawn + len(done.transfers_handed_back), 'offer')} withdrawn"
    )
    return 0


def agent_to_add(settings: Settings, args: argparse.Namespace) -> tuple[str, dict[str, list[str]]]:
    """The name, queues, languages and skills of `agents add`, checked against the agent's limits and the
    served rules."""
    from handover.agents import MAX_NAME

    name = args.name.strip()
    if not name:
        raise CommandError("NAME must not be empty")
    if len(name) > MAX_NAME:
        raise CommandError(f"NAME is at most {MAX_NAME} characters, got {len(name)}")
    _check_capacity(args.capacity)
    rules = checked_rules(settings.handover_rules, "its queues are unknown, so no agent was added").rules
    fields = {"queues": _queues(args.queues, rules), "languages": _languages(args.languages, rules)}
    return name, fields | {"skills": _skills(args.skills, rules)}


def agent_changes(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """What `agents set` changes, checked as `agents add` checks it; the rules are read only when a
    change is checked against them."""
    changes: dict[str, Any] = {}
    if args.capacity is not None:
        _check_capacity(args.capacity)
        changes["capacity"] = args.capacity
    named = {"queues": args.queues, "languages": args.languages, "skills": args.skills}
    if any(value is not None for value in named.values()):
        rules = checked_rules(settings.handover_rules, "the agent was not changed").rules
        if args.queues is not None:
            changes["queues"] = _queues(args.queues, rules)
        if args.languages is not None:
            changes["languages"] = _languages(args.languages, rules)
        if args.skills is not None:
            changes["skills"] = _skills(args.skills, rules)
    if not changes:
        raise CommandError("nothing to change: give --capacity, --queues, --languages or --skills")
    return changes


def _check_capacity(capacity: int) -> None:
    from handover.agents import MAX_CAPACITY

    if not 1 <= capacity <= MAX_CAPACITY:
        raise CommandError(
            f"--capacity is how many conversations the agent holds at once: 1 to {MAX_CAPACITY} "
            f"(one person cannot follow more at a time), got {capacity}"
        )


def _listed(text: str | None) -> list[str]:
    """A comma-separated option's items, blanks dropped, each once, in the order given."""
    return list(dict.fromkeys(item.strip() for item in (text or "").split(",") if item.strip()))


def _queues(text: str, rules: Rules) -> list[str]:
    known = ", ".join(sorted(rules.queues))
    queues = _listed(text)
    if not queues:
        raise CommandError(f"--queues names at least one queue (known: {known})")
    for queue in queues:
        if queue not in rules.queues:
            raise CommandError(f"unknown queue {queue!r} in --queues (known: {known})")
    return queues


def _languages(text: str | None, rules: Rules) -> list[str]:
    """Languages the rules speak: a customer's language is always one of them, so any other is a slip.
    Empty (`--languages ""`) clears them."""
    languages = _listed(text)
    for language in languages:
        if language not in rules.languages:
            known = ", ".join(sorted(rules.languages))
            raise CommandError(f"unknown language {language!r} in --languages (the rules speak: {known})")
    return languages


def _skills(text: str | None, rules: Rules) -> list[str]:
    """Names as the rules write them. One no rule asks for yet is accepted with a note: agents get a skill
    before the rules start asking for it. Empty (`--skills ""`) clears them."""
    from handover.rules.model import NAME_PATTERN

    skills = _listed(text)
    asked = {skill for _, escalate in rules.escalates() for skill in escalate.skills}
    for skill in skills:
        if not re.fullmatch(NAME_PATTERN, skill) or len(skill) > 64:
            raise CommandError(
                f"--skills: {skill!r} is not a skill name (lowercase letters, digits and _, starting with a "
                "letter, as in the rules' escalate.skills)"
            )
    for skill in (s for s in skills if s not in asked):
        print(f"note: no rule asks for skill {skill!r} yet (escalate.skills)", file=sys.stderr)
    return skills


def _described(agent: Agent) -> str:
    """One agent on one line, as `agents add`, `list` and `set` print it."""
    return (
        f"{agent.id}  {agent.name}  queues={','.join(agent.queues)}  capacity={agent.capacity}  "
        f"role={agent.role}  languages={','.join(agent.languages) or '-'}  "
        f"skills={','.join(agent.skills) or '-'}"
    )
