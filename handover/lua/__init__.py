"""Every Lua script the project runs: one file each in this folder, loaded through this one registry.

A script file opens with its contract, which the registry checks when it loads the file:

    -- KEYS: every key the script touches, in order (none is built inside the script: Redis Cluster
    --       routes a call by its KEYS, and handover/keys.py is the one place key names are made)
    -- ARGV: its arguments, in order
    -- USES: bump, wake            (optional: shared functions from lib/NAME.lua, put in front of it)

A constant shared with Python (a TTL, the delivery statuses' ranks) is written as a literal in the Lua
file; tests/unit/test_lua_registry.py checks each against the Python value it mirrors.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import redis
from redis.asyncio import Redis as AsyncRedis
from redis.client import Pipeline
from redis.commands.core import AsyncScript, Script
from redis.exceptions import NoScriptError

_HERE = files(__name__)
_USES = re.compile(r"^-- USES:(.*)$", re.MULTILINE)


class BadScript(Exception):
    """A script file without its KEYS/ARGV contract, or using a library that does not exist."""


@dataclass(frozen=True)
class LuaScript:
    name: str
    body: str  # the file as written
    uses: tuple[str, ...]

    @property
    def source(self) -> str:
        """What Redis runs: the libraries it uses, then the script."""
        return "".join(library(u) + "\n" for u in self.uses) + self.body


def names() -> list[str]:
    """Every script in the folder (libraries under lib/ are not scripts)."""
    return sorted(p.name.removesuffix(".lua") for p in _HERE.iterdir() if p.name.endswith(".lua"))


def library_names() -> list[str]:
    return sorted(
        p.name.removesuffix(".lua") for p in _HERE.joinpath("lib").iterdir() if p.name.endswith(".lua")
    )


@cache
def library(name: str) -> str:
    path = _HERE.joinpath("lib", f"{name}.lua")
    if not path.is_file():
        raise BadScript(f"lib/{name}.lua does not exist")
    return path.read_text(encoding="utf-8")


@cache
def load(name: str) -> LuaScript:
    path = _HERE.joinpath(f"{name}.lua")
    if not path.is_file():
        raise BadScript(f"handover/lua/{name}.lua does not exist")
    body = path.read_text(encoding="utf-8")
    head = [line for line in body.splitlines()[:12] if line.startswith("--")]
    for part in ("-- KEYS:", "-- ARGV:"):
        if not any(line.startswith(part) for line in head):
            raise BadScript(f"handover/lua/{name}.lua: its first comment lines must say {part.strip()}")
    uses = tuple(u.strip() for found in _USES.findall(body) for u in found.split(",") if u.strip())
    for used in uses:
        library(used)
    return LuaScript(name, body, uses)


@cache
def source(name: str) -> str:
    return load(name).source


def script(client: redis.Redis, name: str) -> Script:
    """A script registered on a client: call it with keys=, args= (and client=pipe inside a pipeline)."""
    return client.register_script(source(name))


def async_script(client: AsyncRedis, name: str) -> AsyncScript:
    return client.register_script(source(name))


def run(client: redis.Redis, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """Run a script now, or queue it when `client` is a pipeline (see `queue`)."""
    if isinstance(client, Pipeline):
        queue(client, name, keys, args)
        return None
    return script(client, name)(keys=keys, args=args)


_sent_whole: weakref.WeakKeyDictionary[Pipeline, set[str]] = weakref.WeakKeyDictionary()


def queue(pipe: Pipeline, name: str, keys: Sequence[str], args: Sequence[Any]) -> None:
    """Queue a script in a pipeline. redis-py's Script asks SCRIPT EXISTS before every pipeline that holds
    one, a round trip per transaction; instead the first call of each script in a pipeline goes as EVAL
    (its source: Redis caches it), the rest as EVALSHA, which finds it since a pipeline runs in order. A
    Redis that restarted and forgot its scripts is no trouble, and the pipeline's replies keep their
    places."""
    sent = _sent_whole.get(pipe)
    if sent is None or not pipe.command_stack:  # a new pipeline, or one that ran and starts over
        sent = _sent_whole[pipe] = set()
    if name in sent:
        pipe.evalsha(sha(name), len(keys), *keys, *args)
    else:
        sent.add(name)
        pipe.eval(source(name), len(keys), *keys, *args)


@cache
def sha(name: str) -> str:
    return hashlib.sha1(source(name).encode()).hexdigest()


async def call_async(client: AsyncRedis, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """Run a script by its SHA, loading it first where this Redis lacks it. For hot paths (the webhook
    ingests each POST in one call): an AsyncScript made per call costs as much Python as the call itself."""
    try:
        return await client.evalsha(sha(name), len(keys), *keys, *args)
    except NoScriptError:
        await client.script_load(source(name))
        return await client.evalsha(sha(name), len(keys), *keys, *args)
