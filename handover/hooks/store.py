"""Subscriptions in Redis: one hash of id -> JSON, the secrets made for them beside it, every change audited
in the same transaction."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterable

import redis

from handover import audit, keys
from handover.clock import Clock, system_clock
from handover.errors import Invalid, NotFound
from handover.hooks import safety, signing
from handover.hooks.model import EVENTS, Hook, HookFormat, shown_url

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
MAX_HOOKS = 100


class HookStore:
    def __init__(self, client: redis.Redis, clock: Clock = system_clock) -> None:
        self.client = client
        self.clock = clock

    def add(
        self,
        url: str,
        events: Iterable[str],
        *,
        format: HookFormat = HookFormat.JSON,
        secret_env: str | None = None,
        numbers: Iterable[str] = (),
        allow: Iterable[str] = (),
        by: str,
        resolve: safety.Resolve | None = None,
    ) -> tuple[Hook, str | None]:
        """A new subscription; returns it with the secret made for it (None when `secret_env` names where
        the workers find it). Raises Invalid (an unknown event, a bad variable name, too many hooks) or
        safety.UnsafeUrl."""
        wanted = sorted(set(events))
        unknown = [e for e in wanted if e not in EVENTS]
        if unknown or not wanted:
            named = ", ".join(unknown) or "(none given)"
            raise Invalid(f"unknown events {named}: choose from {', '.join(EVENTS)}")
        if secret_env is not None and not ENV_NAME.match(secret_env):
            raise Invalid(f"{secret_env!r} is not an environment variable's name (A-Z, 0-9, _)")
        if self.client.hlen(keys.HOOKS) >= MAX_HOOKS:
            raise Invalid(f"at most {MAX_HOOKS} hooks: remove one first")
        checked = safety.check_url(url, allow, resolve) if resolve else safety.check_url(url, allow)
        hook = Hook(
            id=f"hk_{uuid.uuid4().hex[:12]}",
            url=checked,
            events=wanted,
            format=format,
            secret_env=secret_env,
            numbers=sorted(set(numbers)),
            created_at=self.clock(),
            created_by=by,
        )
        secret = None if secret_env is not None else signing.new_secret()
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(keys.HOOKS, hook.id, hook.model_dump_json())
            if secret is not None:
                pipe.hset(keys.HOOK_SECRETS, hook.id, secret)
            shown = shown_url(hook.url)
            detail = {"id": hook.id, "url": shown, "events": hook.events, "format": str(hook.format)}
            audit.write(pipe, by, audit.AuditAction.HOOKS_ADD, detail, self.clock)
            pipe.execute()
        return hook, secret

    def all(self) -> list[Hook]:
        hooks = [Hook.model_validate_json(raw) for raw in self.client.hvals(keys.HOOKS)]
        return sorted(hooks, key=lambda h: h.created_at)

    def get(self, hook_id: str) -> Hook:
        raw = self.client.hget(keys.HOOKS, hook_id)
        if raw is None:
            raise NotFound(f"no hook {hook_id} (see handover hooks list)")
        return Hook.model_validate_json(raw)

    def remove(self, hook_id: str, by: str) -> Hook:
        hook = self.get(hook_id)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.HOOKS, hook_id)
            pipe.hdel(keys.HOOK_SECRETS, hook_id)
            detail = {"id": hook_id, "url": shown_url(hook.url)}
            audit.write(pipe, by, audit.AuditAction.HOOKS_REMOVE, detail, self.clock)
            pipe.execute()
        return hook

    def secret(self, hook: Hook) -> str | None:
        """What the hook's deliveries are signed with: the variable it names in this process's environment,
        or the secret made for it; None when neither is there (its deliveries fail, saying so)."""
        if hook.secret_env is not None:
            return os.environ.get(hook.secret_env) or None
        raw = self.client.hget(keys.HOOK_SECRETS, hook.id)
        return None if raw is None else keys.as_text(raw)
