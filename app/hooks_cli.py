"""`handover hooks add|list|remove|test`: the business's other systems subscribed to what happens to
conversations (handover/hooks/). Secrets are shown once, at `add`, and never again."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

from app.commands import who
from app.errors import CommandError
from config.settings import Settings


def add_hooks_commands(commands: argparse._SubParsersAction[Any]) -> None:
    from handover.hooks.model import EVENTS

    hooks = commands.add_parser(
        "hooks", help="webhooks out: other systems told of handovers, assignments, resolutions…"
    ).add_subparsers(dest="hooks_command", metavar="command", required=True)
    add = hooks.add_parser("add", help="subscribe a URL to events (prints the signing secret once)")
    add.add_argument("url", metavar="URL", help="https://… (http or a private address only if allowed)")
    add.add_argument("--events", required=True, help=f"comma-separated, of: {', '.join(EVENTS)}")
    add.add_argument("--format", choices=["json", "slack"], default="json")
    add.add_argument(
        "--secret-env",
        metavar="NAME",
        help="sign with the secret in this environment variable of every worker (none is made or stored)",
    )
    add.add_argument("--numbers", help="comma-separated phone_number_ids it hears of (default: every one)")
    add.add_argument("--json", action="store_true", help='print {"id": ..., "secret": ...}')
    listing = hooks.add_parser("list", help="every hook, without its secret")
    listing.add_argument("--json", action="store_true")
    remove = hooks.add_parser("remove", help="stop posting to a hook")
    remove.add_argument("id", metavar="ID")
    test = hooks.add_parser("test", help="post a signed test event to a hook now and say what it answered")
    test.add_argument("id", metavar="ID")
    deliveries = hooks.add_parser(
        "deliveries", help="the newest delivery attempts (status, error, time) and those given up on"
    )
    deliveries.add_argument("--failed", action="store_true", help="only failed attempts")
    deliveries.add_argument("--limit", type=int, default=50)
    deliveries.add_argument("--json", action="store_true")
    replay = hooks.add_parser("replay", help="queue again deliveries given up on (same webhook-id)")
    replay.add_argument("ids", metavar="ID", nargs="*", help="delivery ids (see hooks deliveries --failed)")
    replay.add_argument("--since", type=float, metavar="HOURS", help="those whose event is this recent")
    for command in (add, remove):
        command.add_argument("--by", metavar="WHO", help="who does it, for the audit log (default user@host)")


def hooks_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.wiring import sync_client
    from handover.errors import DomainError
    from handover.hooks.model import HookFormat
    from handover.hooks.store import HookStore

    if settings.is_embedded:
        raise CommandError("hooks live in Redis: set REDIS_URL")
    store = HookStore(sync_client(settings))
    try:
        if args.hooks_command == "add":
            hook, secret = store.add(
                args.url,
                _items(args.events),
                format=HookFormat(args.format),
                secret_env=args.secret_env,
                numbers=_items(args.numbers),
                allow=settings.handover_hooks_allow,
                by=who(args.by),
            )
            if args.json:
                print(json.dumps({"id": hook.id, "secret": secret}))
            else:
                print(_described(hook))
                print(f"secret (shown once): {secret}" if secret else f"secret: ${hook.secret_env}")
            return 0
        if args.hooks_command == "list":
            hooks = store.all()
            if args.json:
                print(json.dumps([h.model_dump(mode="json") for h in hooks]))
            elif not hooks:
                print("no hooks (handover hooks add URL --events …)")
            for hook in [] if args.json else hooks:
                print(_described(hook))
            return 0
        if args.hooks_command == "remove":
            hook = store.remove(args.id, who(args.by))
            print(f"removed {hook.id} ({hook.url})")
            return 0
        if args.hooks_command == "deliveries":
            return _deliveries(store.client, args.failed, args.limit, args.json)
        if args.hooks_command == "replay":
            return _replay(store.client, args.ids, args.since)
        return _test(settings, store, args.id)
    except DomainError as exc:
        raise CommandError(str(exc)) from None


def _test(settings: Settings, store: Any, hook_id: str) -> int:
    from handover.hooks import payload, signing
    from workers.hooks import make_session, post

    hook = store.get(hook_id)
    secret = store.secret(hook)
    if secret is None:
        raise CommandError(f"{hook.id} signs with ${hook.secret_env}, which is not set here")
    now = time.time()
    event = payload.envelope("test", now, {"hook_id": hook.id, "message": "Test from whatsapp-handover"})
    body = payload.body(hook.format, event)
    headers = signing.headers(secret, f"msg_{uuid.uuid4().hex}", now, body)

    async def once() -> Any:
        async with make_session(settings.handover_hooks_allow) as session:
            return await post(session, hook.url, headers, body, settings.handover_hooks_allow)

    attempt = asyncio.run(once())
    took = f"{attempt.seconds * 1000:.0f} ms"
    if attempt.delivered:
        print(f"delivered to {hook.url}: {attempt.status} in {took}")
        return 0
    print(f"not delivered to {hook.url}: {attempt.error} ({took})")
    return 1


def _deliveries(client: Any, failed: bool, limit: int, as_json: bool) -> int:
    from handover.hooks import outbox

    tried = outbox.attempts(client, failed=failed, limit=limit)
    aside = outbox.given_up(client)
    if as_json:
        given_up = [{"id": d.id, "hook": d.hook, "type": d.type, "error": d.last_error} for d in aside]
        print(json.dumps({"attempts": tried, "given_up": given_up}))
        return 0
    for a in tried:
        answer = a["error"] or f"{a['status']} delivered"
        then = " (given up)" if a["gave_up"] else ""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(a["at"]))
        print(f"{when}  {a['hook']}  {a['type']:<13} #{a['attempt']}  {answer}{then}  {a['id']}")
    if not tried:
        print("no attempts yet" if not failed else "no failed attempts")
    if aside:
        print(f"{len(aside)} given up on (handover hooks replay ID… or --since HOURS):")
        for d in aside[:limit]:
            print(f"  {d.id}  {d.hook}  {d.type}  {d.last_error}")
    return 0


def _replay(client: Any, ids: list[str], since_hours: float | None) -> int:
    from handover.hooks import outbox

    if not ids and since_hours is None:
        raise CommandError("name the deliveries (ID…) or --since HOURS")
    now = time.time()
    since = None if since_hours is None else now - since_hours * 3600
    count = outbox.replay(client, now, ids=ids or None, since=since)
    print(f"{count} {'delivery' if count == 1 else 'deliveries'} queued again")
    return 0


def _items(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def _described(hook: Any) -> str:
    numbers = ",".join(hook.numbers) or "all"
    return f"{hook.id}  {hook.url}  events={','.join(hook.events)}  format={hook.format}  numbers={numbers}"
